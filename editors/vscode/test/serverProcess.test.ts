import assert from 'node:assert/strict';
import { test } from 'node:test';
import { clientProviderOf, pickClient, plainGoalParams } from '../src/leanApi';
import { resolveUrl, serveArgv } from '../src/serverProcess';

test('URL resolution: default, explicit port, remote is not auto-startable', () => {
  assert.deepEqual(resolveUrl(''), { baseUrl: 'http://127.0.0.1:23337', host: '127.0.0.1', port: 23337, loopback: true });
  assert.equal(resolveUrl('http://localhost:8000/').baseUrl, 'http://localhost:8000');
  assert.equal(resolveUrl('https://prover.example.org').loopback, false);
  assert.equal(resolveUrl('https://prover.example.org').port, 443);
});

test('serve argv: command, host/port, overrides; empty command refused', () => {
  assert.deepEqual(serveArgv(['prover', 'serve'], resolveUrl('http://127.0.0.1:9000'), ['backend=scripted']), [
    'prover', 'serve', '--host', '127.0.0.1', '--port', '9000', 'backend=scripted',
  ]);
  assert.throws(() => serveArgv([], resolveUrl(''), []), /serverCommand/);
});

test('Lean client choice: innermost folder containing the file, else the active client', () => {
  const mk = (dir: string): { sendRequest: () => Promise<unknown>; getClientFolder: () => { fsPath: string } ; dir: string } => ({
    dir,
    sendRequest: async () => null,
    getClientFolder: () => ({ fsPath: dir }),
  });
  const outer = mk('/ws');
  const inner = mk('/ws/sub');
  const other = mk('/elsewhere');
  assert.equal(pickClient({ getClients: () => [outer, inner, other] }, '/ws/sub/A.lean'), inner);
  assert.equal(pickClient({ getClients: () => [outer, inner] }, '/ws/B.lean'), outer);
  assert.equal(pickClient({ getClients: () => [inner], getActiveClient: () => other }, '/wsx/C.lean'), other);
  assert.equal(pickClient({ getClients: () => [] }, '/ws/A.lean'), undefined);
});

test('Lean exports: features promise resolved, missing API and a never-settling promise give no provider', async () => {
  const provider = { getClients: () => [] };
  assert.equal(await clientProviderOf({ lean4EnabledFeatures: Promise.resolve({ clientProvider: provider }) }, 1000), provider);
  assert.equal(await clientProviderOf({}, 1000), undefined);
  assert.equal(await clientProviderOf(undefined, 1000), undefined);
  const t0 = Date.now();
  assert.equal(await clientProviderOf({ lean4EnabledFeatures: new Promise(() => undefined) }, 100), undefined);
  assert.ok(Date.now() - t0 < 1000);
  assert.deepEqual(plainGoalParams('file:///w/A.lean', 3, 2), { textDocument: { uri: 'file:///w/A.lean' }, position: { line: 3, character: 2 } });
});
