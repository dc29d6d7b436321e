import type * as grpc from '@grpc/grpc-js';

/**
 * Ends a bidi stream we no longer need by half-closing it, so the server finishes it normally;
 * cancelling instead sends an HTTP/2 RST_STREAM, and servers rate-limit resets (Node's http2, and
 * so coord store, drops the whole connection after a burst of them). The cancel after a grace
 * period only matters if the server never finishes; on a finished call it is a no-op.
 */
export function closeStream(s: grpc.ClientDuplexStream<unknown, unknown>): void {
  s.on('error', () => {});
  s.end();
  setTimeout(() => s.cancel(), 2000).unref();
}
