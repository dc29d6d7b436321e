// Child process for bench/gateway.ts: three HTTP servers in front of the same gRPC backend
// (`etcd:///echo`, coord's resolver, p2c_ewma and client interceptors), on free loopback ports:
//   gateway  etcd-coord/gateway, route table POST /v1/echo → coord.test.Echo/Echo (body "*")
//   fastify  a bare Fastify handler calling a generated grpc-js client directly
//   express  the same in Express, the way a Node user writes it (express.json(), res.json)
// Prints `ports {"gateway":…,"fastify":…,"express":…}`.
import type { AddressInfo } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import express from 'express';
import Fastify from 'fastify';
import { startGateway } from '../../src/gateway/index.ts';
import { clientInterceptors, serviceConfig, setup } from '../../src/grpc/index.ts';
import { connect } from '../../src/index.ts';
import { ECHO_PROTO, echoService, type EchoReply, type EchoRequest } from '../../test/helpers/echo.ts';

const coord = connect({ endpoints: process.argv[2] });
setup({ coord });

const gateway = await startGateway({
  coord,
  protoFiles: [ECHO_PROTO],
  routes: [{ method: 'POST', path: '/v1/echo', rpc: 'coord.test.Echo/Echo' }],
  openapi: false,
  log: () => {},
});

type Stub = grpc.Client & { Echo(req: EchoRequest, opts: grpc.CallOptions, cb: (e: grpc.ServiceError | null, r?: EchoReply) => void): void };
const client = new (echoService().Client)('etcd:///echo', grpc.credentials.createInsecure(), {
  interceptors: clientInterceptors(),
  'grpc.service_config': serviceConfig(),
}) as unknown as Stub;
const echo = (req: EchoRequest) =>
  new Promise<EchoReply>((resolve, reject) => client.Echo(req, { deadline: Date.now() + 15_000 }, (e, r) => (e ? reject(e) : resolve(r!))));

const fastify = Fastify({ logger: false });
fastify.post('/v1/echo', async (req) => echo(req.body as EchoRequest));
await fastify.listen({ host: '127.0.0.1', port: 0 });

const app = express();
app.use(express.json());
app.post('/v1/echo', (req, res) => {
  echo(req.body as EchoRequest).then(
    (r) => res.json(r),
    (e: grpc.ServiceError) => res.status(502).json({ code: e.code, message: e.details }),
  );
});
const expressServer = await new Promise<import('node:http').Server>((resolve) => {
  const s = app.listen(0, '127.0.0.1', () => resolve(s));
});

// Rounds leave each server idle for several seconds; Node's default 5 s keep-alive timeout would
// close the load generator's pooled sockets under it (Fastify's default is 72 s).
expressServer.keepAliveTimeout = 120_000;

console.log(`ports ${JSON.stringify({ gateway: gateway.port, fastify: (fastify.server.address() as AddressInfo).port, express: (expressServer.address() as AddressInfo).port })}`);
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
