// `npm run chaos -- <name> [options]` runs test/chaos/<name>.ts. Helpers live in test/chaos/lib/,
// so every top-level file other than this one is a scenario exporting `run(args)`, which resolves
// with the process exit code.
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

interface Scenario {
  run(args: string[]): Promise<number>;
}

const dir = fileURLToPath(new URL('.', import.meta.url));
const available = readdirSync(dir)
  .filter((f) => f.endsWith('.ts') && f !== 'main.ts' && !f.endsWith('.test.ts'))
  .map((f) => f.slice(0, -'.ts'.length))
  .sort();

const name = process.argv[2];
if (!name || !available.includes(name)) {
  console.error(`${name ? `unknown chaos scenario '${name}'` : 'no chaos scenario named'}; available: ${available.join(', ')}`);
  console.error('usage: npm run chaos -- <name> [options]');
  process.exit(1);
}

// Exiting runs the 'exit' hooks of every process starter, which kill what they started.
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(signal === 'SIGINT' ? 130 : 143));

const scenario = (await import(new URL(`./${name}.ts`, import.meta.url).href)) as Scenario;
process.exit(await scenario.run(process.argv.slice(3)));
