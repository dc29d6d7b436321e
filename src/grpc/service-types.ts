// Types that carry generated gRPC types (proto-loader-gen-types, ts-proto's grpc-js output)
// through serve() and client(): the handlers a service needs, derived from what the generator
// emits, so a missing method or a handler of the wrong shape is a compile error.
import type * as grpc from '@grpc/grpc-js';

/** What both generators emit per method: serializers whose types name the messages (and the streaming flags). */
interface MethodShape {
  requestStream: boolean;
  responseStream: boolean;
  requestDeserialize: (bytes: Buffer) => unknown;
  responseSerialize: (value: never) => Buffer;
}

/** A generated client constructor: proto-loader's `ProtoGrpcType…XxxService`, ts-proto's `XxxClient`, or grpc-js's `ServiceClientConstructor`. */
export interface ServiceClientConstructor<C extends grpc.Client = grpc.Client, D extends grpc.ServiceDefinition = grpc.ServiceDefinition> {
  new (address: string, credentials: grpc.ChannelCredentials, options?: grpc.ClientOptions): C;
  service: D;
}

/** What serve() and service() take to name a service: its definition, or the client constructor that carries it as `.service`. */
export type ServiceSource = grpc.ServiceDefinition | ServiceClientConstructor;

type DefinitionOf<S> = S extends { service: infer D } ? D : S;
/** Generated definitions extend grpc.ServiceDefinition, whose index signature would hide the method names. */
type Methods<D> = { [K in keyof D as string extends K ? never : number extends K ? never : K]: D[K] };
type ClientOf<S> = S extends new (...args: never[]) => infer C ? C : unknown;

/** The request a handler receives (the deserialized message: proto-loader's `Xxx__Output`). */
type RequestOf<M> = M extends { requestDeserialize: (bytes: Buffer) => infer R } ? R : never;
/** The response a handler sends (proto-loader's permissive `Xxx`). */
type ResponseOf<M> = M extends { responseSerialize: (value: infer R) => Buffer } ? R : never;

type Kind = 'unary' | 'clientStream' | 'serverStream' | 'bidi';

/** From literal streaming flags (ts-proto's `as const` definitions). */
type KindFromFlags<M> = M extends { requestStream: false; responseStream: false }
  ? 'unary'
  : M extends { requestStream: true; responseStream: false }
    ? 'clientStream'
    : M extends { requestStream: false; responseStream: true }
      ? 'serverStream'
      : M extends { requestStream: true; responseStream: true }
        ? 'bidi'
        : undefined;

/** From what the client method returns (proto-loader's definitions type the flags only as boolean). */
/* eslint-disable @typescript-eslint/no-explicit-any -- any message type: `never` would not match a stream's deserialize() */
type KindFromClient<F> = [F] extends [(...args: never[]) => infer R]
  ? R extends grpc.ClientDuplexStream<any, any>
    ? 'bidi'
    : R extends grpc.ClientReadableStream<any>
      ? 'serverStream'
      : R extends grpc.ClientWritableStream<any>
        ? 'clientStream'
        : R extends grpc.ClientUnaryCall
          ? 'unary'
          : undefined
  : undefined;
/* eslint-enable @typescript-eslint/no-explicit-any */

type HandlerOfKind<K, Req, Res> = K extends 'unary'
  ? grpc.handleUnaryCall<Req, Res>
  : K extends 'clientStream'
    ? grpc.handleClientStreamingCall<Req, Res>
    : K extends 'serverStream'
      ? grpc.handleServerStreamingCall<Req, Res>
      : K extends 'bidi'
        ? grpc.handleBidiStreamingCall<Req, Res>
        : grpc.handleUnaryCall<Req, Res> | grpc.handleClientStreamingCall<Req, Res> | grpc.handleServerStreamingCall<Req, Res> | grpc.handleBidiStreamingCall<Req, Res>;

type MethodKind<M, C, Name> = KindFromFlags<M> extends Kind ? KindFromFlags<M> : KindFromClient<Name extends keyof C ? C[Name] : undefined>;

/**
 * The handlers a service needs: one per method, typed from the generated definition (and client,
 * where the definition does not say which of the four kinds a method is). A source without
 * generated types (`grpc.ServiceDefinition`) needs `grpc.UntypedServiceImplementation`.
 *
 * With proto-loader-gen-types, pass the generated constructor (`proto.shop.v1.OrderService`): its
 * definition types the messages, its client says the kind. A bare proto-loader definition
 * (`XxxDefinition`) types the messages but not the kind; handlers given inline then need their
 * parameters typed, or use `XxxHandlers` directly.
 */
export type ServiceHandlers<S> = [keyof Methods<DefinitionOf<S>>] extends [never]
  ? grpc.UntypedServiceImplementation
  : { [Name in keyof Methods<DefinitionOf<S>>]: HandlerOf<Methods<DefinitionOf<S>>[Name], ClientOf<S>, Name> };

type HandlerOf<M, C, Name> = M extends MethodShape ? HandlerOfKind<MethodKind<M, C, Name>, RequestOf<M>, ResponseOf<M>> : never;

/** A service for serve(): its definition (or generated client constructor) and its handlers. */
export type ServiceEntry<S extends ServiceSource = ServiceSource> = readonly [source: S, handlers: ServiceHandlers<S>];

/** serve()'s `services`: each entry's handlers checked against its own source. */
export type ServiceEntries<T extends readonly ServiceSource[]> = { readonly [K in keyof T]: ServiceEntry<T[K]> };
