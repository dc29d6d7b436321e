import type * as grpc from '@grpc/grpc-js';
import http2 from 'node:http2';

/**
 * The HTTP/2 sessions of a grpc-js server, which grpc-js does not expose: it creates its Node
 * http2 servers in the private `createHttp2Server`, wrapped here per instance so every server it
 * makes reports its sessions. Two things need them:
 *
 * - **A forced stop that closes everything.** grpc-js 1.14's `forceShutdown()` destroys only the
 *   sessions channelz tracks, and the store turns channelz off (it costs ~5% of a put): without
 *   this, one client holding a Watch or LeaseKeepAlive stream kept the store from exiting.
 * - **A client's GOAWAY does not refuse its streams.** Node's http2 answers a peer's NO_ERROR
 *   GOAWAY with `session.close()`, after which it refuses (RST_STREAM REFUSED_STREAM) every stream
 *   whose HEADERS arrive later. A grpc-js client closing its channel while a call starts sends its
 *   GOAWAY ahead of that call's HEADERS (nghttp2 queues new streams behind other frames), so the
 *   call was refused and grpc-js retried it onto the closed channel: `14 UNAVAILABLE`. Here a
 *   client's GOAWAY closes nothing: every stream the client opens is served, and the session
 *   ends when the client closes the connection, as grpc-go's transport (etcd's plaintext
 *   listener) does. Go's net/http2 (etcd's TLS listener) refuses those streams too.
 */
export class GrpcSessions {
  readonly sessions = new Set<http2.ServerHttp2Session>();

  constructor(server: grpc.Server) {
    const target = server as unknown as { createHttp2Server?: (creds: unknown) => http2.Http2Server };
    const create = target.createHttp2Server;
    if (typeof create !== 'function') throw new Error('coord store: this @grpc/grpc-js has no createHttp2Server(); the store needs grpc-js 1.14.x');
    target.createHttp2Server = (creds: unknown) => {
      const h2 = create.call(server, creds);
      h2.on('session', (session: http2.ServerHttp2Session) => this.track(session));
      return h2;
    };
  }

  /** Destroys every open session (their streams end with CANCEL): the end of a forced stop. */
  destroyAll(): void {
    for (const s of this.sessions) s.destroy();
    this.sessions.clear();
  }

  private track(session: http2.ServerHttp2Session): void {
    this.sessions.add(session);
    session.once('close', () => this.sessions.delete(session));
    // Node calls session.close() right after emitting 'goaway' for a NO_ERROR GOAWAY from the
    // peer; only that call is skipped (the flag lives for that synchronous step only).
    let peerGoaway = false;
    const close = session.close.bind(session);
    session.close = ((callback?: () => void) => {
      if (peerGoaway) {
        peerGoaway = false;
        return;
      }
      close(callback);
    }) as typeof session.close;
    session.on('goaway', (code: number) => {
      if (code !== http2.constants.NGHTTP2_NO_ERROR) return; // Node destroys the session: the peer failed
      peerGoaway = true;
      queueMicrotask(() => (peerGoaway = false));
    });
  }
}
