// Fails when relative imports under src/ form a cycle (type-only imports included: a cycle in
// types still couples layers that must point one way).
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const root = new URL('../src', import.meta.url).pathname;
const files = [];
(function walk(d) {
  for (const n of readdirSync(d)) {
    const p = join(d, n);
    if (statSync(p).isDirectory()) walk(p);
    else if (n.endsWith('.ts') && !n.endsWith('.test.ts')) files.push(p);
  }
})(root);

const graph = new Map();
const importRe = /(?:import|export)\s[^'"]*?from\s*['"](\.[^'"]+)['"]|import\(\s*['"](\.[^'"]+)['"]\s*\)/g;
for (const f of files) {
  const deps = [];
  for (const m of readFileSync(f, 'utf8').matchAll(importRe)) {
    const spec = m[1] ?? m[2];
    deps.push(resolve(dirname(f), spec.replace(/\.js$/, '.ts')));
  }
  graph.set(f, deps.filter((d) => graph.has(d) || files.includes(d)));
}

const state = new Map();
const stack = [];
const cycles = [];
function visit(n) {
  state.set(n, 1);
  stack.push(n);
  for (const d of graph.get(n) ?? []) {
    if (state.get(d) === 1) cycles.push([...stack.slice(stack.indexOf(d)), d]);
    else if (!state.has(d)) visit(d);
  }
  stack.pop();
  state.set(n, 2);
}
for (const f of files) if (!state.has(f)) visit(f);

if (cycles.length) {
  for (const c of cycles) console.error('import cycle: ' + c.map((p) => relative(root, p)).join(' → '));
  process.exit(1);
}
console.log(`no import cycles among ${files.length} modules`);
