// `npm test`: type-check, every test file (unit, conformance, integration) under node's test
// runner, then the import-cycle check. Extra arguments narrow the run to matching test files.
// `--node-line`: only what differs between Node lines, the unit tests (src/**/*.test.ts) and the
// package tests (test/package/), without type-check and cycle check; .ci/run runs it on every
// supported Node line but the newest, which runs everything.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { runGuarded } from './test-guard.mjs';

const root = new URL('..', import.meta.url).pathname;
const nodeLine = process.argv.includes('--node-line');
const filters = process.argv.slice(2).filter((a) => a !== '--node-line');

function run(label, cmd, args) {
  console.log(`\n▶ ${label}`);
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', env: process.env });
  if (r.status !== 0) {
    console.error(`✖ ${label} failed (exit ${r.status ?? r.signal})`);
    process.exit(r.status || 1);
  }
}

function walk(dir, out = []) {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name.startsWith('.')) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (name.endsWith('.test.ts')) out.push(relative(root, p));
  }
  return out;
}

const files = ['src', 'test']
  .flatMap((d) => walk(join(root, d)))
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .filter((f) => !nodeLine || f.startsWith('src/') || f.startsWith('test/package/'))
  .sort();
const everything = filters.length === 0 && !nodeLine;

console.log(`node ${process.version}`);
if (everything) {
  run('type-check (tsc --noEmit)', process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '--noEmit', '-p', '.']);
  run('type-check dashboard (tsc --noEmit -p dashboard)', process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '--noEmit', '-p', 'dashboard']);
}
// The sources through tsx; `coord/...` imported by package name (examples/shop) resolves to src/.
// A test file that never exits (a leaked timer or socket) would hang CI forever: the run is
// guarded (scripts/test-guard.mjs). Its output goes through a pipe, so the reporter is named
// as node would pick it for the terminal.
const label = `tests (${files.length} files)`;
console.log(`\n▶ ${label}`);
const tests = await runGuarded(label, process.execPath, [
  '--import', join(root, 'scripts/run-source.mjs'),
  '--test',
  '--test-concurrency=2',
  `--test-reporter=${process.stdout.isTTY ? 'spec' : 'tap'}`,
  ...files,
], { cwd: root, env: process.stdout.isTTY ? { FORCE_COLOR: '1', ...process.env } : process.env });
if (tests.hung) process.exit(1);
if (tests.status !== 0) {
  console.error(`✖ ${label} failed (exit ${tests.status ?? tests.signal})`);
  process.exit(tests.status || 1);
}
if (everything) run('import-cycle check', process.execPath, [join(root, 'scripts/check-cycles.mjs')]);
