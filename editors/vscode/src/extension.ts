/**
 * VS Code glue of the Lean prover companion: commands, quick picks, "Try this" code actions, the status-bar
 * item and the connection to `prover serve`. The logic lives in the vscode-free modules next to this one.
 */
import * as path from 'path';
import * as vscode from 'vscode';
import { buildInsertion, nameInsertion, TextEditSpec } from './edits';
import { Declaration, findEnclosingDeclaration, parsePlainGoal, sorryAt, splitGoal, statementToGoal, tacticsBefore } from './goals';
import { clientProviderOf, pickClient, plainGoalParams } from './leanApi';
import { acceptedMessage, JobState, provedMessage, ProverClient, ProverError, Suggestion, TheoremContext } from './protocol';
import { readToken, resolveUrl, ServerProcess, serveArgv, tokenPath } from './serverProcess';

const LEAN_SELECTOR: vscode.DocumentSelector = [
  { language: 'lean4' },
  { language: 'lean' },
  { scheme: 'file', pattern: '**/*.lean' },
  { scheme: 'untitled', language: 'lean4' },
];

type ConnState = 'unknown' | 'connected' | 'busy' | 'down' | 'stopped';

function settings(): vscode.WorkspaceConfiguration {
  return vscode.workspace.getConfiguration('prover');
}

