import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * From a clone: the dashboard's sources (a Vite project), with the build in `dist/` beside them.
 * From the npm package (this module compiled to dist/src/admin/): dist/dashboard/, the dashboard
 * `npm run build` prebuilt there, served as it is.
 */
export const DASHBOARD_DIR = fileURLToPath(new URL('../../dashboard/', import.meta.url));

/** A lock older than this is taken to be left behind by a crashed build. */
const STALE_LOCK_MS = 5 * 60_000;

/** Newest modification time among the files the build reads (sources, index.html, config). */
function newestSource(dir: string): number {
  let newest = 0;
  const visit = (p: string) => {
    const s = statSync(p);
    if (s.isDirectory()) for (const name of readdirSync(p)) visit(join(p, name));
    else newest = Math.max(newest, s.mtimeMs);
  };
  for (const entry of ['src', 'index.html', 'vite.config.ts', 'tsconfig.json', '../src/admin/api-types.ts']) {
    const p = join(dir, entry);
    if (existsSync(p)) visit(p);
  }
  return newest;
}

/** True when `dist/` is missing or older than any source. */
export function dashboardStale(dir = DASHBOARD_DIR): boolean {
  const index = join(dir, 'dist', 'index.html');
  if (!existsSync(index)) return true;
  return statSync(index).mtimeMs < newestSource(dir);
}

let building: Promise<string> | undefined;

/**
 * Returns the directory to serve. A prebuilt dashboard (no Vite project in `dir`: the npm package,
 * which has no Vite and may be read-only) is served as it is. From a clone, builds the dashboard
 * with Vite first when its build is missing or stale: one build at a time per process, and across
 * processes through a lock directory (tests and `coord dev` may start together); the new build is
 * moved into place whole, so a server never serves a half-written `dist/`.
 */
export function ensureDashboard(log: (line: string) => void, dir = DASHBOARD_DIR): Promise<string> {
  if (!existsSync(join(dir, 'vite.config.ts'))) {
    if (existsSync(join(dir, 'index.html'))) return Promise.resolve(dir);
    return Promise.reject(new Error(`no dashboard build in ${dir} (npm run build makes it)`));
  }
  building ??= build(log, dir).finally(() => (building = undefined));
  return building;
}

async function build(log: (line: string) => void, dir: string): Promise<string> {
  const dist = join(dir, 'dist');
  if (!dashboardStale(dir)) return dist;
  const lock = join(dir, '.build-lock');
  await acquire(lock);
  try {
    if (!dashboardStale(dir)) return dist; // another process built it while we waited
    log('admin: building the dashboard (vite build; once, until its sources change)');
    const tmp = join(dir, `.dist-${process.pid}-${Date.now()}`);
    try {
      const { build: viteBuild } = await import('vite');
      await viteBuild({ root: dir, configFile: join(dir, 'vite.config.ts'), logLevel: 'warn', build: { outDir: tmp, emptyOutDir: true } });
    } catch (e) {
      rmSync(tmp, { recursive: true, force: true });
      throw e;
    }
    const old = join(dir, `.dist-old-${process.pid}-${Date.now()}`);
    if (existsSync(dist)) renameSync(dist, old);
    renameSync(tmp, dist);
    rmSync(old, { recursive: true, force: true });
    return dist;
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

async function acquire(lock: string): Promise<void> {
  for (;;) {
    try {
      mkdirSync(lock);
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    try {
      if (Date.now() - statSync(lock).mtimeMs > STALE_LOCK_MS) rmSync(lock, { recursive: true, force: true });
    } catch {
      // removed meanwhile: try again
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}
