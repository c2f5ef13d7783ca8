/**
 * HTTP client for `prover serve` (contract: its /openapi.json, README "Editor server"). Turns every failure into one `ProverError`
 * with a short code and a sentence for the user; retries 429 after `Retry-After`; streams job progress
 * over server-sent events. No `vscode` import: tested against a fake server under plain Node.
 */

export type SuggestionStatus = 'closes_goal' | 'valid' | 'error' | 'unchecked' | 'refused';

export interface Suggestion {
  tactic: string;
  logprob: number;
  status: SuggestionStatus;
  message?: string;
  goals_after?: string[];
}

/** What /suggest answered: the rows, the goals they were run on (when run in Lean) and the server's warning. */
export interface SuggestAnswer {
  suggestions: Suggestion[];
  checkedGoals: string[] | undefined;
  warning: string | undefined;
}

export interface TheoremContext {
  statement: string;
  header?: string;
}

export interface Premise {
  full_name: string;
  code: string;
  path: string;
  score: number;
}

/** The FPS solver's record, as /solve answers (the fields the companion shows). */
export interface SolveRecord {
  id?: string;
  status?: string;
  answer?: string | null;
  proof?: string;
  reason?: string;
  [key: string]: unknown;
}

/** Who decided an answer: `judge` (repl, comparator, simulation) and `simulation` (true: no Lean ran, a scripted
 * world answered). Servers before these fields send neither. */
export interface JudgedAnswer {
  judge?: string;
  simulation?: boolean;
}

export interface CheckResult extends JudgedAnswer {
  accepted: boolean;
  /** accepted | rejected | not_checked (a server without Lean never accepts) */
  status?: string;
  reasons: string[];
  mode: string;
}

export type JobStatus = 'queued' | 'running' | 'proved' | 'failed' | 'error' | 'cancelled';

export interface JobState extends JudgedAnswer {
  job_id: string;
  status: JobStatus;
  proof?: string;
  message?: string;
  progress: { expansions: number; nodes: number; elapsed_s: number };
}

export interface VersionInfo {
  version: string;
  backend: string;
  generator: string;
  lean: string;
}

/** Client-side codes (`unreachable`, `timeout`, `bad_response`, `cancelled`) plus the server's error codes. */
export class ProverError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status?: number,
    readonly retryAfterS?: number,
  ) {
    super(message);
    this.name = 'ProverError';
  }

  /** True when the server could not be reached at all (as opposed to answering with an error). */
  get isConnectionError(): boolean {
    return this.code === 'unreachable';
  }
}

export interface ClientOptions {
  baseUrl: string;
  apiKey?: string;
  timeoutMs?: number;
  /** How many times a 429 is retried after its Retry-After (0: fail at once). */
  maxBusyRetries?: number;
  /** Upper bound on one Retry-After wait, so a bogus header cannot stall the editor. */
  maxRetryAfterS?: number;
  fetchImpl?: typeof fetch;
  sleep?: (ms: number) => Promise<void>;
}

/** ` (simulation)` when a scripted world, not Lean, gave the verdict; `` otherwise. Shown next to every
 * "accepted" and "proved", so a simulated verdict never reads as Lean's. */
export function simulationNote(answer: JudgedAnswer): string {
  return answer.simulation === true || answer.judge === 'simulation' ? ' (simulation)' : '';
}

/** The message for an accepted /check. */
export function acceptedMessage(label: string, res: CheckResult): string {
  return `Prover: proof of ${label} accepted${simulationNote(res)} ✓ (${res.mode}).`;
}

/** The message for a proved /prove job whose proof was inserted. */
export function provedMessage(label: string, job: JobState): string {
  return `Prover: proof of ${label} proved${simulationNote(job)}, found and inserted.`;
}

const TERMINAL: ReadonlySet<JobStatus> = new Set<JobStatus>(['proved', 'failed', 'error', 'cancelled']);

export function isTerminal(status: JobStatus): boolean {
  return TERMINAL.has(status);
}

