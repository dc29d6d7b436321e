// The shipped artefact, tested as users get it: one `npm pack` (prepack builds dist/) installed
// offline into a fresh project, shared by every case below. The project has no TypeScript loader,
// no Vite and no coord sources: only what the tarball and its runtime dependencies bring.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { cleanEnv, installTarball, pack, run, type Packed, type RunResult } from '../helpers/package-install.ts';

const FIXTURES = new URL('./fixtures/', import.meta.url).pathname;
const TSC = new URL('../../node_modules/typescript/bin/tsc', import.meta.url).pathname;

let work: string;
let app: string;
let packed: Packed;
let install: RunResult;
const children = new Set<ChildProcess>();

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'coord-package-'));
  app = join(work, 'app');
  packed = await pack(work);
  mkdirSync(app);
  install = await installTarball(app, packed.tarball);
  for (const f of readdirSync(FIXTURES)) copyFileSync(join(FIXTURES, f), join(app, f));
});

after(() => {
  for (const c of children) c.kill('SIGKILL');
  if (work) rmSync(work, { recursive: true, force: true });
});

const node = (args: string[], env?: Record<string, string>) => run(process.execPath, args, { cwd: app, env: cleanEnv(env) });
const npx = (args: string[]) => run('npx', ['--no', 'coord', ...args], { cwd: app, timeoutMs: 60_000 });

/** Starts `npx coord ARGS` and resolves with the first stdout line matching `re`. */
function startCli(args: string[], re: RegExp): Promise<RegExpExecArray> {
  const child = spawn('npx', ['--no', 'coord', ...args], { cwd: app, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  children.add(child);
  let out = '';
  let err = '';
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const m = re.exec(out);
      if (m) resolve(m);
    });
    child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
    child.once('exit', (code) => reject(new Error(`coord ${args.join(' ')} exited ${code}:\n${out}\n${err}`)));
  });
}

function stopAll(): void {
  // npx runs coord in a child of its own: the whole process group goes.
  for (const c of children) {
    try {
      process.kill(-c.pid!, 'SIGKILL');
    } catch {
      // gone already
    }
  }
  children.clear();
}

