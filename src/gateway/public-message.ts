// What an HTTP client may read of a failed gRPC call. grpc-js writes its own messages for failures
// it sees on the client side (deadlines, lost connections, RST_STREAM, oversized messages, name
// resolution) and they name backend addresses, peers and LB internals, e.g. "Deadline exceeded
// after 0.002s,remote_addr=127.0.0.1:34527". Those are replaced by a plain sentence for their code.
// A service's own message ("at most 2 items per order") is what the service chose to say and is
// kept, but any address or stack trace in it is cut out. The gateway logs the original with the
// request id, so nothing is lost for the operator.
import * as grpc from '@grpc/grpc-js';

/** Messages grpc-js makes itself (client-side failures), not ones a service sent. */
const GRPC_JS_MESSAGES = [
  /^Deadline exceeded/,
  /^No connection established/,
  /^Connection dropped/,
  /^Received RST_STREAM/,
  /^Received message larger than max/,
  /^Sent message larger than max/,
  /^Call cancelled/,
  /^Cancelled on client/,
  /^Failed to parse server response/,
  /^Response message parsing error/,
  /^Request message serialization failure/,
  /^Stream refused by server/,
  /^Protocol error/,
  /^Name resolution failed/,
  /^Failed to start call/,
  /^Call ended without/,
  /^Server sent (an? )?/,
  /^Channel has been shut down/,
  /^Waiting for LB pick/,
  /^read (ECONNRESET|EPIPE)/,
  /^(connect|write) E[A-Z]+/,
  /^Received a (message|response)/,
  /^Unexpected/,
  /^\d+ [A-Z_]+: /,
];

const GENERIC: Partial<Record<grpc.status, string>> = {
  [grpc.status.CANCELLED]: 'the call was cancelled',
  [grpc.status.UNKNOWN]: 'the service failed',
  [grpc.status.DEADLINE_EXCEEDED]: 'the service did not answer in time',
  [grpc.status.RESOURCE_EXHAUSTED]: 'the request or response is too large, or the service is out of capacity',
  [grpc.status.INTERNAL]: 'the service failed',
  [grpc.status.UNAVAILABLE]: 'the service is unavailable',
  [grpc.status.DATA_LOSS]: 'the service failed',
};

const ADDRESS = /\b(?:\d{1,3}\.){3}\d{1,3}(?::\d+)?\b|\[[0-9a-fA-F:.]*:[0-9a-fA-F:.]*\](?::\d+)?|\b(?:ipv4|ipv6|unix|dns):[^\s,;)]+|remote_addr=[^\s,;)]*/g;
const STACK_FRAME = /\n\s+at .*/s;

/** The message to show an HTTP client for a failed call. */
export function publicMessage(code: grpc.status, message: string): string {
  if (GRPC_JS_MESSAGES.some((re) => re.test(message))) return GENERIC[code] ?? 'the service failed';
  return message.replace(STACK_FRAME, '').replace(ADDRESS, '<address>');
}
