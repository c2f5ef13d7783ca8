/**
 * Starting `prover serve` as a child process when no server answers at the configured URL. The command is an
 * argv array run without a shell, so nothing from settings or files is ever interpreted by one.
 */
import { ChildProcess, spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

/** The environment variable `prover serve` reads its API key from (the server's `API_KEY_ENV`). */
export const API_KEY_ENV = 'PROVER_SERVE_API_KEY';

/**
 * Where `prover serve` writes the token of its start on `port` (prover/serve/token.py, Jupyter's model):
 * `<tokenDir>/serve-<port>.token`; without `tokenDir`, `$XDG_RUNTIME_DIR/lean-prover` when that directory
 * exists, else `~/.cache/lean-prover`.
 */
export function tokenPath(port: number, tokenDir: string, env: NodeJS.ProcessEnv = process.env, home: string = os.homedir()): string {
  let dir = tokenDir.trim();
  if (dir === '') {
    const runtime = (env.XDG_RUNTIME_DIR ?? '').trim();
    dir = runtime !== '' && isDir(runtime) ? path.join(runtime, 'lean-prover') : path.join(home, '.cache', 'lean-prover');
  } else if (dir.startsWith('~')) {
    dir = path.join(home, dir.slice(1));
  }
  return path.join(dir, `serve-${port}.token`);
}

/** The token in `file`, or undefined when there is none (no server started yet, or another user's). */
export function readToken(file: string): string | undefined {
  try {
    const token = fs.readFileSync(file, 'utf8').trim();
    return token === '' ? undefined : token;
  } catch {
    return undefined;
  }
}

function isDir(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/**
 * Why a started server is not answering, as a sentence with what to do: the command was not found, it exited
 * (with its last error line, e.g. `prover serve: error: ...`), or it did not answer in time.
 */
export function startFailure(argv: readonly string[], spawnError: string | undefined, exit: string | undefined, lastLines: readonly string[]): string {
  const cmd = argv[0] ?? '';
  if (spawnError !== undefined) {
    if (/ENOENT/.test(spawnError)) {
      return (
        `The server command \`${cmd}\` was not found. Install the project (\`make install\` in the prover's checkout) ` +
        `and set prover.serverCommand to the full path of its \`prover\`, e.g. ["/path/to/prover/.venv/bin/prover", "serve"].`
      );
    }
    if (/EACCES/.test(spawnError)) {
      return `The server command \`${cmd}\` cannot be run (permission denied); check prover.serverCommand.`;
    }
    return `The server command \`${cmd}\` could not start (${spawnError}); check prover.serverCommand.`;
  }
  const said = [...lastLines].reverse().find((l) => /error|Error|refus|cannot|not found|needs/.test(l)) ?? lastLines[lastLines.length - 1];
  if (exit !== undefined) {
    const why = said ? `: ${said.replace(/^prover serve: (error: )?/, '')}` : '';
    let hint = 'Fix it in prover.serverOverrides or prover.serverCommand; the Prover log has the whole output.';
    if (/allow_guard_only/.test(said ?? '')) {
      hint = 'Install Lean (scripts/setup_lean.sh) or add "serve.allow_guard_only=true" to prover.serverOverrides to serve unchecked suggestions.';
    } else if (/cannot listen/.test(said ?? '')) {
      hint = 'Another program uses the port: stop it or change prover.serverUrl.';
    }
    return `prover serve stopped (${exit})${why}. ${hint}`;
  }
  return 'prover serve did not answer within 2 minutes; the Prover log has its output.';
}

export const DEFAULT_URL = 'http://127.0.0.1:23337';

export interface ResolvedUrl {
  baseUrl: string;
  host: string;
  port: number;
  /** Only a loopback server may be auto-started: a remote URL is someone else's server. */
  loopback: boolean;
}

export function resolveUrl(configured: string): ResolvedUrl {
  const raw = configured.trim() === '' ? DEFAULT_URL : configured.trim();
  const url = new URL(raw);
  const port = url.port !== '' ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const loopback = host === '127.0.0.1' || host === 'localhost' || host === '::1';
  return { baseUrl: raw.replace(/\/+$/, ''), host, port, loopback };
}

/** argv for the child: the configured command, then `--host/--port`, then the hydra overrides. */
export function serveArgv(command: readonly string[], url: ResolvedUrl, overrides: readonly string[]): string[] {
  if (command.length === 0 || command[0].trim() === '') {
    throw new Error('prover.serverCommand is empty.');
  }
  return [...command, '--host', url.host, '--port', String(url.port), ...overrides];
}

export class ServerProcess {
  private child: ChildProcess | undefined;
  /** The last lines the child wrote, the spawn error and how it exited: for {@link failure}. */
  private lines: string[] = [];
  private spawnError: string | undefined;
  private exit: string | undefined;
  private argv: string[] = [];

  constructor(private readonly log: (line: string) => void) {}

  get running(): boolean {
    return (
      this.child !== undefined &&
      this.spawnError === undefined &&
      this.exit === undefined &&
      this.child.exitCode === null &&
      this.child.signalCode === null
    );
  }

  start(argv: string[], cwd: string | undefined, apiKey: string): void {
    if (this.running) {
      return;
    }
    this.log(`starting: ${JSON.stringify(argv)}${cwd ? ` in ${cwd}` : ''}`);
    this.lines = [];
    this.spawnError = undefined;
    this.exit = undefined;
    this.argv = argv;
    const env = { ...process.env };
    if (apiKey !== '') {
      env[API_KEY_ENV] = apiKey;
    }
    const child = spawn(argv[0], argv.slice(1), { cwd: cwd || undefined, env, shell: false, stdio: ['ignore', 'pipe', 'pipe'] });
    const take = (d: Buffer): void => {
      const text = d.toString().trimEnd();
      this.log(text);
      this.lines.push(...text.split('\n').filter((l) => l.trim() !== ''));
      this.lines = this.lines.slice(-20);
    };
    child.stdout?.on('data', take);
    child.stderr?.on('data', take);
    child.on('error', (e) => {
      this.spawnError = `${(e as NodeJS.ErrnoException).code ?? ''} ${e.message}`.trim();
      this.log(`could not start the server: ${e.message}`);
    });
    child.on('exit', (code, signal) => {
      this.exit = signal !== null ? `signal ${signal}` : `exit code ${code}`;
      this.log(`server exited (${signal ?? code})`);
    });
    this.child = child;
  }

  /** Why the last start did not give a server, as one actionable sentence. */
  failure(): string {
    return startFailure(this.argv, this.spawnError, this.exit, this.lines);
  }

  stop(): void {
    if (this.child !== undefined && this.running) {
      this.child.kill('SIGTERM');
    }
    this.child = undefined;
  }
}
