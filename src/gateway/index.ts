// etcd-coord/gateway: an HTTP/JSON → gRPC gateway (google.api.http annotations or a route table,
// proto3 JSON mapping) over coord's registry and balancers, with JWT auth, rate limits, CORS,
// request ids, deadlines, an OpenAPI document and a docs page; and, for services behind it, the
// claims it forwards and an interceptor requiring them.
export { startGateway, type Gateway } from './gateway.ts';
export type { GatewayOptions, AuthOptions, RateLimitOptions } from './options.ts';
export type { RouteConfig, RoutePolicy } from './bindings.ts';
export type { CorsOptions } from './cors.ts';
export type { JwtKeyConfig, JwksConfig, JwtAlgorithm } from './auth-jwt.ts';
export { requireClaims, gatewayClaims, CLAIMS_METADATA, type GatewayClaims, type RequireClaimsOptions } from './auth-claims.ts';
export { defaultRegistryName } from './backends.ts';
export { httpStatusOf, type ErrorBody } from './status-http.ts';
