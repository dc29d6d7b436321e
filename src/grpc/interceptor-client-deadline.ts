// Deadline and cancellation propagation: a client call made while a server handler runs (inside
// bindCallContext) gets at most the incoming call's remaining time, fails at once when none is
// left, and is cancelled when the incoming call ends — what Go gets from passing `ctx` along.
import * as grpc from '@grpc/grpc-js';
import { deadlineMs, propagatedDeadline } from '../resilience/deadline.ts';
import { currentCallContext } from './call-context.ts';
import { locallyFailedCall, observedCall } from './interceptor-client-local.ts';

/** Options for `deadlinePropagationInterceptor()`; defaults in each field's doc. */
export interface DeadlinePropagationOptions {
  /**
   * Time kept back from the incoming deadline, ms: the outgoing call's deadline is the incoming
   * one minus this, so a slow downstream comes back as DEADLINE_EXCEEDED with time left to answer
   * the upstream caller. Default 5.
   */
  marginMs?: number;
  /** Cancel outgoing calls when the incoming call ends (cancelled, past its deadline, or answered). Default true. */
  propagateCancellation?: boolean;
}

/** A client interceptor that gives calls made inside a server handler at most the incoming call's remaining time, and cancels them when the incoming call ends. */
export function deadlinePropagationInterceptor(options: DeadlinePropagationOptions = {}): grpc.Interceptor {
  const { marginMs, propagateCancellation } = { marginMs: 5, propagateCancellation: true, ...options };
  return (callOptions, nextCall) => {
    const context = currentCallContext();
    // Nothing to propagate: hand grpc-js the next call itself rather than a pass-through wrapper
    // (every InterceptingCall layer costs a few µs per call). The next call implements the same
    // interface grpc-js drives; grpc-js's own chain treats both alike.
    if (!context) return nextCall(callOptions) as grpc.InterceptingCall;
    const path = callOptions.method_definition.path;
    const own = deadlineMs(callOptions.deadline);
    const budget = propagatedDeadline(own, context.deadline, marginMs, Date.now());
    if (!budget.ok) {
      return locallyFailedCall(
        grpc.status.DEADLINE_EXCEEDED,
        `${path} not sent: the incoming call ${context.method} has ${Math.max(0, budget.remainingMs)} ms left, within the ${marginMs} ms propagation margin`,
      );
    }
    const outgoing = budget.deadline === own ? callOptions : { ...callOptions, deadline: budget.deadline };
    if (!propagateCancellation) return new grpc.InterceptingCall(nextCall(outgoing));
    const signal = context.signal;
    if (signal.aborted) return locallyFailedCall(
        grpc.status.CANCELLED,
        `${path} not sent: the incoming call ${context.method} has ended (work that outlives a call belongs in detachCallContext())`,
      );
    const next = nextCall(outgoing);
    const cancel = () => next.cancelWithStatus(grpc.status.CANCELLED, `the incoming call ${context.method} ended`);
    signal.addEventListener('abort', cancel, { once: true });
    return observedCall(next, () => signal.removeEventListener('abort', cancel));
  };
}
