// The Echo test service (test/fixtures/echo.proto): its loaded definition, a client constructor,
// and an in-process grpc-js server on loopback that counts calls and can be slowed or failed.
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

export const ECHO_PROTO = new URL('../fixtures/echo.proto', import.meta.url).pathname;

export interface EchoRequest {
  message?: string;
  sleep_ms?: number;
  fail_code?: number;
  count?: number;
}

export interface EchoReply {
  message: string;
  server_id: string;
}

let loaded: { service: grpc.ServiceDefinition; Client: grpc.ServiceClientConstructor } | undefined;

/** The Echo service definition and its dynamically generated client class. */
export function echoService(): { service: grpc.ServiceDefinition; Client: grpc.ServiceClientConstructor } {
  if (!loaded) {
    const def = protoLoader.loadSync(ECHO_PROTO, { keepCase: true, longs: String, defaults: true });
    const pkg = grpc.loadPackageDefinition(def) as unknown as { coord: { test: { Echo: grpc.ServiceClientConstructor } } };
    loaded = { service: pkg.coord.test.Echo.service, Client: pkg.coord.test.Echo };
  }
  return loaded;
}

export interface EchoBehaviour {
  /** Extra delay before every answer, ms. */
  delayMs: number;
  /** Fail every call with this status code (0 = answer). */
  failCode: number;
}

/** Handlers for the Echo service answering as `id`; `behaviour` may be changed while serving. */
export function echoHandlers(id: string, behaviour: EchoBehaviour = { delayMs: 0, failCode: 0 }, onCall?: () => void): grpc.UntypedServiceImplementation {
  return {
    Echo(call: grpc.ServerUnaryCall<EchoRequest, EchoReply>, callback: grpc.sendUnaryData<EchoReply>) {
      onCall?.();
      const req = call.request;
      const failCode = req.fail_code || behaviour.failCode;
      const delay = (req.sleep_ms ?? 0) + behaviour.delayMs;
      const answer = () => {
        if (failCode) callback({ code: failCode, details: `echo ${id}: failing as asked` });
        else callback(null, { message: req.message ?? '', server_id: id });
      };
      if (delay > 0) setTimeout(answer, delay);
      else answer();
    },
    EchoStream(call: grpc.ServerWritableStream<EchoRequest, EchoReply>) {
      onCall?.();
      const req = call.request;
      for (let i = 0; i < (req.count || 1); i++) call.write({ message: `${req.message ?? ''}#${i}`, server_id: id });
      call.end();
    },
  };
}

export interface EchoServer {
  readonly id: string;
  readonly port: number;
  /** `127.0.0.1:port`. */
  readonly address: string;
  readonly server: grpc.Server;
  readonly behaviour: EchoBehaviour;
  /** Calls received so far. */
  calls(): number;
  /** Force-shuts the server down. */
  close(): Promise<void>;
}

/** Starts an Echo server on 127.0.0.1 (free port) answering as `id`. */
export async function startEchoServer(id: string, host = '127.0.0.1'): Promise<EchoServer> {
  const server = new grpc.Server();
  const behaviour: EchoBehaviour = { delayMs: 0, failCode: 0 };
  let calls = 0;
  server.addService(echoService().service, echoHandlers(id, behaviour, () => calls++));
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${host}:0`, grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return {
    id,
    port,
    address: `${host}:${port}`,
    server,
    behaviour,
    calls: () => calls,
    close: () => new Promise<void>((resolve) => {
      server.forceShutdown();
      resolve();
    }),
  };
}
