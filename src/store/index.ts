export { startStore } from './server.ts';
export type { StoreOptions, StoreHandle } from './server.ts';
export type { StoreFs, StoreFile } from './store-fs.ts';
