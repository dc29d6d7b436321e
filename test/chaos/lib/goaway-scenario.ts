// Clients closing around others, on coord store and etcd: the reported election pattern with the
// etcd3 npm client, and a storm of raw grpc-js clients closing with streams and calls in flight
// around survivors under load. Every HTTP/2 session this process opens is recorded
// (test/helpers/goaway-recorder.ts), so a GOAWAY on a session its client still uses, or any
// disconnect of a survivor, is counted. Used by test/integration/store-goaway.test.ts (short) and
// `npm run chaos -- goaway` (long).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { Etcd3, type IOptions } from 'etcd3';
import { etcdProto } from '../../../src/protocol/etcd-proto.ts';
import type { TestPki } from '../../helpers/certs.ts';
import { requireEtcd, startEtcd } from '../../helpers/etcd-process.ts';
import type { GoawayRecorder } from '../../helpers/goaway-recorder.ts';
import { makeTempDir, removeTempDir, startStoreProcess } from '../../helpers/store-process.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

type Kv = grpc.Client & { Put(req: object, cb: (err: grpc.ServiceError | null) => void): void };
type Streams = grpc.Client & { Watch(): grpc.ClientDuplexStream<object, unknown>; LeaseKeepAlive(): grpc.ClientDuplexStream<object, unknown> };

export interface GoawayServer {
  endpoint: string;
  stop(): Promise<void>;
}

/** coord store (a separate process) and real etcd, each over TLS or plaintext. */
export const goawayServers: { name: 'coord store' | 'etcd'; skip: string | undefined; start(pki: TestPki, tls: boolean): Promise<GoawayServer> }[] = [
  {
    name: 'coord store',
    skip: undefined,
    async start(pki, tls) {
      const dir = makeTempDir('coord-goaway-');
      writeFileSync(join(dir, 'cert.pem'), pki.serverCert);
      writeFileSync(join(dir, 'key.pem'), pki.serverKey);
      const args = ['--memory', '--listen', '127.0.0.1:0', ...(tls ? ['--cert', join(dir, 'cert.pem'), '--key', join(dir, 'key.pem')] : [])];
      const store = await startStoreProcess(args);
      return {
        endpoint: store.endpoint,
        stop: async () => {
          await store.kill();
          removeTempDir(dir);
        },
      };
    },
  },
  {
    name: 'etcd',
    skip: requireEtcd(),
    async start(pki, tls) {
      const etcd = await startEtcd(tls ? { tls: { cert: pki.serverCert, key: pki.serverKey, ca: pki.ca } } : {});
      return { endpoint: etcd.endpoint, stop: () => etcd.stop() };
    },
  },
];

export interface ElectionResult {
  rounds: number;
  sessions: number;
  /** GOAWAYs that answered the client's own (harmless: no channel used that session any more). */
  answered: number;
  /** Everything that went wrong, one line each: failed calls, GOAWAYs on sessions still in use. */
  problems: string[];
}

/**
 * The report's pattern, `rounds` times: client 1 holds an election; clients 2 and 3 each observe
 * and campaign; client 2 resigns; a second later clients 2 and 3 are closed without cancelling
 * their observers; client 1 resigns and deletes everything.
 */
export async function electionRounds(opts: IOptions, rounds: number, rec: GoawayRecorder, prefix = 'goaway'): Promise<ElectionResult> {
  const first = rec.mark();
  const unprovokedBefore = rec.unprovoked().length;
  const answeredBefore = rec.provokedCount();
  const problems: string[] = [];
  for (let round = 0; round < rounds; round++) {
    const name = `${prefix}-${round}`;
    const mark = rec.mark();
    const c1 = new Etcd3(opts);
    const clients = [c1];
    try {
      const leader = c1.election(name, 2).campaign('one');
      await new Promise<void>((resolve, reject) => {
        leader.on('elected', () => resolve());
        leader.on('error', reject);
      });
      // The leader's own sessions: its KV, Lease and Watch clients share one subchannel (over
      // plaintext, the other clients share it too).
      const leaderSessions = rec.since(mark);
      if (leaderSessions.length === 0) problems.push(`round ${round}: the recorder saw no session for the leader`);
      const [c2, c3] = [new Etcd3(opts), new Etcd3(opts)];
      clients.push(c2, c3);
      for (const c of [c2, c3]) (await c.election(name, 2).observe()).on('error', () => {});
      const two = c2.election(name, 2).campaign('two');
      const three = c3.election(name, 2).campaign('three');
      // These two are closed mid-campaign on purpose; their errors are the point, not a problem.
      two.on('error', () => {});
      three.on('error', () => {});
      await sleep(200);
      await two.resign();
      await sleep(1000);
      c2.close();
      c3.close();
      await leader.resign();
      await c1.delete().all();
      const hit = leaderSessions.flatMap((s) => s.goaways);
      if (hit.length) problems.push(`round ${round}: the leader's session got ${hit.length} GOAWAY(s) while in use`);
    } catch (e) {
      problems.push(`round ${round}: ${(e as Error).message}`);
    } finally {
      for (const c of clients) c.close();
    }
  }
  await sleep(300);
  for (const u of rec.unprovoked().slice(unprovokedBefore)) problems.push(`unprovoked GOAWAY (code ${u.code}) on session ${u.session}`);
  return { rounds, sessions: rec.since(first).length, answered: rec.provokedCount() - answeredBefore, problems };
}

