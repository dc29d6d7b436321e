// One registering process of the registry-scale bench: registers `count` instances (ids from
// `offset`, spread over `services` services) with coord, 200 register() calls in flight, prints
// `registered <ms> <failures> <rss growth bytes> <heap growth bytes>`, then holds them until
// SIGTERM, when it closes the client (deregistering everything) and exits. A register() that
// rejects is counted and tried again, as a service would. Works on old trees too (bench "before").
import { connect } from '../../src/index.ts';

const [endpoint, ns, offset, count, services, ttl] = process.argv.slice(2);
const coord = connect({ endpoints: [endpoint], namespace: ns });
const gc = (globalThis as { gc?: () => void }).gc;
gc?.();
const before = process.memoryUsage();
const t0 = performance.now();
let failures = 0;
const ids = Array.from({ length: Number(count) }, (_, i) => Number(offset) + i);
let next = 0;
const worker = async () => {
  while (next < ids.length) {
    const k = ids[next++];
    for (;;) {
      try {
        await coord.register({ id: `i${k}`, name: `svc${k % Number(services)}`, endpoints: [`grpc://127.0.0.1:${10000 + (k % 50000)}`] }, { ttl: Number(ttl) });
        break;
      } catch {
        failures++;
      }
    }
  }
};
await Promise.all(Array.from({ length: 200 }, worker));
const ms = performance.now() - t0;
gc?.();
const after = process.memoryUsage();
console.log(`registered ${Math.round(ms)} ${failures} ${after.rss - before.rss} ${after.heapUsed - before.heapUsed}`);
process.once('SIGTERM', () => {
  void coord.close().then(() => process.exit(0));
});
setInterval(() => {}, 1 << 30);
