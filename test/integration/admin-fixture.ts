// Shared by the admin API and dashboard tests: the servers the admin API runs against, an HTTP
// client that returns status + JSON, and a reader for the API's Server-Sent Events streams.
import { request } from 'node:http';
import { startStore } from '../../src/store/index.ts';
import { requireEtcd, startEtcd } from '../helpers/etcd-process.ts';

export interface Server {
  endpoint: string;
  stop(): Promise<void>;
}

/** coord store in-process, and a real etcd (skipped only off CI when no etcd is installed). */
export const servers: { name: string; skip: string | undefined; start(): Promise<Server> }[] = [
  {
    name: 'coord store',
    skip: undefined,
    async start() {
      const store = await startStore({ listen: '127.0.0.1:0' });
      return { endpoint: store.endpoint, stop: () => store.close() };
    },
  },
  {
    name: 'etcd',
    skip: requireEtcd(),
    async start() {
      const etcd = await startEtcd();
      return { endpoint: etcd.endpoint, stop: () => etcd.stop() };
    },
  },
];

export interface Reply<T = any> {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: T;
  text: string;
}

/**
 * One HTTP request with node:http (so that tests can also send the Host and Origin headers a
 * browser controls). A JSON `body` is sent as application/json; a string as given.
 */
export function http<T = any>(base: string, method: string, path: string, options: { body?: unknown; headers?: Record<string, string> } = {}): Promise<Reply<T>> {
  const url = new URL(path, base);
  const headers: Record<string, string> = { ...options.headers };
  let payload: string | undefined;
  if (options.body !== undefined) {
    payload = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
    headers['content-type'] ??= 'application/json';
  }
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => {
        let body: unknown;
        try {
          body = text ? JSON.parse(text) : undefined;
        } catch {
          body = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: body as T, text });
      });
    });
    req.setTimeout(30_000, () => req.destroy(new Error(`${method} ${path}: no answer in 30 s`)));
    req.on('error', reject);
    req.end(payload);
  });
}

export interface SseEvent {
  event: string;
  data: any;
}

/** An open SSE stream: every event received so far, and a wait for one matching a predicate. */
export interface SseReader {
  readonly status: number;
  readonly events: SseEvent[];
  next(match: (e: SseEvent) => boolean, timeoutMs?: number, what?: string): Promise<SseEvent>;
  close(): void;
}

export async function openSse(base: string, path: string, headers: Record<string, string> = {}): Promise<SseReader> {
  const ac = new AbortController();
  const res = await fetch(new URL(path, base), { headers: { accept: 'text/event-stream', ...headers }, signal: ac.signal });
  const events: SseEvent[] = [];
  const waiters = new Set<() => void>();
  if (res.ok && res.body) {
    void (async () => {
      const decoder = new TextDecoder();
      let buf = '';
      try {
        for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
          buf += decoder.decode(chunk, { stream: true });
          let end: number;
          while ((end = buf.indexOf('\n\n')) >= 0) {
            const block = buf.slice(0, end);
            buf = buf.slice(end + 2);
            const event = /^event: (.*)$/m.exec(block)?.[1];
            const data = /^data: (.*)$/m.exec(block)?.[1];
            if (event && data !== undefined) events.push({ event, data: JSON.parse(data) });
          }
          for (const w of waiters) w();
        }
      } catch {
        // closed by the test or the server
      }
    })();
  }
  return {
    status: res.status,
    events,
    async next(match, timeoutMs = 30_000, what = 'an SSE event') {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = events.find(match);
        if (found) return found;
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; got ${JSON.stringify(events).slice(0, 2000)}`);
        await new Promise<void>((r) => {
          const t = setTimeout(done, Math.min(left, 500));
          function done() {
            clearTimeout(t);
            waiters.delete(done);
            r();
          }
          waiters.add(done);
        });
      }
    },
    close: () => ac.abort(),
  };
}

/** Polls `check` until it returns a value (not undefined/false/null); fails naming `what` after `ms`. */
export async function waitFor<T>(check: () => T | undefined | null | false | Promise<T | undefined | null | false>, ms = 30_000, what = 'a condition'): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v !== undefined && v !== null && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
