import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { FaultProxy } from './fault-proxy.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A client socket that records what it receives and how it ended. */
interface Peer {
  socket: Socket;
  received(): string;
  /** Resolves with the error code the socket closed with ('' for a clean close). */
  closed: Promise<string>;
}

async function dial(endpoint: string): Promise<Peer> {
  const [host, port] = endpoint.split(':');
  const socket = createConnection({ host, port: Number(port) });
  let data = '';
  let error = '';
  socket.on('data', (c: Buffer) => (data += c.toString()));
  socket.on('error', (e: NodeJS.ErrnoException) => (error = e.code ?? e.message));
  const closed = new Promise<string>((resolve) => socket.once('close', () => resolve(error)));
  await once(socket, 'connect');
  return { socket, received: () => data, closed };
}

async function waitFor(check: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(5);
  }
}

describe('fault proxy', () => {
  let echo: Server;
  let echoEndpoint = '';
  let bytesAtServer = 0;
  const proxies: FaultProxy[] = [];
  const peers: Peer[] = [];
  const start = async () => {
    const p = await FaultProxy.start(echoEndpoint);
    proxies.push(p);
    return p;
  };
  const open = async (p: FaultProxy) => {
    const peer = await dial(p.endpoint);
    peers.push(peer);
    return peer;
  };

  before(async () => {
    echo = createServer((s) => {
      s.on('error', () => {});
      s.on('data', (c: Buffer) => {
        bytesAtServer += c.length;
        s.write(c);
      });
    });
    await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
    echoEndpoint = `127.0.0.1:${(echo.address() as { port: number }).port}`;
  });
  after(async () => {
    for (const p of peers) p.socket.destroy();
    await Promise.all(proxies.map((p) => p.close()));
    await new Promise((r) => echo.close(r));
  });

  it('passes bytes both ways on its own port', async () => {
    const p = await start();
    assert.notEqual(p.endpoint, echoEndpoint);
    const c = await open(p);
    c.socket.write('hello');
    await waitFor(() => c.received() === 'hello', 2000, 'echo');
    assert.equal(p.connections, 1);
  });

  it('delay(ms) adds latency each way and keeps order, also when the delay changes mid-stream', async () => {
    const p = await start();
    const c = await open(p);
    p.delay(150);
    const t0 = performance.now();
    c.socket.write('x');
    await waitFor(() => c.received() === 'x', 2000, 'delayed echo');
    const rtt = performance.now() - t0;
    assert.ok(rtt >= 295, `round trip ${rtt.toFixed(0)} ms should be >= 2 × 150 ms`);

    const expected = Array.from({ length: 40 }, (_, i) => `<${i}>`).join('');
    for (let i = 0; i < 40; i++) {
      if (i === 20) p.delay(0); // later chunks must not overtake the ones still queued
      c.socket.write(`<${i}>`);
      await sleep(2);
    }
    await waitFor(() => c.received().length === 1 + expected.length, 3000, 'all chunks');
    assert.equal(c.received(), `x${expected}`);
  });

  it('blackhole drops bytes silently; lifting it resets only connections that lost bytes', async () => {
    const p = await start();
    const idle = await open(p);
    const busy = await open(p);
    busy.socket.write('before');
    await waitFor(() => busy.received() === 'before', 2000, 'echo before');
    const serverBytes = bytesAtServer;

    p.blackhole();
    busy.socket.write('lost');
    const late = await open(p); // accepted, then swallowed
    late.socket.write('also lost');
    let ended = false;
    busy.socket.once('close', () => (ended = true));
    await sleep(300);
    assert.equal(busy.received(), 'before');
    assert.equal(late.received(), '');
    assert.equal(bytesAtServer, serverBytes, 'nothing reached the server');
    assert.equal(ended, false, 'no error, no close: the connection just goes quiet');

    p.pass();
    assert.equal(await busy.closed, 'ECONNRESET');
    assert.equal(await late.closed, 'ECONNRESET');
    idle.socket.write('still fine');
    await waitFor(() => idle.received() === 'still fine', 2000, 'untouched connection carries on');
    const fresh = await open(p);
    fresh.socket.write('new');
    await waitFor(() => fresh.received() === 'new', 2000, 'new connection');
  });

  it('reset tears down open connections with RST and resets new ones until lifted', async () => {
    const p = await start();
    const c = await open(p);
    c.socket.write('a');
    await waitFor(() => c.received() === 'a', 2000, 'echo');
    p.reset();
    assert.equal(await c.closed, 'ECONNRESET');
    // The RST may come before or after the client saw its connect complete.
    const refused = await open(p).then((peer) => peer.closed, (e: NodeJS.ErrnoException) => e.code);
    assert.equal(refused, 'ECONNRESET');
    assert.equal(p.connections, 0);
    p.pass();
    const again = await open(p);
    again.socket.write('b');
    await waitFor(() => again.received() === 'b', 2000, 'echo after reset');
  });

  it('close() resets every connection and stops listening', async () => {
    const p = await FaultProxy.start(echoEndpoint);
    const c = await open(p);
    await p.close();
    assert.equal(await c.closed, 'ECONNRESET');
    await assert.rejects(dial(p.endpoint), (e: NodeJS.ErrnoException) => e.code === 'ECONNREFUSED');
  });
});
