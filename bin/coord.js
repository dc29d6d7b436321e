#!/usr/bin/env node
// The `coord` command. Installed from npm it runs the compiled CLI (dist/) with plain node. In a
// clone (tsconfig.json beside src/, never part of the package) it runs the TypeScript sources
// through tsx, a devDependency there: `npm ci && npm start` needs no build step, and a dist/ left
// over from an earlier `npm run build` is never run by mistake. The sources import `coord/...`
// by package name (examples/shop), so the `coord-source` export condition is turned on as well.
import { existsSync } from 'node:fs';

const clone = existsSync(new URL('../tsconfig.json', import.meta.url)) && existsSync(new URL('../src/cli/main.ts', import.meta.url));
if (clone) {
  const { register } = await import('node:module');
  const addCondition = 'export async function resolve(specifier, context, next) { return next(specifier, { ...context, conditions: [...context.conditions, "coord-source"] }); }';
  register(`data:text/javascript,${encodeURIComponent(addCondition)}`);
  (await import('tsx/esm/api')).register();
  await import('../src/cli/main.ts');
} else {
  await import('../dist/src/cli/main.js');
}
