// Start-up cost and install footprint of the npm package as users get it: `npm pack` of this clone
// installed offline into an empty project (test/helpers/package-install.ts), then, median of
// several runs each, against anchors measured in the same run:
//   coord --help            wall and CPU, peak RSS          anchor: etcdctl version
//   import('etcd-coord')         wall, peak RSS                  anchor: node -e 0 (bare Node)
//   coord store --memory    RSS once serving                anchor: etcd (fresh single member)
//   the install             node_modules size, packages, build tools found in it
// The clone's own `node bin/coord.js --help` (TypeScript through tsx) is shown for comparison.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { etcdBinary, startEtcd } from '../test/helpers/etcd-process.ts';
import { etcdctlBinary } from '../test/helpers/etcdctl.ts';
import { cleanEnv, installTarball, pack } from '../test/helpers/package-install.ts';
import { printTable, rssBytes, sleep } from './lib/harness.ts';
import { printMachine, ratio, watchdog } from './lib/backends.ts';

const RUNS = 7;
const STORE_RUNS = 3;
const ROOT = new URL('../', import.meta.url).pathname;
/** Packages that build or transpile code: none should come with an install of coord. */
const BUILD_TOOLS = /^(typescript|tsx|vite|esbuild|@esbuild\/.*|rolldown|@rolldown\/.*|lightningcss.*|@oxc-project\/.*|preact|typedoc|@types\/(?!node$).*)$/;

interface Sample {
  wallMs: number;
  cpuMs: number;
  /** Peak RSS of the Node process, bytes (NaN for non-Node commands). */
  maxRssBytes: number;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};

/**
 * Runs `cmd args` to its end through bash, whose `times` reports the CPU its children used. Node
 * commands get `--import` of a file that writes their peak RSS to fd 3 at exit.
 */
