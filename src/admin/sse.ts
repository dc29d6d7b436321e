import type { FastifyReply, FastifyRequest } from 'fastify';

export interface SseStream {
  send(event: string, data: unknown): void;
  /** Resolves when the client went away (or close() was called). */
  readonly closed: Promise<void>;
  close(): void;
}

/** A comment line this often keeps proxies and idle-timeouts from closing a quiet stream. */
const HEARTBEAT_MS = 15_000;

/**
 * Turns a request into a Server-Sent Events stream. The dashboard reads it with fetch (not
 * EventSource) so that it can send the Authorization header.
 */
export function openSse(req: FastifyRequest, reply: FastifyReply, onClose: Set<() => void>): SseStream {
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store',
    connection: 'keep-alive',
    // Tell nginx-style proxies not to buffer the stream.
    'x-accel-buffering': 'no',
  });
  res.write(': coord admin\n\n');
  let done = false;
  let resolveClosed!: () => void;
  const closed = new Promise<void>((r) => (resolveClosed = r));
  const heartbeat = setInterval(() => res.write(': keepalive\n\n'), HEARTBEAT_MS);
  heartbeat.unref();
  const finish = () => {
    if (done) return;
    done = true;
    clearInterval(heartbeat);
    onClose.delete(close);
    resolveClosed();
  };
  const close = () => {
    finish();
    res.end();
  };
  onClose.add(close);
  req.raw.on('close', finish);
  res.on('close', finish);
  return {
    send(event, data) {
      if (done) return;
      res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    },
    closed,
    close,
  };
}
