import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildInsertion, dedent, TextEditSpec } from '../src/edits';

function apply(lines: string[], e: TextEditSpec): string {
  const text = lines.join('\n');
  const offset = (p: { line: number; character: number }): number =>
    lines.slice(0, p.line).reduce((n, l) => n + l.length + 1, 0) + p.character;
  return text.slice(0, offset(e.start)) + e.newText + text.slice(offset(e.end));
}

test('sorry on its own line is replaced, multi-line tactic keeps the column', () => {
  const lines = ['theorem t (n : Nat) : n + 0 = n := by', '  sorry'];
  const e = buildInsertion(lines, { line: 1, character: 4 }, 'induction n with\n| zero => rfl\n| succ k ih => simp');
  assert.equal(apply(lines, e), 'theorem t (n : Nat) : n + 0 = n := by\n  induction n with\n  | zero => rfl\n  | succ k ih => simp');
});

test('single tactic replaces an inline `by sorry`', () => {
  const lines = ['theorem t : 1 + 1 = 2 := by sorry'];
  assert.equal(apply(lines, buildInsertion(lines, { line: 0, character: 30 }, 'norm_num')), 'theorem t : 1 + 1 = 2 := by norm_num');
});

test('a whole proof starting with `by` drops its `by` inside a tactic block', () => {
  const lines = ['theorem t : True := by', '  sorry'];
  assert.equal(apply(lines, buildInsertion(lines, { line: 1, character: 2 }, 'by\n  trivial')), 'theorem t : True := by\n  trivial');
});

test('multi-line proof for an inline `by sorry` moves to indented lines', () => {
  const lines = ['  have h : p := by sorry'];
  const e = buildInsertion(lines, { line: 0, character: 20 }, 'by\n  constructor\n  exact hp');
  assert.equal(apply(lines, e), '  have h : p := by\n    constructor\n    exact hp');
});

test('term-position `:= sorry` gets a `by` block', () => {
  const lines = ['theorem t : True :=', '  sorry'];
  assert.equal(apply(lines, buildInsertion(lines, { line: 1, character: 2 }, 'trivial')), 'theorem t : True :=\n  by\n    trivial');
  const inline = ['theorem t : True := sorry'];
  assert.equal(apply(inline, buildInsertion(inline, { line: 0, character: 22 }, 'simp\nrfl')), 'theorem t : True := by\n  simp\n  rfl');
  assert.equal(apply(inline, buildInsertion(inline, { line: 0, character: 22 }, 'by decide')), 'theorem t : True := by decide');
});

test('without sorry: insert below a non-blank line, one step deeper after `by`', () => {
  const lines = ['theorem t : True := by', '  intro x'];
  assert.equal(apply(lines, buildInsertion(lines, { line: 0, character: 5 }, 'simp')), 'theorem t : True := by\n  simp\n  intro x');
  assert.equal(apply(lines, buildInsertion(lines, { line: 1, character: 9 }, 'simp\nrfl')), 'theorem t : True := by\n  intro x\n  simp\n  rfl');
});

test('without sorry on a blank line: cursor column, or the context indentation in column 0', () => {
  const lines = ['theorem t : True := by', '    ', ''];
  assert.equal(apply(lines, buildInsertion(lines, { line: 1, character: 4 }, 'simp')), 'theorem t : True := by\n    simp\n');
  const l2 = ['theorem t : True := by', ''];
  assert.equal(apply(l2, buildInsertion(l2, { line: 1, character: 0 }, 'exact trivial')), 'theorem t : True := by\n  exact trivial');
});

test('dedent strips common indentation and blank edges', () => {
  assert.deepEqual(dedent('\n    a\n      b\n    c\n\n'), ['a', '  b', 'c']);
});