/** The connection to `prover serve`: status bar, auto-start, and "down" said once per outage. */
class Connection implements vscode.Disposable {
  private state: ConnState = 'unknown';
  private busy = 0;
  private downNotified = false;
  private readonly item: vscode.StatusBarItem;
  private readonly server: ServerProcess;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly log: vscode.OutputChannel) {
    this.item = vscode.window.createStatusBarItem('prover.status', vscode.StatusBarAlignment.Left, 100);
    this.item.name = 'Prover';
    this.item.command = 'prover.showLog';
    this.server = new ServerProcess((line) => this.log.appendLine(`[serve] ${line}`));
    this.render();
    this.item.show();
    void this.probe();
    this.timer = setInterval(() => void this.probe(), 15000);
  }

  client(): ProverClient {
    const cfg = settings();
    const url = resolveUrl(cfg.get<string>('serverUrl', ''));
    // the key if one is set, else the token `prover serve` wrote for this start (a user-only file)
    let apiKey = cfg.get<string>('apiKey', '');
    if (apiKey === '' && url.loopback) {
      apiKey = readToken(tokenPath(url.port, cfg.get<string>('tokenDir', ''))) ?? '';
    }
    return new ProverClient({ baseUrl: url.baseUrl, apiKey, timeoutMs: cfg.get<number>('requestTimeoutMs', 30000) });
  }

  /** Quiet health check for the status bar; never notifies. */
  async probe(): Promise<void> {
    if (this.busy > 0) {
      return;
    }
    try {
      await this.client().health();
      this.setState('connected');
    } catch {
      const url = resolveUrl(settings().get<string>('serverUrl', ''));
      const canStart = settings().get<boolean>('autoStart', true) && url.loopback && !this.server.running;
      this.setState(canStart && this.state !== 'down' ? 'stopped' : 'down');
    }
  }

  /** Run one request against the server, starting it first when allowed; errors are shown, not thrown. */
  async run<T>(what: string, fn: (c: ProverClient) => Promise<T>): Promise<T | undefined> {
    this.busy++;
    this.render();
    try {
      const client = await this.ensureServer();
      if (client === undefined) {
        return undefined;
      }
      const result = await fn(client);
      this.setState('connected');
      return result;
    } catch (e) {
      this.report(what, e);
      return undefined;
    } finally {
      this.busy--;
      this.render();
    }
  }

  report(what: string, e: unknown): void {
    if (e instanceof ProverError) {
      this.log.appendLine(`${what}: ${e.code}: ${e.message}`);
      if (e.isConnectionError) {
        this.markDown(e.message);
        return;
      }
      this.setState('connected');
      if (e.code === 'cancelled') {
        return;
      }
      if (e.status === 501) {
        showLong('warning', `Prover: ${what} is not available on this server: ${e.message}`, this.log);
        return;
      }
      showLong('error', `Prover: ${what} failed: ${e.message}`, this.log);
      return;
    }
    const msg = e instanceof Error ? e.message : String(e);
    this.log.appendLine(`${what}: ${msg}`);
    showLong('error', `Prover: ${what} failed: ${msg}`, this.log);
  }

  private markDown(message: string): void {
    this.setState('down');
    if (this.downNotified) {
      vscode.window.setStatusBarMessage('Prover: server still down', 4000);
      return;
    }
    this.downNotified = true;
    void vscode.window.showErrorMessage(`Prover: server is down. ${clip(message)}`, 'Start server', 'Show log').then((choice) => {
      if (choice === 'Start server') {
        void vscode.commands.executeCommand('prover.startServer');
      } else if (choice === 'Show log') {
        this.log.show(true);
      }
    });
  }

  private async ensureServer(): Promise<ProverClient | undefined> {
    const client = this.client();
    try {
      await client.health();
      return client;
    } catch (e) {
      const url = resolveUrl(settings().get<string>('serverUrl', ''));
      if (!(settings().get<boolean>('autoStart', true) && url.loopback)) {
        throw e;
      }
      return (await this.start()) ? client : undefined;
    }
  }

  /** Start `prover serve` and wait for /health; true when it answers. */
  async start(): Promise<boolean> {
    const cfg = settings();
    const url = resolveUrl(cfg.get<string>('serverUrl', ''));
    let argv: string[];
    try {
      argv = serveArgv(cfg.get<string[]>('serverCommand', ['prover', 'serve']), url, cfg.get<string[]>('serverOverrides', []));
    } catch (e) {
      this.markDown(e instanceof Error ? e.message : String(e));
      return false;
    }
    const cwd = cfg.get<string>('serverCwd', '') || vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
    this.server.start(argv, cwd, cfg.get<string>('apiKey', ''));
    const client = this.client();
    const ok = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: 'Prover: starting prover serve…', cancellable: true },
      async (_p, token) => {
        const deadline = Date.now() + 120000;
        while (Date.now() < deadline && !token.isCancellationRequested) {
          try {
            await client.health();
            return true;
          } catch {
            if (!this.server.running) {
              return false;
            }
            await new Promise((r) => setTimeout(r, 500));
          }
        }
        return false;
      },
    );
    if (ok) {
      this.setState('connected');
      return true;
    }
    const why = this.server.failure();
    this.server.stop();
    this.log.appendLine(`start failed: ${why}`);
    this.markDown(why);
    return false;
  }

  private setState(s: ConnState): void {
    if (s === 'connected') {
      this.downNotified = false;
    }
    this.state = s;
    this.render();
  }

  private render(): void {
    const url = resolveUrl(settings().get<string>('serverUrl', '')).baseUrl;
    if (this.busy > 0) {
      this.item.text = '$(sync~spin) Prover: busy';
      this.item.tooltip = `Waiting for ${url}`;
      this.item.backgroundColor = undefined;
      return;
    }
    switch (this.state) {
      case 'connected':
        this.item.text = '$(check) Prover: connected';
        this.item.tooltip = `Connected to ${url}`;
        this.item.backgroundColor = undefined;
        break;
      case 'down':
        this.item.text = '$(error) Prover: down';
        this.item.tooltip = `No prover server at ${url}; click for the log`;
        this.item.backgroundColor = new vscode.ThemeColor('statusBarItem.errorBackground');
        break;
      case 'stopped':
        this.item.text = '$(circle-outline) Prover: not started';
        this.item.tooltip = `prover serve starts on first use at ${url}`;
        this.item.backgroundColor = undefined;
        break;
      default:
        this.item.text = '$(loading~spin) Prover';
        this.item.tooltip = `Checking ${url}`;
    }
  }

  dispose(): void {
    clearInterval(this.timer);
    this.server.stop();
    this.item.dispose();
  }
}

