import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sideBySide } from './side-by-side.ts';

describe('sideBySide', () => {
  it('pairs removed with added lines and numbers each side', () => {
    assert.deepEqual(sideBySide([' a', '-b', '-c', '+B', ' d', '+e']), [
      { kind: 'same', left: { line: 1, text: 'a' }, right: { line: 1, text: 'a' } },
      { kind: 'changed', left: { line: 2, text: 'b' }, right: { line: 2, text: 'B' } },
      { kind: 'removed', left: { line: 3, text: 'c' }, right: null },
      { kind: 'same', left: { line: 4, text: 'd' }, right: { line: 3, text: 'd' } },
      { kind: 'added', left: null, right: { line: 4, text: 'e' } },
    ]);
  });

  it('handles nothing, and additions only', () => {
    assert.deepEqual(sideBySide([]), []);
    assert.deepEqual(sideBySide(['+x', '+y']), [
      { kind: 'added', left: null, right: { line: 1, text: 'x' } },
      { kind: 'added', left: null, right: { line: 2, text: 'y' } },
    ]);
  });
});
