// serve()'s run-time checks of `services`, for JavaScript callers (TypeScript refuses these at
// compile time: test/typecheck/).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { isCoordError } from '../core/errors.ts';
import { resolveServeOptions, type ServeOptions } from './serve-options.ts';

const definition: grpc.ServiceDefinition = {};
const Ctor = Object.assign(function Client() {}, { service: definition });
const untyped = (services: unknown) => ({ name: 'svc', services }) as ServeOptions;

describe('serve() options: services', () => {
  it('takes a definition or a generated client constructor, and hands addService the definition', () => {
    const handlers = {};
    assert.deepEqual(resolveServeOptions(untyped([[definition, handlers], [Ctor, handlers]])).services, [
      [definition, handlers],
      [definition, handlers],
    ]);
  });

  it('refuses what is not [service, handlers] with a clear error', () => {
    const cases: Array<[unknown, RegExp]> = [
      [undefined, /services must be an array of \[service, handlers\]/],
      [[], /services must list at least one \[service, handlers\]/],
      [[[definition]], /services\[0\] must be \[service, handlers\], with handlers an object/],
      [[[definition, {}], ['UserService', {}]], /services\[1\] must start with a service definition or a generated client constructor/],
      [[[function NoService() {}, {}]], /services\[0\] must start with a service definition or a generated client constructor/],
      [[[definition, () => {}]], /services\[0\] must be \[service, handlers\], with handlers an object/],
    ];
    for (const [services, message] of cases) {
      assert.throws(() => resolveServeOptions(untyped(services)), (e) => isCoordError(e, 'invalid-argument') && message.test(e.message), JSON.stringify(services));
    }
  });
});
