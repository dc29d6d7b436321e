import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { authorize, checkBind, parseListen } from './auth.ts';

const req = (method: string, headers: Record<string, string>) => ({ method, headers });
const status = (f: () => void): number | 'ok' => {
  try {
    f();
    return 'ok';
  } catch (e) {
    return (e as { status: number }).status;
  }
};

describe('admin access policy', () => {
  it('parses listen addresses', () => {
    assert.deepEqual(parseListen('127.0.0.1:8080'), { host: '127.0.0.1', port: 8080 });
    assert.deepEqual(parseListen('[::1]:0'), { host: '::1', port: 0 });
    assert.deepEqual(parseListen(':9000'), { host: '127.0.0.1', port: 9000 });
    for (const bad of ['8080', 'host', '127.0.0.1:99999', '::1:80']) assert.throws(() => parseListen(bad), /--listen must be host:port/, bad);
  });

  it('needs a token off the default loopback hosts', () => {
    for (const host of ['127.0.0.1', 'localhost', '::1']) assert.doesNotThrow(() => checkBind(host, undefined));
    for (const host of ['0.0.0.0', '127.0.0.2', '10.0.0.5', '::']) assert.throws(() => checkBind(host, undefined), /give a token/, host);
    assert.doesNotThrow(() => checkBind('0.0.0.0', 't'));
  });

  it('checks token, Host, Origin and read-only in that order', () => {
    const open = { token: undefined, readOnly: false };
    assert.equal(status(() => authorize(req('GET', { host: '127.0.0.1:1' }), open)), 'ok');
    assert.equal(status(() => authorize(req('GET', { host: 'attacker.example:1' }), open)), 403);
    assert.equal(status(() => authorize(req('PUT', { host: '127.0.0.1:1', origin: 'http://attacker.example' }), open)), 403);
    assert.equal(status(() => authorize(req('PUT', { host: '127.0.0.1:1', origin: 'http://127.0.0.1:1' }), open)), 'ok');
    const locked = { token: 't', readOnly: true };
    assert.equal(status(() => authorize(req('GET', { host: 'any.example' }), locked)), 401);
    assert.equal(status(() => authorize(req('GET', { host: 'any.example', authorization: 'Bearer x' }), locked)), 401);
    assert.equal(status(() => authorize(req('GET', { host: 'any.example', authorization: 'Bearer t' }), locked)), 'ok');
    assert.equal(status(() => authorize(req('DELETE', { host: 'any.example', authorization: 'Bearer t' }), locked)), 403);
  });
});
