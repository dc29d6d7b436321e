// `npm run chaos -- gateway-fuzz [--requests 20000] [--seed N] [--concurrency 8]`: the gateway fuzz
// campaign (lib/gateway-fuzz.ts) at length. Prints requests, the status histogram and the count of
// 5xx answers without a real cause; exits 1 on any problem (listing the first ones).
import { parseArgs } from 'node:util';
import { fuzzProblems, runGatewayFuzz } from './lib/gateway-fuzz.ts';

export async function run(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { requests: { type: 'string', default: '20000' }, seed: { type: 'string', default: String(Date.now() % 1e9) }, concurrency: { type: 'string', default: '8' } },
  });
  const started = performance.now();
  console.log(`gateway-fuzz: ${values.requests} requests, seed ${values.seed} (replay with --seed ${values.seed})`);
  const f = await runGatewayFuzz({ requests: Number(values.requests), seed: Number(values.seed), concurrency: Number(values.concurrency) });
  const problems = fuzzProblems(f);
  const fivexx = Object.entries(f.statuses).filter(([s]) => Number(s) >= 500).reduce((n, [, c]) => n + c, 0);
  console.log(`requests answered           ${f.requests}`);
  console.log(`not sent (client refused)   ${f.notSent}`);
  console.log(`statuses                    ${Object.entries(f.statuses).map(([s, n]) => `${s}: ${n}`).join(', ')}`);
  console.log(`5xx, all                    ${fivexx}`);
  console.log(`5xx without a real cause    ${f.serverErrors.length}`);
  console.log(`answers leaking internals   ${f.leaks.length}`);
  console.log(`good requests ok / failed   ${f.goodOk} / ${f.goodFailed.length}`);
  console.log(`time                        ${((performance.now() - started) / 1000).toFixed(1)} s`);
  for (const p of problems.slice(0, 20)) console.log(`PROBLEM: ${p}`);
  return problems.length === 0 ? 0 : 1;
}
