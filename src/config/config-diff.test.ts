import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { lineDiff } from './config-diff.ts';

describe('lineDiff', () => {
  it('marks kept, removed and added lines, in order', () => {
    assert.deepEqual(lineDiff('a\nb\nc\nd\n', 'a\nc\nx\nd\ny\n'), [' a', '-b', ' c', '+x', ' d', '+y']);
    assert.deepEqual(lineDiff('', 'a\n'), ['+a']);
    assert.deepEqual(lineDiff('a\r\nb', 'a\nb\n'), [' a', ' b']);
    assert.deepEqual(lineDiff('x\ny\n', 'y\nx\n'), ['-x', ' y', '+x']);
  });

  it('keeps the longest common run of lines', () => {
    const a = ['h', '1', '2', '3', '4', 't'].join('\n');
    const b = ['h', '0', '1', '2', '3', '5', 't'].join('\n');
    assert.deepEqual(lineDiff(a, b), [' h', '+0', ' 1', ' 2', ' 3', '-4', '+5', ' t']);
  });
});