interface GoalContext {
  goal: string;
  source: 'lean' | 'selection' | 'declaration';
  declaration: Declaration | undefined;
}

interface CachedSuggestions {
  uri: string;
  version: number;
  position: vscode.Position;
  suggestions: Suggestion[];
}

const STATUS_MARK: Record<string, string> = {
  closes_goal: '✓ closes goal',
  valid: '● valid',
  error: '✗ error',
  refused: '⊘ refused by guard',
  unchecked: '○ unchecked',
};
const STATUS_ORDER: Record<string, number> = { closes_goal: 0, valid: 1, unchecked: 2, error: 3, refused: 4 };

export function activate(context: vscode.ExtensionContext): void {
  const log = vscode.window.createOutputChannel('Prover');
  const conn = new Connection(log);
  const stateView = new ProofStateView();
  const problems = vscode.languages.createDiagnosticCollection('prover');
  let noLeanNotified = false;
  let cache: CachedSuggestions | undefined;

  const theoremOf = (decl: Declaration | undefined): TheoremContext | undefined =>
    decl === undefined ? undefined : decl.header ? { statement: decl.statement, header: decl.header } : { statement: decl.statement };

  async function leanGoals(doc: vscode.TextDocument, pos: vscode.Position): Promise<string[] | null> {
    const ext = vscode.extensions.getExtension('leanprover.lean4');
    if (ext === undefined) {
      return null;
    }
    try {
      const exports: unknown = ext.isActive ? ext.exports : await ext.activate();
      const provider = await clientProviderOf(exports, 5000);
      const client = provider === undefined ? undefined : pickClient(provider, doc.uri.fsPath);
      if (client === undefined) {
        log.appendLine('Lean 4 extension: no Lean client for this file yet.');
        return [];
      }
      const answer = await client.sendRequest('$/lean/plainGoal', plainGoalParams(doc.uri.toString(), pos.line, pos.character));
      return parsePlainGoal(answer);
    } catch (e) {
      log.appendLine(`Lean 4 extension: plainGoal failed: ${e instanceof Error ? e.message : String(e)}`);
      return [];
    }
  }

  async function goalContext(editor: vscode.TextEditor): Promise<GoalContext | undefined> {
    const doc = editor.document;
    const pos = editor.selection.active;
    const declaration = findEnclosingDeclaration(doc.getText(), doc.offsetAt(pos));
    const goals = await leanGoals(doc, pos);
    if (goals !== null && goals.length > 0) {
      return { goal: goals.join('\n\n'), source: 'lean', declaration };
    }
    if (goals === null && !noLeanNotified) {
      noLeanNotified = true;
      void vscode.window.showInformationMessage(
        'Prover: the Lean 4 extension is not installed, so the goal comes from the selected text or the enclosing declaration.',
      );
    }
    const options: { label: string; description: string; ctx: GoalContext }[] = [];
    const selected = doc.getText(editor.selection).trim();
    if (selected !== '') {
      options.push({ label: 'Selected text', description: firstLine(selected), ctx: { goal: selected, source: 'selection', declaration } });
    }
    if (declaration !== undefined) {
      options.push({
        label: `Enclosing declaration${declaration.name ? ` ${declaration.name}` : ''}`,
        description: firstLine(declaration.statement),
        ctx: { goal: statementToGoal(declaration.statement), source: 'declaration', declaration },
      });
    }
    if (options.length === 0) {
      void vscode.window.showWarningMessage(
        'Prover: no goal here: select the goal text or put the cursor inside a theorem, lemma or example.',
      );
      return undefined;
    }
    if (options.length === 1) {
      return options[0].ctx;
    }
    const pick = await vscode.window.showQuickPick(options, { title: 'Prover: send which text as the goal?' });
    return pick?.ctx;
  }

  async function applyAt(editor: vscode.TextEditor, pos: vscode.Position, text: string): Promise<boolean> {
    const doc = editor.document;
    const lines = Array.from({ length: doc.lineCount }, (_, i) => doc.lineAt(i).text);
    const edit = toWorkspaceEdit(doc.uri, buildInsertion(lines, { line: pos.line, character: pos.character }, text));
    return vscode.workspace.applyEdit(edit);
  }

  async function suggest(): Promise<void> {
    const editor = vscode.window.activeTextEditor;
    if (editor === undefined) {
      return;
    }
    const ctx = await goalContext(editor);
    if (ctx === undefined) {
      return;
    }
    const k = settings().get<number>('suggestionCount', 8);
    const position = editor.selection.active;
    const version = editor.document.version;
    const doc = editor.document;
    // the proof so far: the server replays it, so the marks are for the goal at the cursor
    const path = ctx.declaration === undefined ? undefined : tacticsBefore(doc.getText(), ctx.declaration, doc.offsetAt(position));
    const theorem = path === undefined ? undefined : theoremOf(ctx.declaration);
    if (path !== undefined && path.length > 0) {
      log.appendLine(`suggest: proof so far (${path.length} steps): ${JSON.stringify(path)}`);
    }
    const answer = await conn.run('Suggest tactics', (c) => c.suggestAt(ctx.goal, k, theorem, path ?? []));
    if (answer === undefined) {
      return;
    }
    const suggestions = answer.suggestions;
    let where: string;
    if (answer.checkedGoals !== undefined) {
      where = path !== undefined && path.length > 0 ? `after the ${path.length} tactic(s) before the cursor` : 'at the start of the proof';
    } else if (ctx.declaration === undefined) {
      where = 'goal not known: no enclosing theorem, so nothing is checked';
    } else if (path === undefined) {
      where = 'goal not known: the proof so far could not be read here (term proof or inside a nested block), so nothing is checked';
    } else {
      where = `not checked: ${suggestions.find((s) => s.message)?.message ?? 'the server did not run them'}`;
    }
    if (answer.warning !== undefined) {
      log.appendLine(`suggest: server warning: ${answer.warning}`);
    }
    // without Lean the goal sent is the theorem's first one, so "not the state after path" is expected there;
    // with the Lean extension's goal it means the file and the server disagree: said in the list's title
    const shownWarning = ctx.source === 'declaration' && (path?.length ?? 0) > 0 ? undefined : answer.warning;
    const goals = answer.checkedGoals ?? [ctx.goal];
    stateView.show(`State ${where}`, goals, answer.checkedGoals !== undefined, suggestions);
    if (suggestions.length === 0) {
      void vscode.window.showInformationMessage('Prover: no suggestions for this goal.');
      return;
    }
    const sorted = [...suggestions].sort((a, b) => (STATUS_ORDER[a.status] ?? 9) - (STATUS_ORDER[b.status] ?? 9) || b.logprob - a.logprob);
    cache = { uri: editor.document.uri.toString(), version, position, suggestions: sorted };
    const items: (vscode.QuickPickItem & { suggestion?: Suggestion })[] = sorted.map((s) => ({
      label: s.tactic.replace(/\s*\n\s*/g, '; '),
      description: STATUS_MARK[s.status] ?? s.status,
      detail: suggestionDetail(s),
      suggestion: s,
    }));
    // what the marks refer to, first in the list: the goal they were checked on, or that it is not known
    const checkedTarget = answer.checkedGoals !== undefined ? targetLine(answer.checkedGoals[0] ?? 'no goals') : undefined;
    const anyChecked = suggestions.some((s) => s.status !== 'unchecked' && s.status !== 'refused');
    let heading = 'Goal not known here: suggestions not checked';
    if (checkedTarget !== undefined) {
      heading = `Marks for ${checkedTarget}`;
    } else if (anyChecked) {
      heading = `Marks for ${targetLine(ctx.goal)}`;
    }
    items.unshift({ label: heading, kind: vscode.QuickPickItemKind.Separator });
    const pick = await vscode.window.showQuickPick(items, {
      title: `Prover: ${sorted.length} suggestions (goal from ${ctx.source}; ${where})${shownWarning !== undefined ? ` · server: ${shownWarning}` : ''}`,
      placeHolder: checkedTarget ?? targetLine(ctx.goal),
      matchOnDescription: true,
    });
    if (pick?.suggestion !== undefined && vscode.window.activeTextEditor === editor) {
      await applyAt(editor, position, pick.suggestion.tactic);
    }
  }

  async function prove(): Promise<void> {
    const editor = vscode.window.activeTextEditor;
    if (editor === undefined) {
      return;
    }
    const doc = editor.document;
    const position = editor.selection.active;
    const decl = findEnclosingDeclaration(doc.getText(), doc.offsetAt(position));
    if (decl === undefined) {
      void vscode.window.showWarningMessage('Prover: put the cursor inside a theorem, lemma or example to prove it.');
      return;
    }
    const cfg = settings();
    const budget = cfg.get<number>('searchBudget', 64);
    const limit = cfg.get<number>('proveTimeLimit', 120);
    const label = decl.name ?? 'this example';
    const final = await conn.run('Prove', async (c) => {
      const jobId = await c.startProve(decl.statement, decl.header || undefined, budget, limit);
      log.appendLine(`prove ${label}: job ${jobId}`);
      return vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `Prover: searching for a proof of ${label}`, cancellable: true },
        async (progress, token) => {
          const abort = new AbortController();
          token.onCancellationRequested(() => {
            abort.abort();
            void c.cancelJob(jobId).catch((e: unknown) => log.appendLine(`cancel ${jobId}: ${String(e)}`));
          });
          // the clock runs here, once a second: a step of the search may take long without a server event
          const started = Date.now();
          let last = 'queued';
          const render = (): void => progress.report({ message: `${last} · ${((Date.now() - started) / 1000).toFixed(0)} s` });
          const clock = setInterval(render, 1000);
          try {
            return await c.followJob(
              jobId,
              (s: JobState) => {
                const p = s.progress;
                last = p ? `${s.status}: ${p.expansions} expansions, ${p.nodes} nodes` : s.status;
                render();
              },
              abort.signal,
            );
          } finally {
            clearInterval(clock);
          }
        },
      );
    });
    if (final === undefined) {
      return;
    }
    const target = proofTarget(doc, position, decl);
    if (final.status !== 'proved' || final.proof === undefined) {
      const why = `no proof of ${label} (${final.status})${final.message ? `: ${final.message}` : ''}`;
      problems.set(doc.uri, [problemAt(doc, target, `Prover: ${why}`, vscode.DiagnosticSeverity.Warning)]);
      showLong('warning', `Prover: ${why}.`, log);
      return;
    }
    problems.delete(doc.uri);
    await applyAt(editor, target, final.proof);
    void vscode.window.showInformationMessage(provedMessage(label, final));
  }

  async function premises(): Promise<void> {
    const editor = vscode.window.activeTextEditor;
    if (editor === undefined) {
      return;
    }
    const ctx = await goalContext(editor);
    if (ctx === undefined) {
      return;
    }
    const found = await conn.run('Search premises', (c) => c.premises(ctx.goal, 10));
    if (found === undefined) {
      return;
    }
    if (found.length === 0) {
      void vscode.window.showInformationMessage('Prover: no premises found.');
      return;
    }
    const pick = await vscode.window.showQuickPick(
      found.map((p) => ({ label: p.full_name, description: `${p.path} · ${p.score.toFixed(3)}`, detail: firstLine(p.code), premise: p })),
      { title: 'Prover: premises (pick one to insert its name)', matchOnDetail: true },
    );
    if (pick !== undefined) {
      const sel = editor.selection;
      const lineNo = sel.active.line;
      const line = editor.document.lineAt(lineNo).text;
      const [from, to] = sel.isEmpty || sel.start.line !== sel.end.line ? [sel.active.character, sel.active.character] : [sel.start.character, sel.end.character];
      await vscode.workspace.applyEdit(toWorkspaceEdit(editor.document.uri, nameInsertion(line, lineNo, from, to, pick.premise.full_name)));
    }
  }

  async function check(): Promise<void> {
    const editor = vscode.window.activeTextEditor;
    if (editor === undefined) {
      return;
    }
    const doc = editor.document;
    const decl = findEnclosingDeclaration(doc.getText(), doc.offsetAt(editor.selection.active));
    if (decl === undefined || decl.proof === '') {
      void vscode.window.showWarningMessage('Prover: put the cursor inside a theorem, lemma or example with a proof to check it.');
      return;
    }
    const res = await conn.run('Check proof', (c) => c.check(decl.statement, decl.proof, decl.header || undefined));
    if (res === undefined) {
      return;
    }
    const label = decl.name ?? 'this example';
    const range = new vscode.Range(doc.positionAt(decl.start), doc.positionAt(decl.end));
    if (res.accepted === true && (res.status === undefined || res.status === 'accepted')) {
      problems.delete(doc.uri);
      void vscode.window.showInformationMessage(acceptedMessage(label, res));
    } else if (res.status === 'not_checked') {
      // a server without Lean: the guard found nothing to refuse, which is not a proof
      problems.set(doc.uri, [new vscode.Diagnostic(range, `Prover: proof of ${label} not checked by Lean (${res.mode})`, vscode.DiagnosticSeverity.Information)]);
      showLong('warning', `Prover: proof of ${label} NOT checked by Lean (${res.mode}): ${res.reasons.join('; ')}`, log);
    } else {
      const why = res.reasons.join('; ') || 'no reason given';
      const diag = new vscode.Diagnostic(range, `Prover: proof of ${label} rejected (${res.mode}): ${why}`, vscode.DiagnosticSeverity.Error);
      diag.source = 'prover';
      problems.set(doc.uri, [diag]);
      showLong('warning', `Prover: proof of ${label} rejected (${res.mode}): ${why}.`, log);
    }
  }

  async function solve(): Promise<void> {
    const editor = vscode.window.activeTextEditor;
    if (editor === undefined) {
      return;
    }
    const doc = editor.document;
    const selected = doc.getText(editor.selection).trim();
    const decl = findEnclosingDeclaration(doc.getText(), doc.offsetAt(editor.selection.active));
    const statement = selected !== '' ? selected : decl?.statement;
    if (statement === undefined) {
      void vscode.window.showWarningMessage('Prover: select a problem or put the cursor inside a theorem to solve it.');
      return;
    }
    const label = selected !== '' ? 'the selection' : decl?.name ?? 'this example';
    const res = await conn.run('Solve', (c) => c.solve(statement, decl?.header || undefined));
    if (res === undefined) {
      return;
    }
    log.appendLine(`solve ${path.basename(doc.uri.fsPath)} ${label}: ${JSON.stringify(res)}`);
    const status = typeof res.status === 'string' ? res.status : 'unknown';
    if ((status === 'answered' || status === 'solved') && typeof res.answer === 'string') {
      const how = status === 'solved' ? 'matches the ground truth' : 'proved; no ground truth to compare with';
      void vscode.window.showInformationMessage(`Prover: solved ${label}: answer = ${res.answer} (${how}).`);
    } else {
      const why = typeof res.reason === 'string' && res.reason !== '' ? `: ${res.reason}` : '';
      void vscode.window.showWarningMessage(`Prover: no answer for ${label} (${status})${why}.`);
    }
  }

  const actions: vscode.CodeActionProvider = {
    provideCodeActions(doc, range) {
      const out: vscode.CodeAction[] = [];
      const line = range.start.line;
      if (cache !== undefined && cache.uri === doc.uri.toString() && cache.version === doc.version && cache.position.line === line) {
        const lines = Array.from({ length: doc.lineCount }, (_, i) => doc.lineAt(i).text);
        let preferred = false;
        for (const s of cache.suggestions) {
          const closes = s.status === 'closes_goal';
          const title = `Try this: ${s.tactic.replace(/\s*\n\s*/g, '; ')}  ${STATUS_MARK[s.status] ?? s.status}`;
          const action = new vscode.CodeAction(title, vscode.CodeActionKind.QuickFix);
          action.edit = toWorkspaceEdit(doc.uri, buildInsertion(lines, { line: cache.position.line, character: cache.position.character }, s.tactic));
          if (closes && !preferred) {
            action.isPreferred = true;
            preferred = true;
          }
          out.push(action);
        }
      }
      const suggestAction = new vscode.CodeAction('Prover: suggest tactics here', vscode.CodeActionKind.QuickFix);
      suggestAction.command = { command: 'prover.suggest', title: 'Prover: suggest tactics here' };
      out.push(suggestAction);
      if (sorryAt(doc.lineAt(line).text, range.start.character) !== undefined) {
        const proveAction = new vscode.CodeAction('Prover: fill this sorry by proof search', vscode.CodeActionKind.QuickFix);
        proveAction.command = { command: 'prover.prove', title: 'Prover: fill this sorry' };
        out.push(proveAction);
      }
      return out;
    },
  };

  context.subscriptions.push(
    log,
    conn,
    vscode.commands.registerCommand('prover.suggest', suggest),
    vscode.commands.registerCommand('prover.prove', prove),
    vscode.commands.registerCommand('prover.premises', premises),
    vscode.commands.registerCommand('prover.check', check),
    vscode.commands.registerCommand('prover.solve', solve),
    vscode.commands.registerCommand('prover.startServer', () => conn.start()),
    vscode.commands.registerCommand('prover.showLog', () => log.show(true)),
    vscode.window.registerTreeDataProvider('prover.proofState', stateView),
    problems,
    vscode.workspace.onDidChangeTextDocument((e) => {
      if (e.contentChanges.length > 0 && problems.has(e.document.uri)) {
        problems.delete(e.document.uri); // the text the diagnostic spoke of has changed
      }
    }),
    vscode.languages.registerCodeActionsProvider(LEAN_SELECTOR, actions, { providedCodeActionKinds: [vscode.CodeActionKind.QuickFix] }),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration('prover')) {
        void conn.probe();
      }
    }),
  );
  log.appendLine('Prover companion activated.');
}

