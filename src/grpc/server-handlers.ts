// A handler that throws, or returns a promise that rejects (any `async` handler with a bug),
// must cost one call, not the process: grpc-js catches synchronous throws only (as UNKNOWN, no
// log), and ignores returned promises, so a rejection is an unhandled rejection that kills Node.
// Each handler is wrapped to answer INTERNAL — without leaking the error text to the caller —
// and log one line. Interceptors cannot do this: they never see a handler's return value.
import { inspect } from 'node:util';
import * as grpc from '@grpc/grpc-js';

/** What the call objects of all four method kinds share (grpc-js does not export ServerSurfaceCall). */
type AnyCall = grpc.ServerUnaryCall<unknown, unknown>;
type StreamCall = AnyCall & { writableEnded: boolean; emit(event: 'error', error: Partial<grpc.StatusObject>): boolean };
type Handler = (call: AnyCall, callback?: grpc.sendUnaryData<unknown>) => unknown;

const INTERNAL: Partial<grpc.StatusObject> = { code: grpc.status.INTERNAL, details: 'internal error' };

/**
 * Wraps every handler of `impl` so a throw or rejection answers INTERNAL (when the call is still
 * open) and calls `onError` once. Keys are looked up as grpc-js's addService does (method name,
 * then the proto's original name); methods `impl` lacks stay absent (grpc-js answers UNIMPLEMENTED).
 */
export function guardHandlers(
  service: grpc.ServiceDefinition,
  impl: grpc.UntypedServiceImplementation,
  onError: (method: string, error: unknown) => void,
): grpc.UntypedServiceImplementation {
  const guarded: grpc.UntypedServiceImplementation = {};
  for (const [name, method] of Object.entries(service)) {
    const handler = (impl[name] ?? (typeof method.originalName === 'string' ? impl[method.originalName] : undefined)) as Handler | undefined;
    if (typeof handler !== 'function') continue;
    const wrapped: Handler = method.responseStream ? guardStreaming(handler, impl, method.path, onError) : guardUnary(handler, impl, method.path, onError);
    guarded[name] = wrapped as grpc.UntypedHandleCall;
  }
  return guarded;
}

/** Unary and client-streaming: answered through a callback. */
function guardUnary(handler: Handler, self: unknown, path: string, onError: (method: string, error: unknown) => void): Handler {
  return (call, callback) => {
    let answered = false;
    const once: grpc.sendUnaryData<unknown> = (...args) => {
      if (answered) return;
      answered = true;
      callback!(...args);
    };
    const fail = (error: unknown) => {
      onError(path, error);
      if (!answered && !call.cancelled) once(INTERNAL);
    };
    run(() => handler.call(self, call, once), fail);
  };
}

/** Server-streaming and bidi: answered by ending the stream; an 'error' event makes grpc-js send it as the status. */
function guardStreaming(handler: Handler, self: unknown, path: string, onError: (method: string, error: unknown) => void): Handler {
  return (call) => {
    const fail = (error: unknown) => {
      onError(path, error);
      const stream = call as StreamCall;
      if (!stream.writableEnded && !stream.cancelled) stream.emit('error', INTERNAL);
    };
    run(() => handler.call(self, call), fail);
  };
}

function run(body: () => unknown, fail: (error: unknown) => void): void {
  let result: unknown;
  try {
    result = body();
  } catch (error) {
    fail(error);
    return;
  }
  if (result !== null && typeof result === 'object' && typeof (result as PromiseLike<unknown>).then === 'function') {
    (result as PromiseLike<unknown>).then(undefined, fail);
  }
}

/** One line for a log: the error's message and where it was thrown. */
export function describeError(error: unknown): string {
  if (!(error instanceof Error)) return `non-error thrown: ${inspect(error, { breakLength: Infinity, depth: 2 })}`;
  const frame = error.stack?.split('\n').find((l) => l.trimStart().startsWith('at '))?.trim();
  return frame ? `${error.name}: ${error.message} (${frame})` : `${error.name}: ${error.message}`;
}
