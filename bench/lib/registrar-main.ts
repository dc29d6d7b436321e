// One registering process of the registry-scale bench: registers `count` instances (ids from
// `offset`, spread over `services` services) with coord, 200 register() calls in flight, prints
// `registered <ms> <failures>`, then holds them until SIGTERM, when it closes the client
// (deregistering everything) and exits. A register() that rejects is counted and tried again, as
// a service would. Works on old trees too (bench "before").
//
// Memory: the first instance is registered alone (connecting, granting the shared lease, loading
// code on first use: the client's fixed cost), then the baseline is taken (the least RSS over 5 s
// of full GCs; the timed registering starts after it). On SIGUSR2 (sent by the
// bench after its steady-CPU window, so the forced collections do not count as keepalive work) it
// samples for 20 s, a full GC and the RSS each second, and prints
// `memory <rss growth bytes> <heap growth bytes> <fixed rss bytes> <registrations measured>`:
// the least RSS seen (memory freed after the registration burst goes back to the OS within
// seconds), the heap after the last collection, both over the baseline, and the baseline's RSS
// over the process's at start.
import { connect } from '../../src/index.ts';

const [endpoint, ns, offset, count, services, ttl] = process.argv.slice(2);
const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});
const start = process.memoryUsage();
const coord = connect({ endpoints: [endpoint], namespace: ns });
let failures = 0;
const ids = Array.from({ length: Number(count) }, (_, i) => Number(offset) + i);
const registerOne = async (k: number) => {
  for (;;) {
    try {
      await coord.register({ id: `i${k}`, name: `svc${k % Number(services)}`, endpoints: [`grpc://127.0.0.1:${10000 + (k % 50000)}`] }, { ttl: Number(ttl) });
      return;
    } catch {
      failures++;
    }
  }
};
/** The least RSS over `seconds` one-second samples, each after a full GC (memory the runtime frees goes back to the OS late). */
const settled = async (seconds: number) => {
  let rss = Infinity;
  let heap = 0;
  for (let i = 0; i < seconds; i++) {
    await new Promise((r) => setTimeout(r, 1000));
    gc();
    const m = process.memoryUsage();
    rss = Math.min(rss, m.rss);
    heap = m.heapUsed;
  }
  return { rss, heapUsed: heap };
};
await registerOne(ids[0]);
// The baseline settles the same way as the measurement, so neither side counts freed memory.
const before = await settled(5);
const t0 = performance.now();
let next = 1;
const worker = async () => {
  while (next < ids.length) await registerOne(ids[next++]);
};
await Promise.all(Array.from({ length: 200 }, worker));
const ms = performance.now() - t0;
console.log(`registered ${Math.round(ms)} ${failures}`);
process.on('SIGUSR2', () => {
  void (async () => {
    const after = await settled(20);
    console.log(`memory ${after.rss - before.rss} ${after.heapUsed - before.heapUsed} ${before.rss - start.rss} ${ids.length - 1}`);
  })();
});
process.once('SIGTERM', () => {
  void coord.close().then(() => process.exit(0));
});
setInterval(() => {}, 1 << 30);