export class ProverClient {
  readonly baseUrl: string;
  private readonly apiKey: string;
  private readonly timeoutMs: number;
  private readonly maxBusyRetries: number;
  private readonly maxRetryAfterS: number;
  private readonly fetchImpl: typeof fetch;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(opts: ClientOptions) {
    this.baseUrl = opts.baseUrl.replace(/\/+$/, '');
    this.apiKey = opts.apiKey ?? '';
    this.timeoutMs = opts.timeoutMs ?? 30000;
    this.maxBusyRetries = opts.maxBusyRetries ?? 2;
    this.maxRetryAfterS = opts.maxRetryAfterS ?? 10;
    this.fetchImpl = opts.fetchImpl ?? fetch;
    this.sleep = opts.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
  }

  health(): Promise<{ status: string }> {
    return this.request('GET', '/health');
  }

  version(): Promise<VersionInfo> {
    return this.request('GET', '/version');
  }

  async suggest(goal: string, k: number, theorem?: TheoremContext, signal?: AbortSignal): Promise<Suggestion[]> {
    const body: Record<string, unknown> = { goal, k };
    if (theorem !== undefined) {
      body.theorem = theorem;
    }
    const res = await this.request<{ suggestions?: unknown }>('POST', '/suggest', body, signal);
    if (!Array.isArray(res.suggestions)) {
      throw new ProverError('bad_response', 'The server answered /suggest without a suggestions list.');
    }
    return res.suggestions.filter(
      (s): s is Suggestion => typeof s === 'object' && s !== null && typeof (s as Suggestion).tactic === 'string',
    );
  }

  /**
   * Suggestions at a point of a proof: `path` (the tactics before the cursor) is replayed from the theorem's
   * start and every suggestion is run on the state it reaches. The answer names that state (`checkedGoals`)
   * and the server's warning when it differs from `goal`.
   */
  async suggestAt(goal: string, k: number, theorem: TheoremContext | undefined, path: string[], signal?: AbortSignal): Promise<SuggestAnswer> {
    const body: Record<string, unknown> = { goal, k };
    if (theorem !== undefined) {
      body.theorem = theorem;
      if (path.length > 0) {
        body.path = path;
      }
    }
    const res = await this.request<{ suggestions?: unknown; checked_goals?: unknown; warning?: unknown }>('POST', '/suggest', body, signal);
    if (!Array.isArray(res.suggestions)) {
      throw new ProverError('bad_response', 'The server answered /suggest without a suggestions list.');
    }
    const suggestions = res.suggestions.filter(
      (s): s is Suggestion => typeof s === 'object' && s !== null && typeof (s as Suggestion).tactic === 'string',
    );
    const checkedGoals = Array.isArray(res.checked_goals) ? res.checked_goals.filter((g): g is string => typeof g === 'string') : undefined;
    const warning = typeof res.warning === 'string' && res.warning !== '' ? res.warning : undefined;
    return { suggestions, checkedGoals, warning };
  }

  async premises(goal: string, k: number): Promise<Premise[]> {
    const res = await this.request<{ premises?: Premise[] }>('POST', '/premises', { goal, k });
    return Array.isArray(res.premises) ? res.premises : [];
  }

  check(statement: string, proof: string, header?: string): Promise<CheckResult> {
    return this.request('POST', '/check', header ? { statement, proof, header } : { statement, proof });
  }

  /** FPS solving, editor form: a Lean statement `theorem NAME <binders> : ∃ (answer : T), <conclusion>` and the
   * text above it; the server builds the FPS problem from it (no ground truth: status `answered`, not RPE-judged). */
  solve(statement: string, header?: string): Promise<SolveRecord> {
    return this.request('POST', '/solve', header ? { statement, header } : { statement });
  }

  async startProve(statement: string, header: string | undefined, maxExpansions: number, timeLimitS: number): Promise<string> {
    const body: Record<string, unknown> = { statement, max_expansions: maxExpansions, time_limit_s: timeLimitS };
    if (header) {
      body.header = header;
    }
    const res = await this.request<{ job_id?: string }>('POST', '/prove', body);
    if (typeof res.job_id !== 'string') {
      throw new ProverError('bad_response', 'The server answered /prove without a job_id.');
    }
    return res.job_id;
  }

  job(jobId: string): Promise<JobState> {
    return this.request('GET', `/prove/${encodeURIComponent(jobId)}`);
  }

