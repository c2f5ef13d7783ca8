import assert from 'node:assert/strict';
import { test } from 'node:test';
import { acceptedMessage, CheckResult, JobState, provedMessage, simulationNote } from '../src/protocol';

// issue 24: a scripted world's "accepted"/"proved" must never read as Lean's in the editor.
const check = (extra: Partial<CheckResult>): CheckResult => ({ accepted: true, status: 'accepted', reasons: [], mode: 'scripted', ...extra });
const job = (extra: Partial<JobState>): JobState => ({
  job_id: 'j1',
  status: 'proved',
  proof: 'simp',
  progress: { expansions: 1, nodes: 2, elapsed_s: 0.1 },
  ...extra,
});

test('an accepted check from the simulation judge says (simulation)', () => {
  const text = acceptedMessage('checked', check({ judge: 'simulation', simulation: true }));
  assert.match(text, /accepted \(simulation\) ✓/);
});

test('a proved job from a scripted world says (simulation)', () => {
  assert.match(provedMessage('add_zero', job({ judge: 'simulation', simulation: true })), /proved \(simulation\)/);
  assert.match(provedMessage('add_zero', job({ simulation: true })), /\(simulation\)/);
});

test('a verdict of Lean does not say simulation', () => {
  assert.doesNotMatch(acceptedMessage('t', check({ judge: 'repl', simulation: false, mode: 'lean' })), /simulation/);
  assert.doesNotMatch(provedMessage('t', job({ judge: 'comparator', simulation: false })), /simulation/);
  assert.equal(simulationNote({}), '');
  assert.equal(simulationNote({ judge: 'simulation' }), ' (simulation)');
});
