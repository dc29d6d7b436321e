// `npm run bench -- <name>` runs bench/<name>.ts. Helpers live in bench/lib/, so every top-level
// file other than this one is a benchmark exporting `run()`.
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

interface Benchmark {
  run(): Promise<void>;
}

const dir = fileURLToPath(new URL('.', import.meta.url));
const available = readdirSync(dir)
  .filter((f) => f.endsWith('.ts') && f !== 'main.ts')
  .map((f) => f.slice(0, -'.ts'.length))
  .sort();

const name = process.argv[2];
if (!name || !available.includes(name)) {
  console.error(`${name ? `unknown benchmark '${name}'` : 'no benchmark named'}; available: ${available.join(', ')}`);
  console.error('usage: npm run bench -- <name>');
  process.exit(1);
}

const bench = (await import(new URL(`./${name}.ts`, import.meta.url).href)) as Benchmark;
await bench.run();
