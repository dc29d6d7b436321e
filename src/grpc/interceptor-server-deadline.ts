// Refuses a call whose deadline has already passed when its handler would start, without running
// the handler: under load, requests wait in socket buffers and behind other handlers on the event
// loop, and work on a request whose caller has given up is pure waste that delays the rest.
// grpc-js ends such calls with its own timer too, but only once the timers phase comes round —
// after every handler that the same event-loop turn starts.
import * as grpc from '@grpc/grpc-js';
import { deadlineMs } from '../resilience/deadline.ts';
import type { ServerCounters } from './server-stats.ts';

export function deadlineInterceptor(counters: ServerCounters): grpc.ServerInterceptor {
  return (method, call) => {
    const at = deadlineMs(call.getDeadline());
    // No deadline: no wrapper layer. grpc-js types the result as its class but only drives the
    // interface, which `call` is (as gateInterceptor does for calls it lets through untouched).
    if (at === Infinity) return call as grpc.ServerInterceptingCall;
    const refuseIfExpired = (): boolean => {
      if (Date.now() < at) return false;
      counters.rejected(method.path, 'deadline');
      call.sendStatus({ code: grpc.status.DEADLINE_EXCEEDED, details: 'deadline exceeded before the handler started' });
      return true;
    };
    return new grpc.ServerInterceptingCall(call, {
      start(next) {
        next({
          onReceiveMetadata(metadata, nextMetadata) {
            if (!refuseIfExpired()) nextMetadata(metadata);
          },
          // Unary and server-streaming handlers start at half-close, once the request is in.
          onReceiveHalfClose(nextHalfClose) {
            if (method.requestStream || !refuseIfExpired()) nextHalfClose();
          },
        });
      },
    });
  };
}
