import assert from 'node:assert/strict';
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { parseRetryAfter, ProverClient, ProverError, SseParser } from '../src/protocol';

type Handler = (req: IncomingMessage, body: string, res: ServerResponse) => void;
let server: Server;
let base = '';
let handler: Handler = (_q, _b, res) => res.end('{}');
const seen: { method: string; url: string; body: string; key: string | undefined }[] = [];

before(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', body, key: req.headers['x-api-key'] as string | undefined });
      handler(req, body, res);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => {
  server.closeAllConnections();
  server.close();
});

const json = (res: ServerResponse, status: number, obj: unknown, headers: Record<string, string> = {}): void => {
  res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
  res.end(JSON.stringify(obj));
};
const noSleep = { sleep: async (): Promise<void> => undefined };

test('suggest sends goal, k, theorem and the API key, and returns suggestions', async () => {
  seen.length = 0;
  handler = (_q, _b, res) => json(res, 200, { suggestions: [{ tactic: 'simp', logprob: -0.1, status: 'closes_goal' }, { bogus: 1 }] });
  const c = new ProverClient({ baseUrl: base + '/', apiKey: 'sekret' });
  const s = await c.suggest('⊢ True', 3, { statement: 'theorem t : True' });
  assert.deepEqual(s.map((x) => x.tactic), ['simp']);
  assert.equal(seen[0].url, '/suggest');
  assert.equal(seen[0].key, 'sekret');
  assert.deepEqual(JSON.parse(seen[0].body), { goal: '⊢ True', k: 3, theorem: { statement: 'theorem t : True' } });
});

test('suggestAt sends the proof so far as path and returns the checked goals and the warning', async () => {
  seen.length = 0;
  handler = (_q, _b, res) =>
    json(res, 200, {
      suggestions: [{ tactic: 'exact hq', logprob: -0.3, status: 'closes_goal', goals_after: [] }],
      checked_goals: ['case right\nhq : q\n⊢ q'],
      warning: 'the goal sent is not the state after path',
    });
  const c = new ProverClient({ baseUrl: base });
  const a = await c.suggestAt('⊢ p ∧ q', 4, { statement: 'theorem t : p ∧ q' }, ['constructor', '· exact hp']);
  assert.deepEqual(JSON.parse(seen[0].body), {
    goal: '⊢ p ∧ q',
    k: 4,
    theorem: { statement: 'theorem t : p ∧ q' },
    path: ['constructor', '· exact hp'],
  });
  assert.deepEqual(a.checkedGoals, ['case right\nhq : q\n⊢ q']);
  assert.equal(a.warning, 'the goal sent is not the state after path');
  assert.equal(a.suggestions[0].status, 'closes_goal');
  handler = (_q, _b, res) => json(res, 200, { suggestions: [] });
  const none = await c.suggestAt('⊢ p', 4, undefined, ['ignored without a theorem']);
  assert.deepEqual(JSON.parse(seen[1].body), { goal: '⊢ p', k: 4 });
  assert.equal(none.checkedGoals, undefined);
});

test('401 becomes an unauthorized error naming the setting', async () => {
  handler = (_q, _b, res) => json(res, 401, { error: { code: 'unauthorized', message: 'missing key' } });
  const c = new ProverClient({ baseUrl: base });
  await assert.rejects(c.health(), (e: unknown) => e instanceof ProverError && e.code === 'unauthorized' && e.status === 401 && /prover\.apiKey/.test(e.message));
});

test('429 is retried after Retry-After, then succeeds', async () => {
  let calls = 0;
  const waits: number[] = [];
  handler = (_q, _b, res) => {
    calls++;
    if (calls < 3) {
      json(res, 429, { error: { code: 'busy', message: 'all sessions busy' } }, { 'Retry-After': '2' });
    } else {
      json(res, 200, { status: 'ok' });
    }
  };
  const c = new ProverClient({ baseUrl: base, maxBusyRetries: 2, sleep: async (ms) => void waits.push(ms) });
  assert.deepEqual(await c.health(), { status: 'ok' });
  assert.equal(calls, 3);
  assert.deepEqual(waits, [2000, 2000]);
});

test('429 beyond the retry budget is a busy error carrying Retry-After', async () => {
  handler = (_q, _b, res) => json(res, 429, { error: { code: 'busy', message: 'all sessions busy' } }, { 'Retry-After': '7' });
  const c = new ProverClient({ baseUrl: base, maxBusyRetries: 1, ...noSleep });
  await assert.rejects(c.health(), (e: unknown) => e instanceof ProverError && e.code === 'busy' && e.retryAfterS === 7 && e.message === 'all sessions busy');
});

test('501 from /solve keeps the server message', async () => {
  handler = (_q, _b, res) => json(res, 501, { error: { code: 'not_available', message: 'the FPS solver does not exist yet' } });
  const c = new ProverClient({ baseUrl: base });
  await assert.rejects(c.solve('x'), (e: unknown) => e instanceof ProverError && e.status === 501 && e.code === 'not_available' && /FPS solver/.test(e.message));
});