function sample(cmd: string, args: string[], cwd: string, rssHook?: string): Sample {
  const quoted = [cmd, ...args].map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(' ');
  const script = `start=$(date +%s%N); ${quoted} >/dev/null 2>&1 3>"$RSS_FILE"; end=$(date +%s%N); echo $(( (end - start) / 1000 )); times`;
  const rssFile = join(tmpdir(), `coord-startup-rss-${process.pid}`);
  writeFileSync(rssFile, '');
  const env = cleanEnv({ RSS_FILE: rssFile, ...(rssHook ? { NODE_OPTIONS: `--import ${rssHook}` } : {}) });
  const r = spawnSync('bash', ['-c', script], { cwd, env, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: exit ${r.status}\n${r.stderr}`);
  const [wallUs, , childTimes] = r.stdout.trim().split('\n');
  const seconds = [...childTimes.matchAll(/(\d+)m([\d.]+)s/g)].map((m) => Number(m[1]) * 60 + Number(m[2]));
  const rss = readFileSync(rssFile, 'utf8').trim();
  rmSync(rssFile, { force: true });
  return { wallMs: Number(wallUs) / 1000, cpuMs: (seconds[0] + seconds[1]) * 1000, maxRssBytes: rss ? Number(rss) : NaN };
}

function medians(runs: () => Sample): Sample {
  runs(); // warm the page cache
  const all = Array.from({ length: RUNS }, runs);
  return { wallMs: median(all.map((s) => s.wallMs)), cpuMs: median(all.map((s) => s.cpuMs)), maxRssBytes: median(all.map((s) => s.maxRssBytes)) };
}

/** RSS of `coord store --memory` (run with plain node from the install) once it serves. */
async function storeRss(bin: string, cwd: string): Promise<number> {
  const child = spawn(process.execPath, [bin, 'store', '--memory', '--listen', '127.0.0.1:0'], { cwd, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    await new Promise<void>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (c: Buffer) => {
        out += c.toString();
        if (out.includes('serving the etcd v3 API')) resolve();
      });
      child.once('exit', (code) => reject(new Error(`coord store exited ${code}`)));
    });
    await sleep(1000); // settled: what a freshly started, idle store holds
    return rssBytes(child.pid!);
  } finally {
    child.kill('SIGKILL');
  }
}

async function etcdRss(): Promise<number> {
  const etcd = await startEtcd();
  try {
    await sleep(1000);
    return rssBytes(etcd.pid);
  } finally {
    await etcd.stop();
  }
}

/** Every installed package (name@path) under node_modules, nested ones included. */
function installedPackages(modules: string): string[] {
  const found: string[] = [];
  const visit = (dir: string) => {
    for (const name of readdirSync(dir)) {
      if (name.startsWith('.')) continue;
      if (name.startsWith('@')) {
        for (const sub of readdirSync(join(dir, name))) add(join(dir, name, sub), `${name}/${sub}`);
      } else add(join(dir, name), name);
    }
  };
  const add = (path: string, name: string) => {
    found.push(name);
    try {
      visit(join(path, 'node_modules'));
    } catch {
      // no nested node_modules
    }
  };
  visit(modules);
  return found;
}

function duBytes(path: string, apparent: boolean): number {
  const r = spawnSync('du', ['-s', '--block-size=1', ...(apparent ? ['--apparent-size'] : []), path], { encoding: 'utf8' });
  return Number(r.stdout.split('\t')[0]);
}

export async function run(): Promise<void> {
  const dog = watchdog('startup', 15 * 60_000);
  printMachine();
  const work = mkdtempSync(join(tmpdir(), 'coord-startup-'));
  try {
    console.log('packing (npm pack runs the build) and installing the tarball offline into an empty project...');
    const packed = await pack(work);
    const app = join(work, 'app');
    mkdirSync(app);
    const installStarted = performance.now();
    await installTarball(app, packed.tarball);
    const installMs = performance.now() - installStarted;
    const rssHook = join(work, 'max-rss.mjs');
    writeFileSync(rssHook, "import { writeSync } from 'node:fs';\nprocess.on('exit', () => { try { writeSync(3, String(process.resourceUsage().maxRSS * 1024)); } catch {} });\n");
    const bin = join(app, 'node_modules/coord/bin/coord.js');

    console.log(`measuring (median of ${RUNS} runs)...`);
    const help = medians(() => sample(process.execPath, [bin, '--help'], app, rssHook));
    const helpClone = medians(() => sample(process.execPath, [join(ROOT, 'bin/coord.js'), '--help'], ROOT, rssHook));
    const etcdctl = etcdctlBinary();
    const etcdctlVersion = etcdctl ? medians(() => sample(etcdctl, ['version'], app)) : undefined;
    const importCoord = medians(() => sample(process.execPath, ['--input-type=module', '-e', "await import('etcd-coord')"], app, rssHook));
    const bareNode = medians(() => sample(process.execPath, ['-e', '0'], app, rssHook));
    const storeRuns: number[] = [];
    for (let i = 0; i < STORE_RUNS; i++) storeRuns.push(await storeRss(bin, app));
    const store = median(storeRuns);
    const etcd = etcdBinary() ? await etcdRss() : NaN;

    const modules = join(app, 'node_modules');
    const packages = installedPackages(modules);
    const tools = packages.filter((p) => BUILD_TOOLS.test(p));
    const mb = (b: number) => `${(b / 1e6).toFixed(1)} MB`;
    const mib = (b: number) => (Number.isFinite(b) ? `${(b / 2 ** 20).toFixed(1)} MiB` : '-');
    const ms = (n: number) => (Number.isFinite(n) ? `${Math.round(n)} ms` : '-');

    console.log('');
    printTable(
      ['metric', 'coord (npm package)', 'anchor', 'anchor value', 'coord/anchor', 'goal'],
      [
        ['coord --help: wall', ms(help.wallMs), 'etcdctl version', ms(etcdctlVersion?.wallMs ?? NaN), ratio(help.wallMs, etcdctlVersion?.wallMs ?? NaN), '≤ 250 ms'],
        ['coord --help: CPU', ms(help.cpuMs), 'etcdctl version', ms(etcdctlVersion?.cpuMs ?? NaN), ratio(help.cpuMs, etcdctlVersion?.cpuMs ?? NaN), ''],
        ['coord --help: peak RSS', mib(help.maxRssBytes), 'node -e 0', mib(bareNode.maxRssBytes), ratio(help.maxRssBytes, bareNode.maxRssBytes), ''],
        ['coord --help from the clone (tsx): wall', ms(helpClone.wallMs), 'coord --help (package)', ms(help.wallMs), ratio(helpClone.wallMs, help.wallMs), ''],
        ["import('etcd-coord'): wall", ms(importCoord.wallMs), 'node -e 0', ms(bareNode.wallMs), ratio(importCoord.wallMs, bareNode.wallMs), ''],
        ["import('etcd-coord'): peak RSS", mib(importCoord.maxRssBytes), 'node -e 0', mib(bareNode.maxRssBytes), ratio(importCoord.maxRssBytes, bareNode.maxRssBytes), ''],
        ['coord store --memory: RSS at start', mib(store), 'etcd', mib(etcd), ratio(store, etcd), '≤ 60 MiB'],
      ],
    );
    console.log('');
    printTable(
      ['install of the packed tarball', 'value'],
      [
        ['tarball (npm pack)', `${mb(packed.size)} packed, ${mb(packed.unpackedSize)} unpacked, ${packed.files.length} files`],
        ['node_modules on disk (du)', mb(duBytes(modules, false))],
        ['node_modules, apparent size (du --apparent-size)', mb(duBytes(modules, true))],
        ['packages installed (coord included)', String(packages.length)],
        ['build tools among them', tools.length ? tools.join(', ') : 'none'],
        ['npm ci --offline time', ms(installMs)],
      ],
    );
  } finally {
    rmSync(work, { recursive: true, force: true });
    dog.clear();
  }
}
