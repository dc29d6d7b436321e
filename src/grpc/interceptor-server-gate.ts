// The shape shared by coord's admission interceptors (rate limit, load shedding, call tracking): a
// decision when the call's metadata arrives — before any handler code — and a report when an
// admitted call ends. A refused call is answered right there and its later messages never reach
// the handler.
//
// grpc-js runs interceptor functions for every call up front, in array order, so deciding in the
// interceptor function itself would let a later interceptor admit (and count) a call that an
// earlier one refuses. Decisions are made in onReceiveMetadata instead, which flows through the
// interceptors in order and stops at the first that does not pass it on.
import * as grpc from '@grpc/grpc-js';

/** A status to answer with; grpc-js's PartialStatusObject, which it does not export. */
export interface CallStatus {
  code: grpc.status;
  details: string;
  metadata?: grpc.Metadata | null;
}

export type MethodDefinition = grpc.ServerMethodDefinition<unknown, unknown>;

export interface Gate {
  /** The call's metadata arrived: a status refuses the call, undefined lets it through. */
  admit(): CallStatus | undefined;
  /**
   * An admitted call ended, with the status code that passed this interceptor, or CANCELLED when
   * it ended without one passing (cancelled by the client, or ended by grpc-js's own deadline
   * timer, which answers below every interceptor). Called at most once.
   */
  end?(code: grpc.status): void;
}

/**
 * An interceptor that consults `gateFor(method, call)` for each call; undefined lets the call
 * through untouched, without a wrapper layer.
 */
export function gateInterceptor(gateFor: (method: MethodDefinition, call: grpc.ServerInterceptingCallInterface) => Gate | undefined): grpc.ServerInterceptor {
  return (method, call) => {
    const gate = gateFor(method, call);
    // grpc-js types the result as its class but only drives the interface, which `call` is.
    if (!gate) return call as grpc.ServerInterceptingCall;
    let admitted = false;
    let ended = false;
    const end = (code: grpc.status) => {
      if (!admitted || ended) return;
      ended = true;
      gate.end?.(code);
    };
    return new grpc.ServerInterceptingCall(call, {
      start(next) {
        next({
          onReceiveMetadata(metadata, nextMetadata) {
            const refusal = gate.admit();
            if (refusal) {
              call.sendStatus(refusal);
              return;
            }
            admitted = true;
            nextMetadata(metadata);
          },
          // grpc-js notifies cancel after every call's end, answered or not; `end` runs once.
          onCancel: () => end(grpc.status.CANCELLED),
        });
      },
      sendStatus(status, nextStatus) {
        end(status.code);
        nextStatus(status);
      },
    });
  };
}

const INFRA_PREFIXES = ['/grpc.health.v1.Health/', '/grpc.reflection.v1.ServerReflection/', '/grpc.reflection.v1alpha.ServerReflection/'];

/** Health and reflection: answered always, never shed, limited or counted as application work. */
export function isInfraMethod(path: string): boolean {
  return INFRA_PREFIXES.some((p) => path.startsWith(p));
}
