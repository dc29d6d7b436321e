// The npm package as users get it: `npm pack` of this clone (prepack builds dist/), installed into
// an empty project offline. The registry is not asked: the project gets a lockfile made from this
// clone's own (coord's runtime dependencies at the versions the clone was installed with), so
// `npm ci --offline` takes every package from the npm cache the clone's `npm ci` filled.
import { spawn } from 'node:child_process';
import { closeSync, copyFileSync, existsSync, mkdirSync, openSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';

const ROOT = new URL('../../', import.meta.url).pathname;

/**
 * A child environment without node flags from the clone's development setup (NODE_OPTIONS could
 * carry --import of scripts/run-source.mjs or tsx). npm's own settings (npm_config_*, e.g. the
 * cache the offline install reads) are kept.
 */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const { NODE_OPTIONS: _, ...env } = process.env;
  return { ...env, ...extra };
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to its end (no shell); rejects, with its output, after `timeoutMs`. */
export function run(cmd: string, args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs?: number }): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: options.cwd, env: options.env ?? cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${cmd} ${args.join(' ')}: no exit after ${options.timeoutMs} ms\n${stdout}\n${stderr}`));
    }, options.timeoutMs ?? 120_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

export interface Packed {
  /** Absolute path of the .tgz. */
  tarball: string;
  /** Paths inside the package. */
  files: string[];
  size: number;
  unpackedSize: number;
}

/**
 * `npm pack` into `destination` (runs prepack, i.e. `npm run build`). Test files run side by side
 * under one `node --test` (their parent): the first to ask packs, the others wait for it and get a
 * copy, since two builds at once in one clone would pull dist/ from under each other.
 */
export async function pack(destination: string): Promise<Packed> {
  const shared = join(tmpdir(), `coord-pack-${process.ppid}`);
  mkdirSync(shared, { recursive: true });
  const lock = join(shared, 'lock');
  for (;;) {
    try {
      closeSync(openSync(lock, 'wx'));
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  try {
    const record = join(shared, 'packed.json');
    if (existsSync(record)) {
      const packed = JSON.parse(readFileSync(record, 'utf8')) as Packed;
      const tarball = join(destination, basename(packed.tarball));
      copyFileSync(packed.tarball, tarball);
      return { ...packed, tarball };
    }
    const packed = await packNow(destination);
    const kept = join(shared, basename(packed.tarball));
    copyFileSync(packed.tarball, kept);
    writeFileSync(record, JSON.stringify({ ...packed, tarball: kept }));
    return packed;
  } finally {
    unlinkSync(lock);
  }
}

async function packNow(destination: string): Promise<Packed> {
  const r = await run('npm', ['pack', '--json', '--pack-destination', destination], { cwd: ROOT, timeoutMs: 600_000 });
  if (r.code !== 0) throw new Error(`npm pack failed (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
  // Lifecycle output (the build) precedes the JSON report on stdout.
  const report = JSON.parse(r.stdout.slice(r.stdout.search(/^\[\s*\{\s*"id"/m))) as Array<{ filename: string; files: Array<{ path: string }>; size: number; unpackedSize: number }>;
  const [p] = report;
  return { tarball: join(destination, basename(p.filename)), files: p.files.map((f) => f.path), size: p.size, unpackedSize: p.unpackedSize };
}

/**
 * Makes `dir` a project (`"type": "module"` unless `type` says otherwise) depending on the packed
 * tarball, and installs it with `npm ci --offline` under the `node` first on PATH (npm checks
 * engines against the Node it runs on). Resolves with npm's output, warnings included.
 */
export async function installTarball(dir: string, tarball: string, type: 'module' | 'commonjs' = 'module'): Promise<RunResult> {
  const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean; devOptional?: boolean; link?: boolean }> };
  const coord = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as Record<string, unknown>;
  const spec = `file:${tarball}`;
  const packages: Record<string, unknown> = {
    '': { name: 'coord-consumer', dependencies: { [coord.name as string]: spec } },
    [`node_modules/${coord.name as string}`]: { version: coord.version, resolved: spec, license: coord.license, dependencies: coord.dependencies, peerDependencies: coord.peerDependencies, peerDependenciesMeta: coord.peerDependenciesMeta, bin: coord.bin, engines: coord.engines },
  };
  for (const [path, entry] of Object.entries(lock.packages)) {
    if (path === '' || entry.dev || entry.devOptional || entry.link) continue;
    packages[path] = entry;
  }
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'coord-consumer', private: true, type, dependencies: { [coord.name as string]: spec } }, null, 2));
  writeFileSync(join(dir, 'package-lock.json'), JSON.stringify({ name: 'coord-consumer', lockfileVersion: 3, requires: true, packages }, null, 2));
  const r = await run('npm', ['ci', '--offline', '--no-audit', '--no-fund', '--loglevel=warn'], { cwd: dir, timeoutMs: 300_000 });
  if (r.code !== 0) throw new Error(`npm ci --offline of the packed tarball failed (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
  return r;
}
