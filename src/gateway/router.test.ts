import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { collectBindings } from './bindings.ts';
import { loadProtos } from './protos.ts';
import { Router } from './router.ts';

const PROTO = fileURLToPath(new URL('../../test/fixtures/gateway-test.proto', import.meta.url));

describe('router', () => {
  const protos = loadProtos([PROTO]);
  const router = new Router(collectBindings(protos, [{ method: 'GET', path: '/v1/shelves/special', rpc: 'coord.gwtest.Plain/Hello' }]));
  const rpc = (method: string, path: string) => {
    const m = router.match(method, path);
    return m.kind === 'found' ? m.binding.method.path : m.kind === 'method-not-allowed' ? `405 ${m.allow.join(',')}` : '404';
  };

  it('prefers literal segments over variables, whatever the declaration order', () => {
    assert.equal(rpc('GET', '/v1/shelves/special'), '/coord.gwtest.Plain/Hello');
    assert.equal(rpc('GET', '/v1/shelves/12'), '/coord.gwtest.Library/GetShelf');
  });

  it('matches verbs only with their verb', () => {
    assert.equal(rpc('POST', '/v1/shelves/1/books/2:move'), '/coord.gwtest.Library/MoveBook');
    assert.equal(rpc('GET', '/v1/shelves/1/books:stream'), '/coord.gwtest.Library/StreamBooks');
    assert.equal(rpc('GET', '/v1/shelves/1/books'), '/coord.gwtest.Library/ListBooks');
  });

  it('tells 405 (with the methods that would work) from 404', () => {
    assert.equal(rpc('PUT', '/v1/shelves/1'), '405 GET');
    assert.deepEqual(router.methodsFor('/v1/shelves/1/books/2').sort(), ['DELETE', 'GET', 'PATCH']);
    assert.equal(rpc('GET', '/v1/nothing/here'), '404');
    assert.equal(rpc('GET', '/'), '404');
  });

  it('refuses two bindings that match the same requests', () => {
    assert.throws(() => new Router(collectBindings(protos, [{ method: 'GET', path: '/v1/shelves/{name}', rpc: 'coord.gwtest.Plain/Hello' }])), /match the same requests/);
  });
});
