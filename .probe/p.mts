import * as grpc from '@grpc/grpc-js';
import { createServer } from 'node:net';
import { startStoreProcess, runStoreToExit, makeTempDir, stopAllStoreProcesses } from '/work/main/test/helpers/store-process.ts';
import { RawClient, callError } from '/work/main/test/helpers/raw-client.ts';
const dir = makeTempDir('probe-');
let t = Date.now();
const s = await startStoreProcess(['--data-dir', dir + '/d', '--listen', '127.0.0.1:0']);
console.log('startup ms', Date.now() - t, s.endpoint);
const c = new RawClient(s.endpoint);
t = Date.now(); let n = 0;
await Promise.all(Array.from({ length: 8 }, async (_, w) => { while (Date.now() - t < 1000) { await c.put({ key: `w${w}/${n++}`, value: 'x' }); } }));
console.log('puts/s', n);
const g = new grpc.Client(s.endpoint, grpc.credentials.createInsecure());
const id = (b: Buffer) => b;
for (const garbage of [Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff]), Buffer.from('hello garbage'), Buffer.from([0x0a, 0x80])]) {
  const r = await new Promise((res) => g.makeUnaryRequest('/etcdserverpb.KV/Put', id, id, garbage, { deadline: Date.now() + 5000 }, (err, v) => res(err ? { code: err.code, details: err.details } : { ok: v })));
  console.log('garbage', r);
}
console.log(await callError(c.put({ key: 'big', value: Buffer.alloc(1.5 * 1024 * 1024 + 1024) })));
console.log(await callError(c.put({ key: 'big', value: Buffer.alloc(2 * 1024 * 1024 + 1024) })));
console.log(await c.revision());
const srv = createServer(); await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
const port = (srv.address() as { port: number }).port;
console.log(await runStoreToExit(['--data-dir', dir + '/e', '--listen', `127.0.0.1:${port}`]));
console.log(await runStoreToExit(['--memory', '--listen', `127.0.0.1:${port}`]));
srv.close();
c.close(); g.close();
await stopAllStoreProcesses();