test('solve sends the editor form: statement and header, no problem wrapper', async () => {
  handler = (_q, _b, res) => json(res, 200, { id: 'solved', status: 'answered', answer: '(9 : ℕ)' });
  const c = new ProverClient({ baseUrl: base });
  const rec = await c.solve('theorem fps_solved : ∃ (answer : ℕ), answer + 1 = 10', 'import Mathlib');
  assert.equal(rec.answer, '(9 : ℕ)');
  assert.deepEqual(JSON.parse(seen[seen.length - 1].body), { statement: 'theorem fps_solved : ∃ (answer : ℕ), answer + 1 = 10', header: 'import Mathlib' });
});

test('a 500 without the JSON error body and a non-JSON 200 are reported, not thrown raw', async () => {
  handler = (_q, _b, res) => {
    res.writeHead(500);
    res.end('Traceback...');
  };
  const c = new ProverClient({ baseUrl: base });
  await assert.rejects(c.health(), (e: unknown) => e instanceof ProverError && e.code === 'http_500');
  handler = (_q, _b, res) => {
    res.writeHead(200);
    res.end('<html>');
  };
  await assert.rejects(c.health(), (e: unknown) => e instanceof ProverError && e.code === 'bad_response');
});

test('a server that never answers gives a timeout error', async () => {
  handler = () => undefined; // keep the request hanging
  const c = new ProverClient({ baseUrl: base, timeoutMs: 150 });
  const t0 = Date.now();
  await assert.rejects(c.health(), (e: unknown) => e instanceof ProverError && e.code === 'timeout');
  assert.ok(Date.now() - t0 < 2000);
});

test('a closed port is unreachable (a connection error)', async () => {
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const port = (probe.address() as AddressInfo).port;
  await new Promise<void>((r) => probe.close(() => r()));
  const c = new ProverClient({ baseUrl: `http://127.0.0.1:${port}` });
  await assert.rejects(c.health(), (e: unknown) => e instanceof ProverError && e.isConnectionError);
});

test('prove job followed over server-sent events to the proof', async () => {
  const seenStates: string[] = [];
  handler = (req, _b, res) => {
    if (req.method === 'POST' && req.url === '/prove') {
      json(res, 202, { job_id: 'j1' });
    } else if (req.url === '/prove/j1/events') {
      res.writeHead(200, { 'Content-Type': 'text/event-stream' });
      const p = (n: number): string => JSON.stringify({ job_id: 'j1', status: 'running', progress: { expansions: n, nodes: n * 2, elapsed_s: n / 10 } });
      res.write(`: comment\nevent: progress\ndata: ${p(1)}\n\n`);
      res.write(`event: progress\r\ndata: ${p(2)}\r\n\r\n`);
      const done = JSON.stringify({ job_id: 'j1', status: 'proved', proof: 'by simp', progress: { expansions: 3, nodes: 6, elapsed_s: 0.3 } });
      res.end(`event: done\ndata: ${done}\n\n`);
    } else {
      json(res, 404, { error: { code: 'not_found', message: 'no' } });
    }
  };
  const c = new ProverClient({ baseUrl: base });
  const id = await c.startProve('theorem t : True', undefined, 10, 5);
  const final = await c.followJob(id, (s) => seenStates.push(`${s.status}:${s.progress.expansions}`));
  assert.equal(final.proof, 'by simp');
  assert.deepEqual(seenStates, ['running:1', 'running:2', 'proved:3']);
});

test('prove job falls back to polling when there is no event stream', async () => {
  let polls = 0;
  handler = (req, _b, res) => {
    if (req.url === '/prove/j2/events') {
      json(res, 404, { error: { code: 'not_found', message: 'no stream' } });
    } else if (req.url === '/prove/j2') {
      polls++;
      const status = polls < 3 ? 'running' : 'failed';
      json(res, 200, { job_id: 'j2', status, message: 'budget exhausted', progress: { expansions: polls, nodes: 1, elapsed_s: 0 } });
    }
  };
  const c = new ProverClient({ baseUrl: base, ...noSleep });
  const final = await c.followJob('j2', () => undefined);
  assert.equal(final.status, 'failed');
  assert.equal(polls, 3);
});

test('cancel sends DELETE /prove/{id}', async () => {
  seen.length = 0;
  handler = (_q, _b, res) => json(res, 200, { job_id: 'j 3', status: 'cancelled' });
  const c = new ProverClient({ baseUrl: base });
  const r = await c.cancelJob('j 3');
  assert.equal(r.status, 'cancelled');
  assert.equal(seen[0].method, 'DELETE');
  assert.equal(seen[0].url, '/prove/j%203');
});

test('SSE parser: chunk boundaries, multi-line data, CRLF split across chunks', () => {
  const p = new SseParser();
  assert.deepEqual(p.push('event: progress\ndata: {"a"'), []);
  assert.deepEqual(p.push(':1}\n'), []);
  assert.deepEqual(p.push('\n'), [{ event: 'progress', data: '{"a":1}' }]);
  assert.deepEqual(p.push('data: line1\r'), []);
  const evs = p.push('\ndata: line2\r\n\r\n');
  assert.deepEqual(evs, [{ event: 'message', data: 'line1\nline2' }]);
  assert.deepEqual(p.push('event: done\n\n'), []);
});

test('Retry-After: seconds and HTTP dates', () => {
  assert.equal(parseRetryAfter('3'), 3);
  assert.equal(parseRetryAfter(null), undefined);
  assert.equal(parseRetryAfter('soon'), undefined);
  const now = Date.parse('2026-01-01T00:00:00Z');
  assert.equal(parseRetryAfter('Thu, 01 Jan 2026 00:00:05 GMT', now), 5);
});
