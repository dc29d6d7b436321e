// `npm run build` (and `npm pack`, through prepack): what the npm package runs, under dist/.
//   dist/src/, dist/examples/shop/  TypeScript compiled to ESM with .d.ts, declaration and source maps
//                                   (tsconfig.build.json; the shop is what `coord dev --demo` runs)
//   dist/proto/, dist/examples/shop/proto/  the .proto files read at run time, at the same paths
//                                   relative to the compiled modules as to the sources
//   dist/dashboard/                 the dashboard prebuilt by Vite, served as static files
//   docs/api/                       the API reference (TypeDoc, typedoc.json), shipped in the package
// A clone needs none of it: tests, benches and `npm start` run the sources (see bin/coord.js).
import { spawnSync } from 'node:child_process';
import { cpSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const dist = join(root, 'dist');

function run(label, args) {
  console.log(`▶ ${label}`);
  const r = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`✖ ${label} failed (exit ${r.status ?? r.signal})`);
    process.exit(r.status || 1);
  }
}

rmSync(dist, { recursive: true, force: true });
run('tsc -p tsconfig.build.json', [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json']);
cpSync(join(root, 'proto'), join(dist, 'proto'), { recursive: true });
cpSync(join(root, 'examples/shop/proto'), join(dist, 'examples/shop/proto'), { recursive: true });
rmSync(join(root, 'docs/api'), { recursive: true, force: true });
run('typedoc (docs/api)', [join(root, 'node_modules/typedoc/bin/typedoc'), '--logLevel', 'Warn']);
run('vite build dashboard', [join(root, 'node_modules/vite/bin/vite.js'), 'build', 'dashboard', '--outDir', '../dist/dashboard', '--emptyOutDir']);
