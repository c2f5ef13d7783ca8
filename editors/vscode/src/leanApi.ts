/**
 * The slice of the Lean 4 extension's exported API (vscode-lean4: `exports.lean4EnabledFeatures` →
 * `clientProvider`) that the companion uses to ask the running Lean server for `$/lean/plainGoal`.
 * Typed structurally so a missing or older extension degrades to "no goal" instead of a crash, and so the
 * client choice is testable without `vscode`. The companion never starts a Lean server itself.
 */

export interface LeanClientLike {
  sendRequest(method: string, params: unknown): Promise<unknown>;
  getClientFolder?(): { scheme?: string; fsPath?: string } | undefined;
  isRunning?(): boolean;
}

export interface LeanClientProviderLike {
  getClients?(): LeanClientLike[];
  getActiveClient?(): LeanClientLike | undefined;
}

export interface LeanExportsLike {
  lean4EnabledFeatures?: Promise<{ clientProvider?: LeanClientProviderLike }> | { clientProvider?: LeanClientProviderLike };
}

/** The client whose folder is the innermost one containing `fsPath`; else the provider's active client. */
export function pickClient(provider: LeanClientProviderLike, fsPath: string): LeanClientLike | undefined {
  const clients = typeof provider.getClients === 'function' ? provider.getClients() : [];
  let best: LeanClientLike | undefined;
  let bestLen = -1;
  for (const c of clients) {
    const folder = typeof c.getClientFolder === 'function' ? c.getClientFolder() : undefined;
    const dir = folder?.fsPath;
    if (dir === undefined) {
      continue;
    }
    const prefix = dir.endsWith('/') || dir.endsWith('\\') ? dir : dir + (fsPath.includes('\\') ? '\\' : '/');
    if ((fsPath === dir || fsPath.startsWith(prefix)) && dir.length > bestLen) {
      best = c;
      bestLen = dir.length;
    }
  }
  if (best !== undefined) {
    return best;
  }
  if (typeof provider.getActiveClient === 'function') {
    return provider.getActiveClient();
  }
  return clients.length === 1 ? clients[0] : undefined;
}

/** Resolve `lean4EnabledFeatures` (a promise that only settles once a Lean 4 file is open) with a time limit. */
export async function clientProviderOf(exports: unknown, timeoutMs: number): Promise<LeanClientProviderLike | undefined> {
  if (exports === null || typeof exports !== 'object') {
    return undefined;
  }
  const features = (exports as LeanExportsLike).lean4EnabledFeatures;
  if (features === undefined) {
    return undefined;
  }
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), timeoutMs);
  });
  try {
    const resolved = await Promise.race([Promise.resolve(features), timeout]);
    return resolved?.clientProvider;
  } finally {
    clearTimeout(timer);
  }
}

/** `$/lean/plainGoal` parameters: an LSP TextDocumentPositionParams. */
export function plainGoalParams(uri: string, line: number, character: number): unknown {
  return { textDocument: { uri }, position: { line, character } };
}
