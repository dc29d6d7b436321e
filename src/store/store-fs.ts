import { mkdir, open, readFile, readdir, rename, rm } from 'node:fs/promises';

/** The file operations the write-ahead log and snapshot writer use (a subset of node's FileHandle). */
export interface StoreFile {
  write(buf: Buffer, offset: number, length: number, position: number): Promise<{ bytesWritten: number }>;
  datasync(): Promise<void>;
  sync(): Promise<void>;
  truncate(length: number): Promise<void>;
  close(): Promise<void>;
}

/**
 * The file system under coord store's data dir. The default is node's; tests put a layer here that
 * models a power cut (unsynced bytes and directory entries lost, the last write torn), which a
 * `kill -9` cannot show because the page cache survives it.
 */
export interface StoreFs {
  /** Flags as node's: `r` (also a directory, to fsync it), `r+`, `w`, `wx`. */
  open(path: string, flags: 'r' | 'r+' | 'w' | 'wx'): Promise<StoreFile>;
  readFile(path: string): Promise<Buffer>;
  readdir(path: string): Promise<string[]>;
  mkdir(path: string): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  /** Removes a file; no error when it is missing. */
  rm(path: string): Promise<void>;
}

export const nodeFs: StoreFs = {
  open: (path, flags) => open(path, flags),
  readFile: (path) => readFile(path),
  readdir: (path) => readdir(path),
  mkdir: async (path) => void (await mkdir(path, { recursive: true })),
  rename: (from, to) => rename(from, to),
  rm: (path) => rm(path, { force: true }),
};