export function deactivate(): void {
  // Disposables (including a started server) are cleaned up through context.subscriptions.
}

function toWorkspaceEdit(uri: vscode.Uri, spec: TextEditSpec): vscode.WorkspaceEdit {
  const edit = new vscode.WorkspaceEdit();
  edit.replace(uri, new vscode.Range(spec.start.line, spec.start.character, spec.end.line, spec.end.character), spec.newText);
  return edit;
}

/** Where a found proof goes: the `sorry` at the cursor, else the declaration's own `sorry`, else the cursor. */
function proofTarget(doc: vscode.TextDocument, cursor: vscode.Position, decl: Declaration): vscode.Position {
  if (sorryAt(doc.lineAt(cursor.line).text, cursor.character) !== undefined) {
    return cursor;
  }
  const first = doc.positionAt(decl.start).line;
  const last = doc.positionAt(decl.end).line;
  for (let i = first; i <= last; i++) {
    const m = /(?<![A-Za-z0-9_'.])sorry(?![A-Za-z0-9_'])/.exec(doc.lineAt(i).text);
    if (m !== null) {
      return new vscode.Position(i, m.index);
    }
  }
  return cursor;
}

function suggestionDetail(s: Suggestion): string | undefined {
  if (s.message) {
    return s.message;
  }
  if (s.goals_after !== undefined && s.goals_after.length > 0) {
    return `then: ${s.goals_after.map(targetLine).join(' | ')}`;
  }
  return undefined;
}