describe('the npm package', () => {
  test('ships compiled code, types, the protos and the prebuilt dashboard, and nothing of the development tree', () => {
    const files = packed.files;
    for (const f of ['package.json', 'bin/coord.js', 'dist/src/index.js', 'dist/src/index.d.ts', 'dist/src/index.d.ts.map', 'dist/src/index.js.map', 'dist/src/cli/main.js', 'dist/proto/etcd/rpc.proto', 'dist/dashboard/index.html', 'docs/api/index.html', 'README.md', 'LICENSE', 'CHANGELOG.md']) {
      assert.ok(files.includes(f), `${f} is in the package`);
    }
    for (const sub of ['store', 'grpc', 'gateway', 'admin', 'observability']) assert.ok(files.includes(`dist/src/${sub}/index.d.ts`), `types of coord/${sub}`);
    assert.deepEqual(files.filter((f) => /^(test|bench|scripts|dashboard|\.ci)\//.test(f) || f.endsWith('.test.ts') || f.endsWith('.test.js') || f.startsWith('tsconfig')), []);
  });

  test("the README's install line names package.json's name, and that name is this package", () => {
    const root = new URL('../../', import.meta.url);
    const name = (JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as { name: string }).name;
    const readme = readFileSync(new URL('README.md', root), 'utf8');
    const installs = [...readme.matchAll(/^npm install (\S+)/gm)].map((m) => m[1]);
    assert.ok(installs.length > 0, 'the README has an npm install line');
    assert.deepEqual([...new Set(installs)], [name]);
    assert.ok(existsSync(join(app, 'node_modules', name, 'package.json')), `installed as node_modules/${name}`);
  });

  test(`installs on Node ${process.versions.node} without an engine warning: package.json's engines and every dependency's agree`, () => {
    const warnings = `${install.stdout}\n${install.stderr}`.split('\n').filter((l) => /EBADENGINE|Unsupported engine/.test(l));
    assert.deepEqual(warnings, [], `npm ci output:\n${install.stdout}\n${install.stderr}`);
  });

  test('@grpc/grpc-js is a peer dependency (one copy, the application\'s), installed with coord by npm', () => {
    const pkg = JSON.parse(readFileSync(join(app, 'node_modules/etcd-coord/package.json'), 'utf8')) as { dependencies: Record<string, string>; peerDependencies: Record<string, string> };
    assert.equal(pkg.dependencies['@grpc/grpc-js'], undefined);
    assert.ok(pkg.peerDependencies['@grpc/grpc-js']);
    assert.equal(existsSync(join(app, 'node_modules/etcd-coord/node_modules/@grpc/grpc-js')), false, 'no private copy');
  });

  test('the API reference ships in the package and the README links it', () => {
    const index = join(app, 'node_modules/etcd-coord/docs/api/index.html');
    assert.ok(existsSync(index), index);
    assert.match(readFileSync(index, 'utf8'), /etcd-coord/);
    const readme = readFileSync(join(app, 'node_modules/etcd-coord/README.md'), 'utf8');
    assert.ok(readme.includes('(docs/api/index.html)'), 'README links docs/api/index.html');
  });

  test('installs without build tools', () => {
    const modules = join(app, 'node_modules');
    for (const tool of ['typescript', 'tsx', 'vite', 'esbuild', 'rolldown', 'lightningcss', 'preact', 'typedoc']) {
      assert.equal(existsSync(join(modules, tool)), false, `${tool} is not installed with coord`);
    }
    assert.ok(existsSync(join(modules, '@grpc/grpc-js')));
  });

  test('a plain JavaScript ESM project imports every subpath and runs connect → store → register/discover/lock/config → close', async () => {
    const r = await node(['esm-app.mjs']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), {
      subpaths: { grpc: 'function', gateway: 'function', admin: 'function', observability: 'function' },
      discovered: ['orders-1'],
      fencingToken: JSON.parse(r.stdout).fencingToken,
      tryLockWhileHeld: 'busy',
      config: [null, { maxItems: 3 }, { maxItems: 5 }],
    });
    assert.equal(typeof JSON.parse(r.stdout).fencingToken, 'number');
  });

  test("import 'etcd-coord' loads neither fastify, jose, vite, prom-client nor the OpenTelemetry SDK", async () => {
    const record = join(work, 'loaded.txt');
    const r = await node(['--import', './record-loads.mjs', '--input-type=module', '-e', "await import('etcd-coord')"], { RECORD_FILE: record });
    assert.equal(r.code, 0, r.stderr);
    const packages = new Set(
      readFileSync(record, 'utf8')
        .split('\n')
        .map((url) => /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url)?.[1])
        .filter((p): p is string => !!p),
    );
    // What a client needs is there (so the recording works) ...
    for (const p of ['etcd-coord', '@grpc/grpc-js', '@opentelemetry/api']) assert.ok(packages.has(p), `${p} loaded; loaded: ${[...packages].join(', ')}`);
    // ... and none of the server, gateway, metrics or tracing-SDK packages.
    const heavy = [...packages].filter((p) => /^(fastify|@fastify\/.*|jose|vite|prom-client|pino|@opentelemetry\/(?!api$).*)$/.test(p));
    assert.deepEqual(heavy, []);
  });

  test("require('etcd-coord') works from CommonJS (require of ES modules, Node >= 22.12)", async () => {
    const r = await node(['cjs-app.cjs']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { connect: 'function', CoordError: 'function', startStore: 'function' });
  });

  for (const resolution of ['node16', 'bundler']) {
    test(`a strict TypeScript project (moduleResolution ${resolution}) type-checks against the shipped .d.ts, typed services (typed-usage.ts) included`, async () => {
      const r = await node([TSC, '-p', `tsconfig.${resolution}.json`]);
      assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    });
  }

  test('otlp.url without the optional exporter package installed: one clear error at start-up', async () => {
    const program = "import { createObservability } from 'etcd-coord/observability'; try { createObservability({ serviceName: 's', otlp: { url: 'http://127.0.0.1:4318/v1/traces' } }); } catch (e) { console.log(e.code + ': ' + e.message); process.exit(3); }";
    const r = await node(['--input-type=module', '-e', program]);
    assert.equal(r.code, 3, r.stderr);
    assert.equal(r.stdout.trim(), 'invalid-argument: observability: otlp.url needs the optional package @opentelemetry/exporter-trace-otlp-http (npm install @opentelemetry/exporter-trace-otlp-http)');
  });

  test('a subpath that is not exported fails with ERR_PACKAGE_PATH_NOT_EXPORTED', async () => {
    const r = await node(['--input-type=module', '-e', "await import('etcd-coord/dist/src/coord.js').catch((e) => { console.log(e.code); process.exit(3); })"]);
    assert.equal(r.code, 3);
    assert.equal(r.stdout.trim(), 'ERR_PACKAGE_PATH_NOT_EXPORTED');
  });

  test('npx coord store --memory and npx coord dashboard run from the package; the dashboard page and its assets load', async (t) => {
    t.after(stopAll);
    const [, endpoint] = await startCli(['store', '--memory', '--listen', '127.0.0.1:0'], /serving the etcd v3 API on http:\/\/(\S+) /);
    const [, url] = await startCli(['dashboard', '--endpoints', endpoint, '--listen', '127.0.0.1:0'], /coord dashboard on (http:\/\/\S+) /);
    const page = await fetch(url);
    assert.equal(page.status, 200);
    const html = await page.text();
    const assets = [...html.matchAll(/(?:src|href)="\/?(assets\/[^"]+)"/g)].map((m) => m[1]);
    assert.ok(assets.some((a) => a.endsWith('.js')), `the page references its script: ${html}`);
    for (const a of assets) {
      const res = await fetch(new URL(a, url));
      assert.equal(res.status, 200, a);
      assert.ok((await res.arrayBuffer()).byteLength > 0, a);
    }
    const status = await fetch(new URL('api/overview', url));
    assert.equal(status.status, 200, 'the admin API answers from the store');
  });

  test('`coord dev --demo` from the installed package without its optional peer packages: one `npm install` line, exit 2', async () => {
    const { DATABASE_URL: _db, NATS_URL: _nats, ...env } = cleanEnv();
    const demo = (extra: Record<string, string>) => run('npx', ['--no', 'coord', 'dev', '--demo', '--dir', join(app, '.coord-demo')], { cwd: app, env: { ...env, ...extra }, timeoutMs: 60_000 });
    const embedded = await demo({});
    assert.deepEqual(
      [embedded.code, embedded.stderr],
      [2, 'coord dev: --demo needs pg, @electric-sql/pglite (optional peer dependencies; PGlite serves the demo database when DATABASE_URL is not set): npm install pg@8 @electric-sql/pglite@0.5\n'],
    );
    const external = await demo({ DATABASE_URL: 'postgres://postgres@127.0.0.1:1/postgres', NATS_URL: 'nats://127.0.0.1:1' });
    assert.deepEqual(
      [external.code, external.stderr],
      [2, 'coord dev: --demo needs pg, @nats-io/transport-node, @nats-io/jetstream (optional peer dependencies; NATS_URL is set): npm install pg@8 @nats-io/transport-node@3 @nats-io/jetstream@3\n'],
    );
    assert.equal(existsSync(join(app, '.coord-demo')), false, 'nothing started, nothing written');
  });

  test('bad input from the installed CLI: one line and a non-zero exit', async () => {
    const unknown = await npx(['store', '--bogus']);
    assert.equal(unknown.code, 2);
    assert.equal(unknown.stderr.trim(), "error: unknown option '--bogus'");
    const unreachable = await npx(['kv', 'get', 'x', '--endpoints', '127.0.0.1:1', '--timeout', '1000']);
    assert.deepEqual([unreachable.code, unreachable.stderr], [1, 'coord: cannot reach etcd at 127.0.0.1:1 (connection refused)\n']);
    const malformed = await npx(['kv', 'get', 'x', '--endpoints', 'not-a-host:xx']);
    assert.deepEqual([malformed.code, malformed.stderr], [2, "coord: --endpoints: 'not-a-host:xx' is not host:port (the port must be a number from 1 to 65535)\n"]);
    // npx takes a --version before the package name as its own: `--` hands it to coord.
    const version = await run('npx', ['--no', '--', 'coord', '--version'], { cwd: app, timeoutMs: 60_000 });
    assert.deepEqual([version.code, version.stdout], [0, `${(JSON.parse(readFileSync(join(app, 'node_modules/etcd-coord/package.json'), 'utf8')) as { version: string }).version}\n`]);
  });
});
