// What etcd's auth costs, on real etcd and on coord store, both as fsyncing processes with data
// dirs, measured in the same run through the same etcd3 npm client: puts and ranges with auth off
// and with auth on (a user limited to a prefix, so every call is checked against a permission),
// the Authenticate call itself (bcrypt on etcd, scrypt on coord store), and put latency while
// another client floods the server with Authenticate calls for an unknown user (each costs a full
// hash; on coord store the hashes share libuv's thread pool with the log's write and fdatasync).
import { Etcd3 } from 'etcd3';
import { startEtcd } from '../test/helpers/etcd-process.ts';
import { RawClient } from '../test/helpers/raw-client.ts';
import { setUpAuth } from '../test/helpers/auth-setup.ts';
import { startCoordStore } from './lib/coord-process.ts';
import { startAuthFlood, type FloodResult } from './lib/auth-flood.ts';
import { closedLoop, percentile, printTable, type LoadResult } from './lib/harness.ts';

const WARMUP_MS = 500;
const DURATION_MS = 3_000;
const CONCURRENCY = 32;
const VALUE = Buffer.alloc(100, 'v');
/** Concurrent Authenticate callers of the flood (one connection), each re-sending as soon as it is answered. */
const FLOODERS = 32;

interface Server {
  endpoint: string;
  pid: number;
  stop(): Promise<void>;
}

interface Measured {
  putOff: LoadResult;
  rangeOff: LoadResult;
  putOn: LoadResult;
  rangeOn: LoadResult;
  authP50: number;
  authP99: number;
  /** Puts with auth on while the flood runs (same load as putOn). */
  putFlood: LoadResult;
  flood: FloodResult;
}

async function measure(server: Server): Promise<Measured> {
  const load = (client: Etcd3, kind: 'put' | 'range') =>
    closedLoop({
      concurrency: CONCURRENCY,
      warmupMs: WARMUP_MS,
      durationMs: DURATION_MS,
      cpuOfPid: server.pid,
      op: async (w, i) => {
        if (kind === 'put') await client.put(`app/${w}/${i % 100}`).value(VALUE);
        else await client.get(`app/${w}/${i % 100}`).buffer();
      },
    });
  await setUpAuth(server.endpoint, { user: 'app', password: 'apppw', prefix: 'app/', enable: false });
  const raw = new RawClient(server.endpoint);
  const best = (a: LoadResult | undefined, b: LoadResult) => (a && a.opsPerSec >= b.opsPerSec ? a : b);
  let putOff: LoadResult | undefined;
  let rangeOff: LoadResult | undefined;
  let putOn: LoadResult | undefined;
  let rangeOn: LoadResult | undefined;
  let putFlood: LoadResult | undefined;
  let flood: FloodResult | undefined;
  const times: number[] = [];
  // Off and on alternate, twice, and each cell keeps its better run: the machine warms up and
  // drifts during a run, and a fixed order would credit that to one side.
  for (let round = 0; round < 2; round++) {
    const open = new Etcd3({ hosts: `http://${server.endpoint}` });
    putOff = best(putOff, await load(open, 'put'));
    rangeOff = best(rangeOff, await load(open, 'range'));
    open.close();
    raw.token = undefined;
    await raw.authCall('AuthEnable');
    for (let i = 0; i < 10; i++) {
      const t0 = performance.now();
      await raw.authCall('Authenticate', { name: 'app', password: 'apppw' });
      times.push(performance.now() - t0);
    }
    const authed = new Etcd3({ hosts: `http://${server.endpoint}`, auth: { username: 'app', password: 'apppw' } });
    putOn = best(putOn, await load(authed, 'put'));
    rangeOn = best(rangeOn, await load(authed, 'range'));
    const flooding = await startAuthFlood(server.endpoint, FLOODERS);
    const underFlood = await load(authed, 'put');
    const answered = await flooding.stop();
    if (!putFlood || underFlood.opsPerSec >= putFlood.opsPerSec) [putFlood, flood] = [underFlood, answered];
    authed.close();
    raw.token = ((await raw.authCall('Authenticate', { name: 'root', password: 'rootpw' })) as { token: string }).token;
    await raw.authCall('AuthDisable');
  }
  raw.close();
  const sorted = Float64Array.from(times).sort();
  return {
    putOff: putOff!,
    rangeOff: rangeOff!,
    putOn: putOn!,
    rangeOn: rangeOn!,
    authP50: percentile(sorted, 50),
    authP99: percentile(sorted, 99),
    putFlood: putFlood!,
    flood: flood!,
  };
}

