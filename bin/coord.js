#!/usr/bin/env node
// The `coord` command. Installed from npm it runs the compiled CLI (dist/) with plain node. In a
// clone (tsconfig.json and scripts/ beside src/, never part of the package) it runs the TypeScript
// sources through tsx, a devDependency there (scripts/run-source.mjs, which also resolves
// `coord/...` imported by package name to src/): `npm ci && npm start` needs no build step, and a
// dist/ left over from an earlier `npm run build` is never run by mistake.
import { existsSync } from 'node:fs';

const clone = existsSync(new URL('../tsconfig.json', import.meta.url)) && existsSync(new URL('../scripts/run-source.mjs', import.meta.url));
if (clone) {
  await import('../scripts/run-source.mjs');
  await import('../src/cli/main.ts');
} else {
  await import('../dist/src/cli/main.js');
}
