// Module resolve hook for running a clone from its TypeScript sources (registered by
// scripts/run-source.mjs): `coord` and `coord/<subpath>` imported by package name (the demo shop
// does, as user code would) resolve to the source file behind each export of package.json, i.e.
// "./dist/src/store/index.js" → src/store/index.ts. The package itself exports compiled JS only.
import { readFileSync } from 'node:fs';

const root = new URL('..', import.meta.url);
const pkg = JSON.parse(readFileSync(new URL('package.json', root), 'utf8'));

/** `coord/<subpath>` → file URL of the source behind that export. */
const sources = new Map();
for (const [subpath, target] of Object.entries(pkg.exports)) {
  const compiled = typeof target === 'string' ? target : target.default;
  const m = /^\.\/dist\/(src\/.*)\.js$/.exec(compiled);
  if (m) sources.set(pkg.name + subpath.slice(1), new URL(`${m[1]}.ts`, root).href);
}

/** The same, as a synchronous hook for `module.registerHooks` (Node ≥ 22.15, where `register` is deprecated from 26). */
export function resolveSync(specifier, context, next) {
  const source = sources.get(specifier);
  return source ? { url: source, shortCircuit: true } : next(specifier, context);
}

export async function resolve(specifier, context, next) {
  const source = sources.get(specifier);
  return source ? { url: source, shortCircuit: true } : next(specifier, context);
}
