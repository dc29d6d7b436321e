// Clients that close must not take others down with them. Reported: with the etcd3 npm client over
// TLS, after two clients that observed an election were closed without cancelling their observers,
// the surviving client's next call failed with "No connection established" (a GOAWAY on its
// session). Here: that pattern against a coord store process over TLS, and a load test where
// clients with watch, keepalive and in-flight unary calls close abruptly around survivors whose
// connections are tracked — a GOAWAY (or any disconnect) would take a survivor's channel out of READY.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { Etcd3 } from 'etcd3';
import { etcdProto } from '../../src/protocol/etcd-proto.ts';
import { makePki, type TestPki } from '../helpers/certs.ts';
import { makeTempDir, removeTempDir, startStoreProcess, stopAllStoreProcesses, type StoreProcess } from '../helpers/store-process.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

type Kv = grpc.Client & { Put(req: object, cb: (err: grpc.ServiceError | null) => void): void };
type Streams = grpc.Client & { Watch(): grpc.ClientDuplexStream<object, unknown>; LeaseKeepAlive(): grpc.ClientDuplexStream<object, unknown> };

describe('coord store: closing clients do not disturb the others', () => {
  let pki: TestPki;
  let dir: string;
  let store: StoreProcess;
  let creds: () => grpc.ChannelCredentials;
  before(async () => {
    pki = makePki();
    dir = makeTempDir('coord-goaway-');
    writeFileSync(join(dir, 'cert.pem'), pki.serverCert);
    writeFileSync(join(dir, 'key.pem'), pki.serverKey);
    store = await startStoreProcess(['--memory', '--listen', '127.0.0.1:0', '--cert', join(dir, 'cert.pem'), '--key', join(dir, 'key.pem')]);
    creds = () => grpc.credentials.createSsl(pki.ca);
  });
  after(async () => {
    await stopAllStoreProcesses();
    removeTempDir(dir);
  });

  it('etcd3 over TLS: after two observers close, the leader resigns and deletes (5 rounds)', async () => {
    const opts = { hosts: `https://${store.endpoint}`, credentials: { rootCertificate: pki.ca } };
    for (let round = 0; round < 5; round++) {
      const [c1, c2, c3] = [new Etcd3(opts), new Etcd3(opts), new Etcd3(opts)];
      const name = `goaway-${round}`;
      const leader = c1.election(name, 2).campaign('one');
      await new Promise<void>((resolve) => leader.on('elected', () => resolve()));
      await c2.election(name, 2).observe();
      await c3.election(name, 2).observe();
      const two = c2.election(name, 2).campaign('two');
      const three = c3.election(name, 2).campaign('three');
      two.on('error', () => {});
      three.on('error', () => {});
      await sleep(200);
      await two.resign();
      await sleep(1000);
      c2.close();
      c3.close();
      await leader.resign();
      await c1.delete().all();
      c1.close();
    }
  });

  it('survivors stay connected while 24 clients with streams and calls in flight close abruptly', async () => {
    const proto = etcdProto();
    // A local subchannel pool: each client its own TCP connection and HTTP/2 session, as separate processes have.
    const options = { 'grpc.use_local_subchannel_pool': 1, 'grpc.ssl_target_name_override': 'localhost' };
    const survivors = Array.from({ length: 3 }, () => new proto.KV(store.endpoint, creds(), options) as unknown as Kv);
    const transitions: string[] = [];
    let running = true;
    for (const [i, s] of survivors.entries()) {
      await new Promise<void>((resolve, reject) => s.waitForReady(Date.now() + 5000, (e) => (e ? reject(e) : resolve())));
      const ch = s.getChannel();
      const follow = (state: grpc.connectivityState) =>
        ch.watchConnectivityState(state, Infinity, () => {
          if (!running) return;
          const now = ch.getConnectivityState(false);
          transitions.push(`survivor ${i}: ${grpc.connectivityState[state]} -> ${grpc.connectivityState[now]}`);
          follow(now);
        });
      follow(ch.getConnectivityState(false));
    }
    let ok = 0;
    const failed: string[] = [];
    const load = survivors.map(async (s, i) => {
      while (running) {
        await new Promise<void>((resolve) =>
          s.Put({ key: Buffer.from(`survivor/${i}`), value: Buffer.from(String(ok)) }, (err) => {
            if (err) failed.push(err.message);
            else ok++;
            resolve();
          }),
        );
      }
    });
    for (let round = 0; round < 4; round++) {
      const closers = Array.from({ length: 6 }, () => ({
        kv: new proto.KV(store.endpoint, creds(), options) as unknown as Kv,
        streams: new proto.Watch(store.endpoint, creds(), options) as unknown as Streams,
        lease: new proto.Lease(store.endpoint, creds(), options) as unknown as Streams,
      }));
      for (const c of closers) {
        const w = c.streams.Watch();
        w.on('error', () => {});
        w.write({ create_request: { key: Buffer.from('survivor/'), range_end: Buffer.from('survivor0') } });
        const k = c.lease.LeaseKeepAlive();
        k.on('error', () => {});
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
    survivors.forEach((s) => s.close());
    console.log(`survivor puts ok ${ok}, failed ${failed.length}, channel transitions: ${transitions.length ? transitions.join('; ') : 'none'}`);
    assert.deepEqual(failed, []);
    assert.deepEqual(transitions, [], 'a survivor lost its connection');
    assert.ok(ok > 0);
  });
});
