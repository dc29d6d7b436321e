// The incoming call a server handler is working for, carried through its async work with
// AsyncLocalStorage, so client calls made while handling it inherit its deadline and cancellation
// (client-interceptor-deadline.ts) without the handler passing anything along.
import { AsyncLocalStorage } from 'node:async_hooks';
import { setMaxListeners } from 'node:events';
import type * as grpc from '@grpc/grpc-js';
import { CoordError } from '../core/errors.ts';
import { deadlineMs } from '../resilience/deadline.ts';

/** The incoming call a server handler is running for, as client calls made inside it see it (for deadline and cancellation propagation). */
export interface CallContext {
  /** The incoming call's full method path, `/package.Service/Method`. */
  readonly method: string;
  /** Its absolute deadline in ms on the `Date.now()` clock; `Infinity` when the caller set none. */
  readonly deadline: number;
  /** Its request metadata. */
  readonly metadata: grpc.Metadata;
  /**
   * Aborts when the incoming call ends: cancelled by the caller, past its deadline, or answered
   * (Go's `ctx` semantics). The reason is a CoordError('aborted') saying which. Work that must
   * outlive the call runs under `detachCallContext()`.
   */
  readonly signal: AbortSignal;
}

/** What the server call objects of all four method kinds share (grpc-js's ServerSurfaceCall, not exported from its index). */
type AnyServerCall = grpc.ServerUnaryCall<unknown, unknown>;
type Handler = (call: AnyServerCall, callback?: grpc.sendUnaryData<unknown>) => unknown;

const storage = new AsyncLocalStorage<CallContext>();

/** The context of the incoming call being handled, or undefined outside a bound handler. */
export function currentCallContext(): CallContext | undefined {
  return storage.getStore();
}

/** Runs `fn` outside any call context: for background work started by a handler that must not inherit its deadline or cancellation. */
export function detachCallContext<T>(fn: () => T): T {
  return storage.exit(fn);
}

/** Runs `fn` inside `context`: for tests, and for servers that are not grpc-js handlers (e.g. a gateway). */
export function runWithCallContext<T>(context: CallContext, fn: () => T): T {
  return storage.run(context, fn);
}

/**
 * Wraps every handler of `impl` (unary, client, server and bidi streaming) so it runs inside a
 * CallContext for its call. Keys are looked up as grpc-js's `addService` does (method name, then
 * the proto's original name); methods `impl` lacks stay absent so grpc-js answers UNIMPLEMENTED.
 */
export function bindCallContext(service: grpc.ServiceDefinition, impl: grpc.UntypedServiceImplementation): grpc.UntypedServiceImplementation {
  const bound: grpc.UntypedServiceImplementation = {};
  for (const [name, method] of Object.entries(service)) {
    const handler = (impl[name] ?? (typeof method.originalName === 'string' ? impl[method.originalName] : undefined)) as Handler | undefined;
    if (typeof handler !== 'function') continue;
    const wrapped: Handler = (call, callback) => {
      const context = new ServerCallContext(call);
      // EventEmitter listeners run in the context of whoever emits, which for a grpc-js stream is
      // the HTTP/2 session, not the handler: route the call's own events through the context so
      // `call.on('data', …)` in a streaming handler still sees it.
      const emit = call.emit;
      call.emit = (...args: Parameters<typeof emit>) => storage.run(context, () => emit.apply(call, args));
      // The handler's result passes through, for wrappers that watch returned promises.
      return storage.run(context, () => handler.call(impl, call, callback));
    };
    bound[name] = wrapped as grpc.UntypedHandleCall;
  }
  return bound;
}

class ServerCallContext implements CallContext {
  readonly method: string;
  readonly deadline: number;
  readonly metadata: grpc.Metadata;
  private controller: AbortController | undefined;

  constructor(private readonly call: AnyServerCall) {
    this.method = call.getPath();
    this.deadline = deadlineMs(call.getDeadline());
    this.metadata = call.metadata;
  }

  // Created on first use: most handlers never look at it, and an AbortController plus a listener
  // per call is not free on a hot path.
  get signal(): AbortSignal {
    if (this.controller) return this.controller.signal;
    const controller = (this.controller = new AbortController());
    // One listener per outgoing call in flight; a fan-out handler easily passes Node's 10.
    setMaxListeners(0, controller.signal);
    // grpc-js marks the call cancelled and emits 'cancelled' once it ends for any reason.
    if (this.call.cancelled) controller.abort(this.endReason());
    else this.call.once('cancelled', () => controller.abort(this.endReason()));
    return controller.signal;
  }

  private endReason(): CoordError {
    // grpc-js's own deadline timer ends the call, so past the deadline it is the likely cause;
    // a millisecond of slack covers timers and Date.now() disagreeing.
    if (Date.now() >= this.deadline - 1) return new CoordError('aborted', `incoming call ${this.method} deadline exceeded`);
    return new CoordError('aborted', `incoming call ${this.method} ended (cancelled by the caller or answered)`);
  }
}
