/**
 * Starting `prover serve` as a child process when no server answers at the configured URL. The command is an
 * argv array run without a shell, so nothing from settings or files is ever interpreted by one.
 */
import { ChildProcess, spawn } from 'child_process';

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

  constructor(private readonly log: (line: string) => void) {}

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  start(argv: string[], cwd: string | undefined, apiKey: string): void {
    if (this.running) {
      return;
    }
    this.log(`starting: ${JSON.stringify(argv)}${cwd ? ` in ${cwd}` : ''}`);
    const env = { ...process.env };
    if (apiKey !== '') {
      env.PROVER_API_KEY = apiKey;
    }
    const child = spawn(argv[0], argv.slice(1), { cwd: cwd || undefined, env, shell: false, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout?.on('data', (d: Buffer) => this.log(d.toString().trimEnd()));
    child.stderr?.on('data', (d: Buffer) => this.log(d.toString().trimEnd()));
    child.on('error', (e) => this.log(`could not start the server: ${e.message}`));
    child.on('exit', (code, signal) => this.log(`server exited (${signal ?? code})`));
    this.child = child;
  }

  stop(): void {
    if (this.child !== undefined && this.running) {
      this.child.kill('SIGTERM');
    }
    this.child = undefined;
  }
}
