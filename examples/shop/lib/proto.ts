// shop.proto loaded with @grpc/proto-loader, typed by what proto-loader-gen-types generated from it
// (../generated, `npm run gen:types`): the service constructors serve() and client() take, and the
// message types (field names as in the .proto, as the loader is told to keep them).
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { ProtoGrpcType } from '../generated/shop.js';
import type { Item__Output } from '../generated/shop/v1/Item.js';
import type { Order__Output } from '../generated/shop/v1/Order.js';
import type { Stock__Output } from '../generated/shop/v1/Stock.js';
import type { User__Output } from '../generated/shop/v1/User.js';

export const SHOP_PROTO = new URL('../proto/shop.proto', import.meta.url).pathname;
/** Where `google/api/annotations.proto` lives (protobufjs ships it). */
export const GOOGLE_API_INCLUDE = dirname(dirname(dirname(createRequire(import.meta.url).resolve('protobufjs/google/api/annotations.proto'))));

// Messages as the services build and receive them (every field present: the loader fills defaults).
export type Item = Item__Output;
export type User = User__Output;
export type Stock = Stock__Output;
export type Order = Order__Output;

type Shop = ProtoGrpcType['shop']['v1'];

let loaded: Shop | undefined;

/** The services' generated constructors, for serve() and client(). */
export function shop(): Shop {
  if (!loaded) {
    // The same options the types were generated with (package.json's gen:types): keepCase, longs as strings, defaults.
    const def = protoLoader.loadSync(SHOP_PROTO, { keepCase: true, longs: String, defaults: true, includeDirs: [GOOGLE_API_INCLUDE] });
    // The one cast: loadPackageDefinition is untyped; the generated ProtoGrpcType says what it returns.
    loaded = (grpc.loadPackageDefinition(def) as unknown as ProtoGrpcType).shop.v1;
  }
  return loaded;
}

/** A generated client's unary methods: the last overload is `(argument, callback) => ClientUnaryCall`. */
type UnaryMethod<Req, Res> = (argument: Req, callback: grpc.requestCallback<Res>) => grpc.ClientUnaryCall;
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- matches any request and response
type UnaryMethodName<C> = { [K in keyof C]: C[K] extends UnaryMethod<any, any> ? K : never }[keyof C] & string;
type RequestOf<F> = F extends UnaryMethod<infer Req, infer _Res> ? Req : never;
type ResponseOf<F> = F extends UnaryMethod<infer _Req, infer Res> ? Res : never;

/** A unary call as a promise (grpc-js clients are callback-based), typed by the generated client. */
export function call<C extends grpc.Client, M extends UnaryMethodName<C>>(client: C, method: M, request: RequestOf<C[M]>, options: grpc.CallOptions = {}): Promise<ResponseOf<C[M]>> {
  type Res = ResponseOf<C[M]>;
  const fn = (client as unknown as Record<string, (r: unknown, m: grpc.Metadata, o: grpc.CallOptions, cb: grpc.requestCallback<Res>) => void>)[method];
  return new Promise((resolve, reject) => fn.call(client, request, new grpc.Metadata(), options, (e, v) => (e ? reject(e) : resolve(v!))));
}

/** A gRPC error with `code` for a handler to throw or pass to its callback. */
export function grpcError(code: grpc.status, details: string): grpc.ServiceError {
  return Object.assign(new Error(details), { code, details, metadata: new grpc.Metadata() });
}
