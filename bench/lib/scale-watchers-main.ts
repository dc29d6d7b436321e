// The discovery watchers of the registry-scale bench: `watchers` clients, each discovering every
// one of `services` services. Prints `ready` once all are, then `t <epoch ms> <c1,c2,…>` (each
// watcher's instance count over all services, -1 while any of its views is stale) whenever a
// count changes, at most every 50 ms.
import { connect, type Discovery } from '../../src/index.ts';

const [endpoint, ns, watchers, services] = process.argv.slice(2);
const views: Discovery[][] = [];
for (let w = 0; w < Number(watchers); w++) {
  const c = connect({ endpoints: [endpoint], namespace: ns });
  views.push(Array.from({ length: Number(services) }, (_, s) => c.discover(`svc${s}`)));
}
// A refused first read rejects `ready` but is retried behind it: wait for every view to be fresh.
for (const d of views.flat()) d.ready.catch(() => {});
while (views.flat().some((d) => d.snapshot().revision === 0 || d.snapshot().stale)) await new Promise((r) => setTimeout(r, 100));
console.log('ready');
let last = '';
setInterval(() => {
  const counts = views.map((ds) => (ds.some((d) => d.snapshot().stale) ? -1 : ds.reduce((n, d) => n + d.snapshot().instances.length, 0)));
  const line = counts.join(',');
  if (line !== last) {
    last = line;
    console.log(`t ${Date.now()} ${line}`);
  }
}, 50);