  cancelJob(jobId: string): Promise<JobState> {
    return this.request('DELETE', `/prove/${encodeURIComponent(jobId)}`);
  }

  /**
   * Follow a proof job to its end: server-sent events when the server streams them, polling otherwise.
   * `onProgress` sees every state; the final state is returned. Aborting `signal` stops following (the caller
   * sends DELETE).
   */
  async followJob(
    jobId: string,
    onProgress: (s: JobState) => void,
    signal?: AbortSignal,
    pollMs = 500,
  ): Promise<JobState> {
    try {
      const final = await this.followEvents(jobId, onProgress, signal);
      if (final !== undefined) {
        return final;
      }
    } catch (e) {
      if (signal?.aborted) {
        throw new ProverError('cancelled', 'Cancelled.');
      }
      if (e instanceof ProverError && e.code !== 'no_stream') {
        throw e;
      }
    }
    for (;;) {
      if (signal?.aborted) {
        throw new ProverError('cancelled', 'Cancelled.');
      }
      const state = await this.job(jobId);
      onProgress(state);
      if (isTerminal(state.status)) {
        return state;
      }
      await this.sleep(pollMs);
    }
  }

  private async followEvents(
    jobId: string,
    onProgress: (s: JobState) => void,
    signal?: AbortSignal,
  ): Promise<JobState | undefined> {
    const url = `${this.baseUrl}/prove/${encodeURIComponent(jobId)}/events`;
    let res: Response;
    try {
      res = await this.fetchImpl(url, { headers: { ...this.headers(), Accept: 'text/event-stream' }, signal });
    } catch {
      throw new ProverError('no_stream', 'No event stream.');
    }
    const type = res.headers.get('content-type') ?? '';
    if (!res.ok || !type.includes('text/event-stream') || res.body === null) {
      throw new ProverError('no_stream', 'No event stream.');
    }
    const parser = new SseParser();
    let last: JobState | undefined;
    const decoder = new TextDecoder();
    const reader = res.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      const events = parser.push(done ? '' : decoder.decode(value, { stream: true }));
      if (done) {
        events.push(...parser.flush());
      }
      for (const ev of events) {
        const state = parseJobState(ev.data);
        if (state === undefined) {
          continue;
        }
        last = state;
        onProgress(state);
        if (ev.event === 'done' || isTerminal(state.status)) {
          await reader.cancel().catch(() => undefined);
          return state;
        }
      }
      if (done) {
        // Stream ended without a final event: the caller falls back to polling.
        return last !== undefined && isTerminal(last.status) ? last : undefined;
      }
    }
  }

  private headers(): Record<string, string> {
    return this.apiKey ? { 'X-API-Key': this.apiKey } : {};
  }

  async request<T>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(), this.timeoutMs);
      const onAbort = (): void => controller.abort();
      signal?.addEventListener('abort', onAbort);
      let res: Response;
      let text: string;
      try {
        res = await this.fetchImpl(this.baseUrl + path, {
          method,
          headers: { ...this.headers(), ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
          body: body === undefined ? undefined : JSON.stringify(body),
          signal: controller.signal,
        });
        text = await res.text();
      } catch (e) {
        if (signal?.aborted) {
          throw new ProverError('cancelled', 'Cancelled.');
        }
        if (controller.signal.aborted) {
          throw new ProverError('timeout', `The server did not answer ${method} ${path} within ${this.timeoutMs} ms.`);
        }
        throw new ProverError('unreachable', `Cannot reach the prover server at ${this.baseUrl} (${describe(e)}).`);
      } finally {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      }
      if (res.status === 429) {
        const wait = parseRetryAfter(res.headers.get('retry-after'));
        if (attempt < this.maxBusyRetries) {
          await this.sleep(Math.min(wait ?? 1, this.maxRetryAfterS) * 1000);
          continue;
        }
        throw new ProverError('busy', errorMessage(text) ?? 'The server is busy; try again shortly.', 429, wait);
      }
      if (!res.ok) {
        throw errorFromResponse(res.status, text);
      }
      try {
        return JSON.parse(text) as T;
      } catch {
        throw new ProverError('bad_response', `The server answered ${method} ${path} with something that is not JSON.`, res.status);
      }
    }
  }
}

