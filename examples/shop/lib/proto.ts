// shop.proto loaded with @grpc/proto-loader: service definitions for serve(), client classes for
// calls, and the message types as TypeScript shapes (field names as in the .proto).
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

export const SHOP_PROTO = new URL('../proto/shop.proto', import.meta.url).pathname;
/** Where `google/api/annotations.proto` lives (protobufjs ships it). */
export const GOOGLE_API_INCLUDE = dirname(dirname(dirname(createRequire(import.meta.url).resolve('protobufjs/google/api/annotations.proto'))));

export interface Item {
  sku: string;
  quantity: number;
}
export interface User {
  id: string;
  name: string;
  email: string;
  served_by: string;
}
export interface Stock {
  sku: string;
  available: number;
  fencing_token: string;
  served_by: string;
}
export interface Reservation {
  order_id: string;
  items: Item[];
  released: boolean;
  served_by: string;
}
export type OrderStatus = 'RESERVED' | 'PAID' | 'EXPIRED';
export interface Order {
  id: string;
  user_id: string;
  items: Item[];
  status: OrderStatus;
  created_at: string;
  expires_at: string;
  served_by: string;
}

interface ShopPackage {
  shop: { v1: { UserService: grpc.ServiceClientConstructor; InventoryService: grpc.ServiceClientConstructor; OrderService: grpc.ServiceClientConstructor } };
}

let loaded: ShopPackage['shop']['v1'] | undefined;

/** The three services: `.service` for serve(), the constructor itself for clients. */
export function shop(): ShopPackage['shop']['v1'] {
  if (!loaded) {
    const def = protoLoader.loadSync(SHOP_PROTO, { keepCase: true, longs: String, defaults: true, includeDirs: [GOOGLE_API_INCLUDE] });
    loaded = (grpc.loadPackageDefinition(def) as unknown as ShopPackage).shop.v1;
  }
  return loaded;
}

/** A unary call as a promise (grpc-js clients are callback-based). */
export function call<Req, Res>(client: grpc.Client, method: string, request: Req, options: grpc.CallOptions = {}): Promise<Res> {
  const fn = (client as unknown as Record<string, (r: Req, m: grpc.Metadata, o: grpc.CallOptions, cb: (e: grpc.ServiceError | null, v: Res) => void) => void>)[method];
  return new Promise((resolve, reject) => fn.call(client, request, new grpc.Metadata(), options, (e, v) => (e ? reject(e) : resolve(v))));
}

/** A gRPC error with `code` for a handler to throw or pass to its callback. */
export function grpcError(code: grpc.status, details: string): grpc.ServiceError {
  return Object.assign(new Error(details), { code, details, metadata: new grpc.Metadata() });
}
