// `node --import ./scripts/run-source.mjs <file.ts>`: runs this clone's TypeScript sources with
// plain node — tsx compiles them, and `coord/...` imported by package name resolves to src/
// (scripts/source-hooks.mjs). Used by npm test, bench, chaos, bin/coord.js in a clone and the
// demo shop's processes; never part of the package.
import * as nodeModule from 'node:module';
import { resolveSync } from './source-hooks.mjs';

// In-thread hooks where Node has them (module.register() is deprecated from Node 26).
if (typeof nodeModule.registerHooks === 'function') nodeModule.registerHooks({ resolve: resolveSync });
else nodeModule.register('./source-hooks.mjs', import.meta.url);
await import('tsx');
