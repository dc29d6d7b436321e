// Ending a client call inside an interceptor, without creating the real call underneath: a grpc-js
// call that is created but never started still counts as active on its channel (and keeps it out
// of idle), so an interceptor that refuses a call must not ask `nextCall` for one.
import * as grpc from '@grpc/grpc-js';

type InterceptingCallInterface = ConstructorParameters<typeof grpc.InterceptingCall>[0];

/** A call that ends with `code`/`details` as soon as it is started, having sent nothing. */
export function locallyFailedCall(code: grpc.status, details: string): grpc.InterceptingCall {
  let status: grpc.StatusObject | undefined;
  let listener: Partial<grpc.InterceptingListener> | undefined;
  let reported = false;
  const report = () => {
    if (reported || !status || !listener) return;
    reported = true;
    const s = status;
    const l = listener;
    // Asynchronously, as a real call would: callers attach handlers after starting.
    process.nextTick(() => l.onReceiveStatus?.(s));
  };
  const end = (c: grpc.status, d: string) => {
    status ??= { code: c, details: d, metadata: new grpc.Metadata() };
    report();
  };
  const call: InterceptingCallInterface = {
    start(_metadata, l) {
      listener = l;
      end(code, details);
    },
    cancelWithStatus: (c, d) => end(c, d),
    getPeer: () => 'unknown',
    sendMessageWithContext: () => {},
    sendMessage: () => {},
    startRead: () => {},
    halfClose: () => {},
    getAuthContext: () => null,
  };
  return new grpc.InterceptingCall(call);
}

/** Passes a call through, calling `onStatus` with its final status before the application sees it. */
export function observedCall(next: InterceptingCallInterface, onStatus: (status: grpc.StatusObject) => void): grpc.InterceptingCall {
  return new grpc.InterceptingCall(next, {
    start(metadata, listener, startNext) {
      startNext(metadata, {
        onReceiveStatus(status, nextStatus) {
          onStatus(status);
          nextStatus(status);
        },
      });
    },
  });
}