/** The `⊢` line of a goal (what it asks for), else its first line. */
function targetLine(goal: string): string {
  return firstLine(goal.split('\n').find((l) => l.trimStart().startsWith('⊢')) ?? goal);
}

function firstLine(s: string): string {
  const line = s.split('\n').find((l) => l.trim() !== '') ?? '';
  return line.length > 100 ? `${line.slice(0, 97)}…` : line;
}

/** Notifications cut long text: show the first sentence-sized part and the whole text on "Show details". */
function showLong(kind: 'error' | 'warning' | 'info', message: string, log: vscode.OutputChannel): void {
  const show =
    kind === 'error' ? vscode.window.showErrorMessage : kind === 'warning' ? vscode.window.showWarningMessage : vscode.window.showInformationMessage;
  if (message.length <= LONG_MESSAGE) {
    void show(message);
    return;
  }
  log.appendLine(message);
  void show(clip(message), 'Show details').then((choice) => {
    if (choice === 'Show details') {
      void show(message, { modal: true });
    }
  });
}

const LONG_MESSAGE = 240;

function clip(message: string): string {
  return message.length <= LONG_MESSAGE ? message : `${message.slice(0, LONG_MESSAGE - 1)}…`;
}

/** One node of the proof-state view: a goal (its target), a hypothesis, or a line saying where the state is from. */
class StateNode extends vscode.TreeItem {
  constructor(
    label: string,
    readonly children: StateNode[] = [],
    description?: string,
    tooltip?: string,
  ) {
    super(label, children.length > 0 ? vscode.TreeItemCollapsibleState.Expanded : vscode.TreeItemCollapsibleState.None);
    this.description = description;
    this.tooltip = tooltip ?? label;
  }
}

