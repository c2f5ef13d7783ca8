import assert from 'node:assert/strict';
import { test } from 'node:test';
import { findEnclosingDeclaration, parsePlainGoal, parseRenderedGoals, sorryAt, statementToGoal } from '../src/goals';

test('plainGoal: goals array is used as is', () => {
  const goals = parsePlainGoal({ rendered: 'ignored', goals: ['n : Nat\n⊢ n + 0 = n', 'case b\n⊢ True'] });
  assert.deepEqual(goals, ['n : Nat\n⊢ n + 0 = n', 'case b\n⊢ True']);
});

test('plainGoal: rendered markdown with several goals is split at blank lines', () => {
  const rendered = '```lean\ncase inl\np q : Prop\nhp : p\n⊢ p ∨ q\n\ncase inr\np q : Prop\nhq : q\n⊢ p ∨ q\n```';
  const goals = parsePlainGoal({ rendered });
  assert.equal(goals.length, 2);
  assert.ok(goals[0].startsWith('case inl'));
  assert.ok(goals[1].endsWith('⊢ p ∨ q'));
  assert.ok(!goals.some((g) => g.includes('```')));
});

test('plainGoal: null, no goals and junk give no goal', () => {
  assert.deepEqual(parsePlainGoal(null), []);
  assert.deepEqual(parsePlainGoal({ goals: [] }), []);
  assert.deepEqual(parsePlainGoal('text'), []);
  assert.deepEqual(parseRenderedGoals('no goals'), []);
});

const FILE = [
  'import Mathlib',
  '',
  'open Nat',
  '',
  '/-- doc -/',
  '@[simp] theorem add_zero_right (n : Nat) {m : Nat} [inst : Inhabited Nat] [DecidableEq Nat] :',
  '    n + m + 0 = n + m := by',
  '  simp',
  '  sorry',
  '',
  'example : True := trivial',
  '',
  'def notATheorem : Nat := 3',
].join('\n');

test('declaration finder: scans back to the theorem keyword and splits statement / proof', () => {
  const off = FILE.indexOf('sorry');
  const d = findEnclosingDeclaration(FILE, off);
  assert.ok(d !== undefined);
  assert.equal(d.keyword, 'theorem');
  assert.equal(d.name, 'add_zero_right');
  assert.ok(d.statement.endsWith('n + m + 0 = n + m'));
  assert.ok(d.statement.startsWith('@[simp] theorem add_zero_right'));
  assert.equal(d.proof, 'by\n  simp\n  sorry');
  assert.ok(d.header.includes('import Mathlib'));
  assert.ok(!d.header.includes('theorem'));
});

test('declaration finder: example, and nothing outside declarations', () => {
  const d = findEnclosingDeclaration(FILE, FILE.indexOf('trivial'));
  assert.equal(d?.keyword, 'example');
  assert.equal(d?.name, undefined);
  assert.equal(d?.proof, 'trivial');
  assert.equal(findEnclosingDeclaration(FILE, FILE.indexOf('notATheorem')), undefined);
  assert.equal(findEnclosingDeclaration(FILE, 3), undefined);
});

test('statementToGoal: binders become hypotheses', () => {
  const d = findEnclosingDeclaration(FILE, FILE.indexOf('simp\n'));
  assert.ok(d !== undefined);
  assert.equal(
    statementToGoal(d.statement),
    'n : Nat\nm : Nat\ninst : Inhabited Nat\ninst✝ : DecidableEq Nat\n⊢ n + m + 0 = n + m',
  );
  assert.equal(statementToGoal('example : 1 + 1 = 2'), '⊢ 1 + 1 = 2');
  assert.equal(statementToGoal('lemma foo (a b : Nat) (h : a ≤ b) : a < b + 1'), 'a b : Nat\nh : a ≤ b\n⊢ a < b + 1');
});

test('sorryAt finds the token under or next to the cursor only', () => {
  assert.deepEqual(sorryAt('  exact sorry', 9), { start: 8, end: 13 });
  assert.deepEqual(sorryAt('  sorry', 7), { start: 2, end: 7 });
  assert.equal(sorryAt('  sorry', 0), undefined);
  assert.equal(sorryAt('  sorryAx', 4), undefined);
  assert.equal(sorryAt('  foo.sorry', 8), undefined);
});
