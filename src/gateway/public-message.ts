// What an HTTP client may read of a failed gRPC call's message. The rule is an allow-list: a
// service's message is shown only when it reads as a plain sentence meant for users ("at most 2
// items per order"); anything else becomes the plain sentence for its status code. Not plain:
// several lines or control characters (stack traces, Go panics), anything shaped like an address
// or a name of the machinery (host:port, IPv6 with or without brackets, dotted host and file
// names, paths, URLs, key=value, user@host, 0x…, errno names), code punctuation ({} <> [] \ ` $),
// exception and panic words, and over-long text. grpc-js's own messages for client-side failures
// ("Deadline exceeded after 0.002s,remote_addr=…") and the server-fault codes (UNKNOWN, INTERNAL,
// DATA_LOSS: an unhandled error's text, never a sentence for users) always get the code's
// sentence. The gateway logs the original with the request id, so nothing is lost for operators.
import * as grpc from '@grpc/grpc-js';

/** The sentence shown for a code when the service's own message is not shown. */
const GENERIC: Record<grpc.status, string> = {
  [grpc.status.OK]: 'ok',
  [grpc.status.CANCELLED]: 'the call was cancelled',
  [grpc.status.UNKNOWN]: 'the service failed',
  [grpc.status.INVALID_ARGUMENT]: 'the request is not valid',
  [grpc.status.DEADLINE_EXCEEDED]: 'the service did not answer in time',
  [grpc.status.NOT_FOUND]: 'not found',
  [grpc.status.ALREADY_EXISTS]: 'already exists',
  [grpc.status.PERMISSION_DENIED]: 'permission denied',
  [grpc.status.RESOURCE_EXHAUSTED]: 'the request or response is too large, or the service is out of capacity',
  [grpc.status.FAILED_PRECONDITION]: 'the request cannot be carried out in the current state',
  [grpc.status.ABORTED]: 'the request was aborted by a conflict; retry it',
  [grpc.status.OUT_OF_RANGE]: 'a value is out of range',
  [grpc.status.UNIMPLEMENTED]: 'not implemented',
  [grpc.status.INTERNAL]: 'the service failed',
  [grpc.status.UNAVAILABLE]: 'the service is unavailable',
  [grpc.status.DATA_LOSS]: 'the service failed',
  [grpc.status.UNAUTHENTICATED]: 'authentication is required',
};

/** Codes whose message is an unhandled error's text (grpc-go turns a plain `error` into UNKNOWN), never shown. */
const SERVER_FAULT = new Set([grpc.status.UNKNOWN, grpc.status.INTERNAL, grpc.status.DATA_LOSS]);

/** Messages grpc-js makes itself (client-side failures), not ones a service sent. */
const GRPC_JS_MESSAGES = /^(?:Deadline exceeded|No connection established|Connection dropped|Received RST_STREAM|Received message larger than max|Sent message larger than max|Call cancelled|Cancelled on client|Failed to parse server response|Response message parsing error|Request message serialization failure|Stream refused by server|Protocol error|Name resolution failed|Failed to start call|Call ended without|Server sent|Channel has been shut down|Waiting for LB pick|read (?:ECONNRESET|EPIPE)|(?:connect|write) E[A-Z]+|Received a (?:message|response)|Unexpected|\d+ [A-Z_]+: )/;

const MAX_LENGTH = 300;

const NOT_PLAIN: readonly RegExp[] = [
  /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/, // several lines, tabs, control characters
  /[{}<>[\]\\`$|]/, // code, dumps, bracketed IPv6, Windows paths
  /\S:\S|::/, // host:port, IPv6, URLs, file:line, key:value (not a scope: books:write)
  /\S@\S/, // user@host
  /\w=/, // key=value
  /(?:^|[\s("'])(?:~|\.{1,2})?\//, // a path: /srv/…, ./x, ../x, ~/x
  /\b0x[0-9a-f]+/i, // pointers, offsets
  /\bE[A-Z]{3,}\b/, // errno names: ECONNREFUSED, ENOENT
  /\b(?:panic|goroutine|traceback|stacktrace|stack trace|segmentation fault|SIGSEGV|SIGABRT|nil pointer|null pointer|runtime error|localhost|exception)\b/i,
  /\b[A-Z][A-Za-z]*(?:Error|Exception)\b/, // TypeError, NullPointerException
];

// A dotted word: a host name (orders-db.prod.internal), a file (main.go), a package
// (orders.v1.Orders), an IPv4 address. Decimals (1.5) and abbreviations (e.g.) are words.
const DOTTED = /[\w-]+(?:\.[\w-]+)+/g;
const DOTTED_WORD = /^(?:\d+\.\d+|[A-Za-z](?:\.[A-Za-z])+)$/;
// A scope or similar name of letters on both sides of one colon (books:write) is a word.
const SCOPE = /(?<![\w:.\/-])[A-Za-z][A-Za-z_-]*:[A-Za-z][A-Za-z_-]*(?![\w:.\/-])/g;

/** Whether `message` reads as a plain sentence for users (see the file comment). */
export function isPlainSentence(message: string): boolean {
  if (message.length === 0 || message.length > MAX_LENGTH || !/\p{L}/u.test(message)) return false;
  if (NOT_PLAIN.some((re) => re.test(message.replace(SCOPE, 'scope')))) return false;
  for (const [token] of message.matchAll(DOTTED)) if (!DOTTED_WORD.test(token)) return false;
  return true;
}

/** The plain sentence for a code, shown when the service's message is not. */
export function genericMessage(code: grpc.status): string {
  return GENERIC[code] ?? 'the service failed';
}

/** The message to show an HTTP client for a failed call. */
export function publicMessage(code: grpc.status, message: string): string {
  if (SERVER_FAULT.has(code) || GRPC_JS_MESSAGES.test(message) || !isPlainSentence(message)) return genericMessage(code);
  return message;
}
