// An Authenticate flood must not stall durable writes: every Authenticate costs a scrypt hash on
// libuv's thread pool, where the log's write and fdatasync run too. coord store hashes one
// password at a time and refuses a peer with more than 8 Authenticates outstanding with etcd's
// `too many requests` (RESOURCE_EXHAUSTED), at once; waiting peers are served in turn. Here one
// client floods from 127.0.0.1 (32 concurrent callers, each re-sending as soon as it is answered)
// while another, from ::1 (a different peer of the same dual-stack store), writes and logs in:
// every put succeeds, right passwords still authenticate, wrong ones are still refused, and the
// flood gets answers only of those two kinds. How fast the puts stay is measured by
// `npm run bench -- auth`, not here.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { status } from '@grpc/grpc-js';
import { setUpAuth } from '../helpers/auth-setup.ts';
import { callError, RawClient, type CallError } from '../helpers/raw-client.ts';
import { makeTempDir, removeTempDir, startStoreProcess, stopAllStoreProcesses } from '../helpers/store-process.ts';

const AUTH_FAILED: CallError = { code: status.INVALID_ARGUMENT, details: 'etcdserver: authentication failed, invalid user ID or password' };
const TOO_MANY: CallError = { code: status.RESOURCE_EXHAUSTED, details: 'etcdserver: too many requests' };
const FLOODERS = 32;
const PUTS = 10;

describe('coord store under an Authenticate flood', () => {
  const dir = makeTempDir('coord-auth-flood-');
  const clients: RawClient[] = [];
  after(async () => {
    for (const c of clients) c.close();
    await stopAllStoreProcesses();
    removeTempDir(dir);
  });
  const client = (endpoint: string) => {
    const c = new RawClient(endpoint);
    clients.push(c);
    return c;
  };

  it('puts all succeed, logins stay correct, and the flooding peer is told "too many requests"', async () => {
    const store = await startStoreProcess(['--data-dir', dir, '--listen', '[::]:0']);
    const v4 = `127.0.0.1:${store.port}`;
    const v6 = `[::1]:${store.port}`;
    await setUpAuth(v6, { user: 'app', password: 'apppw', prefix: 'app/' });
    const writer = client(v6);
    writer.token = ((await writer.authCall('Authenticate', { name: 'app', password: 'apppw' })) as { token: string }).token;

    const flood = client(v4);
    const answers = new Map<string, number>();
    let flooding = true;
    const flooder = async (w: number) => {
      for (let i = 0; flooding; i++) {
        // Unknown users and wrong passwords alike: both cost a full hash.
        const req = (w + i) % 2 === 0 ? { name: `nobody-${w}`, password: 'x' } : { name: 'app', password: `wrong-${i}` };
        const e = await callError(flood.authCall('Authenticate', req));
        const key = JSON.stringify(e);
        answers.set(key, (answers.get(key) ?? 0) + 1);
      }
    };
    const flooders = Array.from({ length: FLOODERS }, (_, w) => flooder(w));
    try {
      for (let i = 0; i < PUTS; i++) await writer.put({ key: `app/${i}`, value: `v${i}` });
      const login = client(v6);
      const res = (await login.authCall('Authenticate', { name: 'app', password: 'apppw' })) as { token: string };
      login.token = res.token;
      assert.equal((await login.range({ key: 'app/', range_end: 'app0' })).count, String(PUTS), 'a token from during the flood works');
      assert.deepEqual(await callError(client(v6).authCall('Authenticate', { name: 'app', password: 'wrong' })), AUTH_FAILED);
      assert.deepEqual(await callError(client(v6).authCall('Authenticate', { name: 'root', password: 'apppw' })), AUTH_FAILED);
      await store.waitForStderr(/^coord store: Authenticate flood: refused \d+ call\(s\) with "too many requests" \(latest from [^)]*127\.0\.0\.1:\d+\); hashing \d+, waiting \d+$/m);
    } finally {
      flooding = false;
      await Promise.all(flooders);
    }
    assert.deepEqual(new Set(answers.keys()), new Set([JSON.stringify(AUTH_FAILED), JSON.stringify(TOO_MANY)]), JSON.stringify([...answers]));
    assert.equal((await writer.range({ key: 'app/', range_end: 'app0' })).count, String(PUTS));
  });
});