export async function run(): Promise<void> {
  const results: Array<[string, Measured]> = [];
  for (const [name, start] of [
    ['etcd', () => startEtcd()],
    ['coord store', () => startCoordStore()],
  ] as Array<[string, () => Promise<Server>]>) {
    const server = await start();
    try {
      results.push([name, await measure(server)]);
    } finally {
      await server.stop();
    }
  }
  const ops = (r: LoadResult) => Math.round(r.opsPerSec).toLocaleString('en-US');
  const pct = (on: LoadResult, off: LoadResult) => `${(((on.opsPerSec - off.opsPerSec) / off.opsPerSec) * 100).toFixed(1)}%`;
  const [etcd, store] = results.map(([, m]) => m);
  const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}x`;
  console.log(`\nauth cost, ${CONCURRENCY} concurrent clients, best of 2 alternating ${DURATION_MS / 1000} s runs per cell, 100-byte values; ops/s (p99 ms)`);
  printTable(
    ['', 'etcd', 'coord store', 'coord / etcd'],
    [
      ['put, auth off', `${ops(etcd.putOff)} (${etcd.putOff.p99.toFixed(1)})`, `${ops(store.putOff)} (${store.putOff.p99.toFixed(1)})`, ratio(store.putOff.opsPerSec, etcd.putOff.opsPerSec)],
      ['put, auth on', `${ops(etcd.putOn)} (${etcd.putOn.p99.toFixed(1)})`, `${ops(store.putOn)} (${store.putOn.p99.toFixed(1)})`, ratio(store.putOn.opsPerSec, etcd.putOn.opsPerSec)],
      ['put: auth on vs off', pct(etcd.putOn, etcd.putOff), pct(store.putOn, store.putOff), ''],
      ['range, auth off', `${ops(etcd.rangeOff)} (${etcd.rangeOff.p99.toFixed(1)})`, `${ops(store.rangeOff)} (${store.rangeOff.p99.toFixed(1)})`, ratio(store.rangeOff.opsPerSec, etcd.rangeOff.opsPerSec)],
      ['range, auth on', `${ops(etcd.rangeOn)} (${etcd.rangeOn.p99.toFixed(1)})`, `${ops(store.rangeOn)} (${store.rangeOn.p99.toFixed(1)})`, ratio(store.rangeOn.opsPerSec, etcd.rangeOn.opsPerSec)],
      ['range: auth on vs off', pct(etcd.rangeOn, etcd.rangeOff), pct(store.rangeOn, store.rangeOff), ''],
      ['Authenticate p50 / p99 ms', `${etcd.authP50.toFixed(1)} / ${etcd.authP99.toFixed(1)}`, `${store.authP50.toFixed(1)} / ${store.authP99.toFixed(1)}`, ratio(store.authP50, etcd.authP50)],
    ],
  );
  const lat = (r: LoadResult) => `${r.p50.toFixed(1)} / ${r.p99.toFixed(1)}`;
  const perSec = (f: FloodResult) => `${(f.perSec.failed ?? 0).toFixed(0)} / ${(f.perSec.tooMany ?? 0).toFixed(0)}`;
  console.log(`\nput latency under an Authenticate flood (${FLOODERS} callers on one connection, unknown user, re-sent at once), auth on, ${CONCURRENCY} put clients`);
  printTable(
    ['', 'etcd', 'coord store', 'coord / etcd'],
    [
      ['put p50 / p99 ms, no flood', lat(etcd.putOn), lat(store.putOn), ratio(store.putOn.p99, etcd.putOn.p99)],
      ['put p50 / p99 ms, flood', lat(etcd.putFlood), lat(store.putFlood), ratio(store.putFlood.p99, etcd.putFlood.p99)],
      ['put p99: flood vs none', ratio(etcd.putFlood.p99, etcd.putOn.p99), ratio(store.putFlood.p99, store.putOn.p99), ''],
      ['put ops/s, flood', ops(etcd.putFlood), ops(store.putFlood), ratio(store.putFlood.opsPerSec, etcd.putFlood.opsPerSec)],
      ['flood: refused as wrong / too many, per s', perSec(etcd.flood), perSec(store.flood), ''],
    ],
  );
  for (const [name, m] of results) {
    const other = Object.entries(m.flood.perSec).filter(([k]) => k !== 'failed' && k !== 'tooMany');
    if (other.length > 0) console.log(`${name}: other Authenticate answers under the flood, per s: ${JSON.stringify(other)}`);
  }
}
