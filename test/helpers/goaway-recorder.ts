// Records, for every HTTP/2 client session this process opens (grpc-js opens them with
// http2.connect), whether the client itself started closing it (close/goaway/destroy) and every
// GOAWAY frame it received. A GOAWAY that arrives on a session the client had not started closing
// is "unprovoked": the server decided to drop a client that did nothing. An HTTP/2 server may
// answer a client's own GOAWAY with one of its own (Node's http2 does; so does etcd over TLS,
// served by Go's net/http2), which is "provoked" and harmless: no channel uses that session any more.
import http2 from 'node:http2';

export interface RecordedSession {
  readonly id: number;
  /** When the client called close()/goaway()/destroy() on it, as a sequence number; undefined while it has not. */
  closedByClientAt?: number;
  readonly goaways: { code: number; at: number; provoked: boolean }[];
}

export interface GoawayRecorder {
  readonly sessions: readonly RecordedSession[];
  /** Sessions opened after this call. */
  mark(): number;
  since(mark: number): RecordedSession[];
  unprovoked(): { session: number; code: number }[];
  provokedCount(): number;
  stop(): void;
}

export function recordGoaways(): GoawayRecorder {
  const sessions: RecordedSession[] = [];
  let seq = 0;
  const original = http2.connect;
  const patched = ((...args: Parameters<typeof http2.connect>) => {
    const session = original(...args);
    const rec: RecordedSession = { id: sessions.length, goaways: [] };
    sessions.push(rec);
    for (const method of ['close', 'goaway', 'destroy'] as const) {
      const fn = session[method].bind(session) as (...a: unknown[]) => unknown;
      (session as unknown as Record<string, unknown>)[method] = (...a: unknown[]) => {
        rec.closedByClientAt ??= ++seq;
        return fn(...a);
      };
    }
    // Seen through emit, not a listener: grpc-js calls removeAllListeners() on its session once
    // the settings arrive, which would take a listener added here with it.
    const emit = session.emit.bind(session) as (event: string | symbol, ...a: unknown[]) => boolean;
    session.emit = ((event: string | symbol, ...a: unknown[]) => {
      if (event === 'goaway') rec.goaways.push({ code: a[0] as number, at: ++seq, provoked: rec.closedByClientAt !== undefined });
      return emit(event, ...a);
    }) as typeof session.emit;
    return session;
  }) as typeof http2.connect;
  http2.connect = patched;
  return {
    sessions,
    mark: () => sessions.length,
    since: (mark) => sessions.slice(mark),
    unprovoked: () => sessions.flatMap((s) => s.goaways.filter((g) => !g.provoked).map((g) => ({ session: s.id, code: g.code }))),
    provokedCount: () => sessions.reduce((n, s) => n + s.goaways.filter((g) => g.provoked).length, 0),
    stop: () => {
      if (http2.connect === patched) http2.connect = original;
    },
  };
}