/**
 * The proof-state view (Explorer: "Prover: Proof State"), like the Lean infoview's goal list: every goal at the
 * point suggestions were last asked for (the state Lean reached after the proof so far when the server ran
 * them), each with its hypotheses, then the goals each suggestion leads to.
 */
class ProofStateView implements vscode.TreeDataProvider<StateNode> {
  private roots: StateNode[] = [new StateNode('No proof state yet: run Prover: Suggest tactics in a proof.')];
  private readonly changed = new vscode.EventEmitter<StateNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;

  show(where: string, goals: string[], checked: boolean, suggestions: Suggestion[]): void {
    const roots: StateNode[] = [
      new StateNode(where, [], checked ? 'checked by the server' : 'not checked: goal as sent'),
    ];
    if (goals.length === 0) {
      roots.push(new StateNode('no goals'));
    }
    goals.forEach((goal, i) => {
      const { caseName, hyps, target } = splitGoal(goal);
      const label = target || goal.split('\n')[0];
      const hypNodes = hyps.map((h) => new StateNode(h));
      roots.push(new StateNode(label, hypNodes, `goal ${i + 1} of ${goals.length}${caseName ? ` (case ${caseName})` : ''}`, goal));
    });
    const rows = suggestions.map((s) => {
      const after = (s.goals_after ?? []).map((g) => new StateNode(splitGoal(g).target || g, [], undefined, g));
      return new StateNode(s.tactic.replace(/\s*\n\s*/g, '; '), after, STATUS_MARK[s.status] ?? s.status, s.message ?? s.tactic);
    });
    if (rows.length > 0) {
      roots.push(new StateNode('Suggestions', rows, `${rows.length}`));
    }
    this.roots = roots;
    this.changed.fire(undefined);
  }

  getTreeItem(node: StateNode): vscode.TreeItem {
    return node;
  }

  getChildren(node?: StateNode): StateNode[] {
    return node === undefined ? this.roots : node.children;
  }
}

/** A diagnostic on the word at `pos` (the `sorry` a search was for), for the Problems panel. */
function problemAt(doc: vscode.TextDocument, pos: vscode.Position, message: string, severity: vscode.DiagnosticSeverity): vscode.Diagnostic {
  const range = doc.getWordRangeAtPosition(pos) ?? new vscode.Range(pos, pos.translate(0, 1));
  const diag = new vscode.Diagnostic(range, message, severity);
  diag.source = 'prover';
  return diag;
}
