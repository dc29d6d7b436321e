import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseYaml, stringifyYaml } from './config-yaml.ts';

describe('YAML subset', () => {
  it('parses block maps and lists, flow lists, quoted and block scalars, comments', () => {
    const doc = [
      '---',
      '# settings',
      'server:',
      '  host: "0.0.0.0"  # quoted',
      "  name: it's fine",
      '  url: http://x:80/a#frag',
      '  tags: [a, "b, c", 3, \'d\'\'e\']',
      '  none: []',
      '  empty:',
      'list:',
      '- 1',
      '- name: a',
      '  ports:',
      '  - 80',
      '- - x',
      '  - y',
      'script: |',
      '  one',
      '    two',
      'folded: >-',
      '  a',
      '  b',
      '',
      '  c',
      'scalars: [~, true, False, 0x1f, 1e3, .inf, yes]',
      '__proto__: plain key',
    ].join('\n');
    const v = parseYaml(doc) as Record<string, unknown>;
    assert.deepEqual(v, {
      server: { host: '0.0.0.0', name: "it's fine", url: 'http://x:80/a#frag', tags: ['a', 'b, c', 3, "d'e"], none: [], empty: null },
      list: [1, { name: 'a', ports: [80] }, ['x', 'y']],
      script: 'one\n  two\n',
      folded: 'a b\nc',
      scalars: [null, true, false, 31, 1000, Infinity, 'yes'],
      ['__proto__']: 'plain key',
    });
    assert.equal(Object.getPrototypeOf(v), Object.prototype, 'no prototype pollution');
  });

  it('rejects what it does not support, with the line number', () => {
    const cases: Array<[string, RegExp]> = [
      ['a: &x 1', /^line 1: unsupported YAML at "&"/],
      ['a: 1\nb: *x', /^line 2: unsupported YAML at "\*"/],
      ['a: !!str 1', /^line 1: unsupported YAML at "!"/],
      ['a: 1\na: 2', /^line 2: duplicate key "a"/],
      ['a:\n\tb: 1', /^line 2: tabs are not allowed/],
      ['a: b\n  c', /^line 2: unexpected indentation/],
      ['a: "x\n  y"', /^line 1: a quoted scalar must end on its own line/],
      ['a: 1\n---\nb: 2', /^line 2: several documents/],
      ['a: {b: 1}', /^line 1: flow maps are not supported/],
      ['a: [[1]]', /^line 1: unsupported flow list item/],
      ['a: [1, 2', /^line 1: a flow list must end its line/],
    ];
    for (const [text, message] of cases) assert.throws(() => parseYaml(text), { message }, JSON.stringify(text));
  });

  it('round-trips JSON-compatible values through stringifyYaml', () => {
    const values = [
      { a: [1, [2, [3]], { b: null, c: [] }], 'x y': 'true', s: 'multi\nline', q: '"', e: '', n: -1.5e-7, t: ' pad', colon: 'a: b', h: 'a #b', dash: '- x', d: {} },
      [],
      {},
      'plain',
      42,
      null,
      [[1, 2], [], [{}]],
    ];
    for (const v of values) assert.deepEqual(parseYaml(stringifyYaml(v)), v, stringifyYaml(v));
    assert.equal(stringifyYaml({ a: { b: [1, { c: 'd' }] } }), 'a:\n  b:\n    - 1\n    - c: d\n');
  });
});
