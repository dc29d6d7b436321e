// service(): one `[service, handlers]` entry for serve(), checked where it is written. serve()
// checks entries written inline in its call; one built elsewhere (in a function that returns the
// list, say) is checked here instead.
import type { ServiceEntry, ServiceHandlers, ServiceSource } from './service-types.ts';

/**
 * `[source, handlers]` with `handlers` checked against `source`'s generated types: every method
 * present, each with the generated request and response types.
 *
 * ```ts
 * const entry = service(proto.shop.v1.UserService, { GetUser: (call, callback) => callback(null, { id: call.request.id }) });
 * await serve({ name: 'user-service', services: [entry] });
 * ```
 */
export function service<S extends ServiceSource>(source: S, handlers: NoInfer<ServiceHandlers<S>>): ServiceEntry<S> {
  return [source, handlers];
}