function describe(e: unknown): string {
  if (e instanceof Error) {
    const cause = (e as Error & { cause?: { code?: string } }).cause;
    return cause?.code ?? e.message;
  }
  return String(e);
}

/** `Retry-After` in seconds (delta-seconds or an HTTP date), or undefined. */
export function parseRetryAfter(value: string | null, now: number = Date.now()): number | undefined {
  if (value === null || value.trim() === '') {
    return undefined;
  }
  if (/^\d+(\.\d+)?$/.test(value.trim())) {
    return Number(value.trim());
  }
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, (date - now) / 1000);
}

function errorMessage(text: string): string | undefined {
  try {
    const parsed = JSON.parse(text) as { error?: { message?: unknown } };
    const msg = parsed?.error?.message;
    return typeof msg === 'string' ? msg : undefined;
  } catch {
    return undefined;
  }
}

function errorCode(text: string): string | undefined {
  try {
    const parsed = JSON.parse(text) as { error?: { code?: unknown } };
    const code = parsed?.error?.code;
    return typeof code === 'string' ? code : undefined;
  } catch {
    return undefined;
  }
}

/** A `ProverError` from a non-2xx answer, using the contract's `{"error": {code, message}}` body when present. */
export function errorFromResponse(status: number, text: string): ProverError {
  const msg = errorMessage(text);
  const code = errorCode(text);
  if (status === 401) {
    return new ProverError(
      code ?? 'unauthorized',
      `The server refused our token: it is read from the server's token file (prover.tokenDir) or prover.apiKey${msg ? ` (${msg})` : ''}.`,
      401,
    );
  }
  if (status === 501) {
    return new ProverError(code ?? 'not_available', msg ?? 'This feature is not available on the server yet.', 501);
  }
  const fallback = `The server answered HTTP ${status}.`;
  return new ProverError(code ?? `http_${status}`, msg ?? fallback, status);
}

function parseJobState(data: string): JobState | undefined {
  try {
    const parsed = JSON.parse(data) as JobState;
    return typeof parsed === 'object' && parsed !== null && typeof parsed.status === 'string' ? parsed : undefined;
  } catch {
    return undefined;
  }
}

export interface SseEvent {
  event: string;
  data: string;
  id?: string;
}

/** Incremental `text/event-stream` parser (WHATWG rules: blank line ends an event, `data:` lines join with \n). */
export class SseParser {
  private buffer = '';
  private event = '';
  private data: string[] = [];
  private id: string | undefined;

  push(chunk: string): SseEvent[] {
    this.buffer += chunk;
    const out: SseEvent[] = [];
    for (;;) {
      const m = /\r\n|\r|\n/.exec(this.buffer);
      if (m === null) {
        break;
      }
      // A lone \r at the end may be the first half of \r\n: wait for more.
      if (m[0] === '\r' && m.index === this.buffer.length - 1) {
        break;
      }
      const line = this.buffer.slice(0, m.index);
      this.buffer = this.buffer.slice(m.index + m[0].length);
      const ev = this.line(line);
      if (ev !== undefined) {
        out.push(ev);
      }
    }
    return out;
  }

  /** Events left when the stream closed (a final event without its blank line is dropped, as browsers do). */
  flush(): SseEvent[] {
    this.buffer = '';
    this.event = '';
    this.data = [];
    return [];
  }

  private line(line: string): SseEvent | undefined {
    if (line === '') {
      if (this.data.length === 0) {
        this.event = '';
        return undefined;
      }
      const ev: SseEvent = { event: this.event || 'message', data: this.data.join('\n') };
      if (this.id !== undefined) {
        ev.id = this.id;
      }
      this.event = '';
      this.data = [];
      return ev;
    }
    if (line.startsWith(':')) {
      return undefined;
    }
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) {
      value = value.slice(1);
    }
    if (field === 'event') {
      this.event = value;
    } else if (field === 'data') {
      this.data.push(value);
    } else if (field === 'id') {
      this.id = value;
    }
    return undefined;
  }
}
