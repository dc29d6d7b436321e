// The CI corpus of `npm run chaos -- gateway-fuzz`: 1,500 malformed requests from a fixed seed
// (good ones interleaved) against a real gateway and real gRPC backends. No 5xx but 503/504 for
// their real causes, no internal address in any body or header, every good request answered.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fuzzProblems, runGatewayFuzz } from '../chaos/lib/gateway-fuzz.ts';

describe('gateway fuzz (fixed seed)', () => {
  it('1,500 malformed requests: no unexplained 5xx, no leaks, good requests served', async () => {
    const f = await runGatewayFuzz({ requests: 1500, seed: 1304 });
    console.log(`requests ${f.requests} (not sent by the client: ${f.notSent}), statuses ${JSON.stringify(f.statuses)}, good ${f.goodOk} ok`);
    assert.deepEqual(fuzzProblems(f).slice(0, 10), []);
    assert.ok(f.requests > 1000, `only ${f.requests} requests answered`);
    assert.ok(f.goodOk >= 140, `good requests answered: ${f.goodOk}`);
    assert.ok(Object.keys(f.statuses).length >= 5, 'the corpus reaches many kinds of answer');
  });
});
