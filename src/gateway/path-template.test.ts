import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { matchPathTemplate, openApiPath, parsePathTemplate, variablePattern } from './path-template.ts';

const match = (template: string, path: string) => {
  const m = matchPathTemplate(parsePathTemplate(template), path.slice(1).split('/'));
  return m && Object.fromEntries(m);
};

describe('path templates', () => {
  it('parses literals, variables, patterns, ** and verbs', () => {
    const t = parsePathTemplate('/v1/{name=projects/*/items/**}:undelete');
    assert.equal(t.verb, 'undelete');
    assert.equal(t.deep, true);
    assert.deepEqual(t.segments.map((s) => s.kind), ['literal', 'literal', 'wildcard', 'literal', 'deep']);
    assert.deepEqual(t.variables, [{ path: ['name'], start: 1, end: 5 }]);
    assert.equal(variablePattern(t, t.variables[0]), 'projects/*/items/**');
    assert.equal(openApiPath(t), '/v1/{name}:undelete');
    assert.equal(parsePathTemplate('/v1/{a.b_c}').variables[0].path.join('.'), 'a.b_c');
  });

  it('matches and extracts variables', () => {
    assert.deepEqual(match('/v1/shelves/{shelf}', '/v1/shelves/12'), { shelf: '12' });
    assert.deepEqual(match('/v1/{name=shelves/*/books/*}', '/v1/shelves/1/books/2'), { name: 'shelves/1/books/2' });
    assert.equal(match('/v1/{name=shelves/*/books/*}', '/v1/shelves/1/books'), undefined);
    assert.equal(match('/v1/{name=shelves/*/books/*}', '/v1/shelves/1/notes/2'), undefined);
    assert.deepEqual(match('/v1/files/{path=**}', '/v1/files/a/b/c'), { path: 'a/b/c' });
    assert.deepEqual(match('/v1/files/{path=**}', '/v1/files'), { path: '' });
    assert.deepEqual(match('/v1/*/x', '/v1/any/x'), {});
    assert.equal(match('/v1/{id}', '/v1/'), undefined, '* never matches an empty segment');
  });

  it('percent-decodes single-segment variables fully and keeps %2F in multi-segment ones', () => {
    assert.deepEqual(match('/v1/{id}', '/v1/a%2Fb%20c'), { id: 'a/b c' });
    assert.deepEqual(match('/v1/{name=items/*}', '/v1/items/a%2Fb%20c'), { name: 'items/a%2Fb c' });
    assert.equal(match('/v1/{id}', '/v1/%E0%A4%A'), undefined, 'bad encoding matches nothing');
  });

  it('rejects malformed templates with the reason', () => {
    assert.throws(() => parsePathTemplate('v1/x'), /must start with '\/'/);
    assert.throws(() => parsePathTemplate('/v1/{a'), /unclosed/);
    assert.throws(() => parsePathTemplate('/v1/**/x'), /'\*\*' must be the last segment/);
    assert.throws(() => parsePathTemplate('/v1/{a}/{a}'), /bound twice/);
    assert.throws(() => parsePathTemplate('/v1/x{a}'), /whole segment/);
    assert.throws(() => parsePathTemplate('/v1/{a=}'), /empty pattern/);
    assert.throws(() => parsePathTemplate('/v1//x'), /empty segment/);
    assert.throws(() => parsePathTemplate('/v1/{1a}'), /bad field path/);
  });
});
