/** Issue 23's companion defects at the unit level: the proof so far, edits that keep the file valid, the token
 * file, and why a server did not start. (The end-to-end tests in tests/editor check the same in VS Code.) */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { buildInsertion, nameInsertion, TextEditSpec } from '../src/edits';
import { findEnclosingDeclaration, splitGoal, tacticsBefore } from '../src/goals';
import { readToken, startFailure, tokenPath } from '../src/serverProcess';

function apply(lines: string[], e: TextEditSpec): string {
  const text = lines.join('\n');
  const offset = (p: { line: number; character: number }): number =>
    lines.slice(0, p.line).reduce((n, l) => n + l.length + 1, 0) + p.character;
  return text.slice(0, offset(e.start)) + e.newText + text.slice(offset(e.end));
}

const MID = 'import Mathlib\n\ntheorem t (p q : Prop) (hp : p) (hq : q) : p ∧ q := by\n  constructor\n  · exact hp\n  -- now q\n  sorry\n';

test('the proof so far: top-level steps before the cursor line, comments and sorry left out', () => {
  const at = MID.indexOf('  sorry') + 2;
  const decl = findEnclosingDeclaration(MID, at);
  assert.ok(decl);
  assert.deepEqual(tacticsBefore(MID, decl, at), ['constructor', '· exact hp']);
  const first = MID.indexOf('  constructor') + 2;
  assert.deepEqual(tacticsBefore(MID, decl, first), []);
});

test('the proof so far: continuation lines stay with their step; nested cursor and term proofs are unknown', () => {
  const text = 'theorem t : a := by\n  induction n with\n  | zero => simp\n  | succ k ih =>\n    simp\n  omega\n';
  const decl = findEnclosingDeclaration(text, text.length - 3);
  assert.ok(decl);
  assert.deepEqual(tacticsBefore(text, decl, text.indexOf('  omega') + 2), ['induction n with\n| zero => simp\n| succ k ih =>\n  simp']);
  assert.equal(tacticsBefore(text, decl, text.indexOf('    simp') + 4), undefined);
  const inline = 'theorem t : 1 + 1 = 2 := by sorry\n\ntheorem u : True := trivial\n';
  const d3 = findEnclosingDeclaration(inline, inline.indexOf('\n\n') + 1);
  assert.ok(d3);
  assert.deepEqual(tacticsBefore(inline, d3, inline.indexOf('\n\n') + 1), []);
  const term = 'theorem t : True :=\n  trivial\n';
  const d2 = findEnclosingDeclaration(term, term.length - 2);
  assert.ok(d2);
  assert.equal(tacticsBefore(term, d2, term.length - 2), undefined);
});

test('a goal splits into case, hypotheses and target', () => {
  assert.deepEqual(splitGoal('case succ\nn : Nat\nih : n + 0\n  = n\n⊢ n + 1 = n + 1'), {
    caseName: 'succ',
    hyps: ['n : Nat', 'ih : n + 0 = n'],
    target: '⊢ n + 1 = n + 1',
  });
});

test('a blank line below `:= by sorry` completes that sorry (not column 0, sorry not left behind)', () => {
  const lines = ['theorem t : 1 + 1 = 2 := by sorry', ''];
  assert.equal(apply(lines, buildInsertion(lines, { line: 1, character: 0 }, 'norm_num')), 'theorem t : 1 + 1 = 2 := by norm_num\n');
  const multi = ['theorem t : p ∧ q := by sorry', ''];
  assert.equal(apply(multi, buildInsertion(multi, { line: 1, character: 0 }, 'constructor\nexact hp')), 'theorem t : p ∧ q := by\n  constructor\n  exact hp\n');
});

test('the cursor anywhere on a `sorry` line replaces that sorry, indented to the block', () => {
  const lines = ['theorem t : True := by', '  sorry'];
  assert.equal(apply(lines, buildInsertion(lines, { line: 1, character: 0 }, 'trivial')), 'theorem t : True := by\n  trivial');
});

test('a premise name never glues onto its neighbour', () => {
  const line = '  exact sorry';
  const at = line.indexOf('sorry');
  const e = nameInsertion(line, 3, at, at, 'Real.sqrt_sq');
  assert.equal(line.slice(0, at) + e.newText + line.slice(at), '  exact Real.sqrt_sq sorry');
  const end = nameInsertion('  rw [foo', 0, 9, 9, 'bar');
  assert.equal(end.newText, ' bar');
  assert.equal(nameInsertion('  exact ', 0, 8, 8, 'h').newText, 'h');
});

test('the token file: the server default places and an explicit folder; missing file is no token', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'prover-token-'));
  assert.equal(tokenPath(23337, '', { XDG_RUNTIME_DIR: dir }, '/home/u'), path.join(dir, 'lean-prover', 'serve-23337.token'));
  assert.equal(tokenPath(8000, '', {}, '/home/u'), '/home/u/.cache/lean-prover/serve-8000.token');
  assert.equal(tokenPath(8000, '~/t', {}, '/home/u'), '/home/u/t/serve-8000.token');
  const file = tokenPath(9, dir);
  assert.equal(readToken(file), undefined);
  fs.writeFileSync(file, 'abc\n', { mode: 0o600 });
  assert.equal(readToken(file), 'abc');
});

test('why the server did not start: not on PATH, refused without Lean, port taken', () => {
  const missing = startFailure(['prover', 'serve'], 'ENOENT spawn prover ENOENT', undefined, []);
  assert.match(missing, /`prover` was not found/);
  assert.match(missing, /prover\.serverCommand/);
  const noLean = startFailure(['prover', 'serve'], undefined, 'exit code 2', [
    "prover serve: error: backend=repl needs `lake` -- set serve.allow_guard_only=true to serve unchecked suggestions without Lean",
  ]);
  assert.match(noLean, /exit code 2/);
  assert.match(noLean, /backend=repl needs/);
  assert.match(noLean, /serve\.allow_guard_only=true/);
  const port = startFailure(['prover', 'serve'], undefined, 'exit code 2', ['prover serve: error: cannot listen on 127.0.0.1:23337: Address already in use']);
  assert.match(port, /Another program uses the port/);
  assert.doesNotMatch(port, /\[.*"prover"/); // no raw argv
});