export interface StormResult {
  closers: number;
  survivorCalls: number;
  survivorGoaways: number;
  answered: number;
  problems: string[];
}

/**
 * Three survivors put in a loop while `rounds` rounds of `perRound` clients (each a KV, Watch and
 * Lease client on its own connection, as separate processes have) open a watch and a keepalive
 * stream, send 20 puts, and close without cancelling anything.
 */
export async function closeStorm(endpoint: string, creds: () => grpc.ChannelCredentials, rounds: number, perRound: number, rec: GoawayRecorder): Promise<StormResult> {
  const proto = etcdProto();
  const options = { 'grpc.use_local_subchannel_pool': 1, 'grpc.ssl_target_name_override': 'localhost' };
  const problems: string[] = [];
  const mark = rec.mark();
  const unprovokedBefore = rec.unprovoked().length;
  const answeredBefore = rec.provokedCount();
  const survivors = Array.from({ length: 3 }, () => new proto.KV(endpoint, creds(), options) as unknown as Kv);
  let running = true;
  for (const [i, s] of survivors.entries()) {
    await new Promise<void>((resolve, reject) => s.waitForReady(Date.now() + 5000, (e) => (e ? reject(e) : resolve())));
    const ch = s.getChannel();
    const follow = (state: grpc.connectivityState) =>
      ch.watchConnectivityState(state, Infinity, () => {
        if (!running) return;
        const now = ch.getConnectivityState(false);
        problems.push(`survivor ${i}: channel ${grpc.connectivityState[state]} -> ${grpc.connectivityState[now]}`);
        follow(now);
      });
    follow(ch.getConnectivityState(false));
  }
  const survivorSessions = rec.since(mark);
  if (survivorSessions.length !== survivors.length) problems.push(`expected one recorded session per survivor, saw ${survivorSessions.length}`);
  let ok = 0;
  const load = survivors.map(async (s, i) => {
    while (running) {
      await new Promise<void>((resolve) =>
        s.Put({ key: Buffer.from(`survivor/${i}`), value: Buffer.from(String(ok)) }, (err) => {
          if (err) problems.push(`survivor ${i}: put failed: ${err.message}`);
          else ok++;
          resolve();
        }),
      );
    }
  });
  for (let round = 0; round < rounds; round++) {
    const closers = Array.from({ length: perRound }, () => ({
      kv: new proto.KV(endpoint, creds(), options) as unknown as Kv,
      streams: new proto.Watch(endpoint, creds(), options) as unknown as Streams,
      lease: new proto.Lease(endpoint, creds(), options) as unknown as Streams,
    }));
    for (const c of closers) {
      const w = c.streams.Watch();
      w.on('error', () => {});
      w.write({ create_request: { key: Buffer.from('survivor/'), range_end: Buffer.from('survivor0') } });
      const k = c.lease.LeaseKeepAlive();
      k.on('error', () => {});
      // Their outcome does not matter: these clients are about to be closed under them.
      for (let j = 0; j < 20; j++) c.kv.Put({ key: Buffer.from(`closer/${round}/${j}`), value: Buffer.from('x') }, () => {});
    }
    await sleep(150);
    // Closed without cancelling their streams, as the report's clients were.
    for (const c of closers) for (const client of [c.kv, c.streams, c.lease]) client.close();
    await sleep(150);
  }
  await sleep(300);
  running = false;
  await Promise.all(load);
  const survivorGoaways = survivorSessions.reduce((n, s) => n + s.goaways.length, 0);
  if (survivorGoaways) problems.push(`survivors got ${survivorGoaways} GOAWAY(s)`);
  survivors.forEach((s) => s.close());
  for (const u of rec.unprovoked().slice(unprovokedBefore)) problems.push(`unprovoked GOAWAY (code ${u.code}) on session ${u.session}`);
  if (ok === 0) problems.push('no survivor put succeeded');
  return { closers: rounds * perRound, survivorCalls: ok, survivorGoaways, answered: rec.provokedCount() - answeredBefore, problems };
}
