// Test double of the Lean 4 extension's exported API (exports.lean4EnabledFeatures -> clientProvider -> client).
// Its plainGoal answer names the position it was asked about, so the test can check what the companion sent.
'use strict';
const vscode = require('vscode');

function makeClient() {
  const folder = vscode.workspace.workspaceFolders && vscode.workspace.workspaceFolders[0];
  return {
    getClientFolder: () => ({ scheme: 'file', fsPath: folder ? folder.uri.fsPath : '/' }),
    isRunning: () => true,
    sendRequest: async (method, params) => {
      if (method !== '$/lean/plainGoal') {
        throw new Error(`stub: unsupported request ${method}`);
      }
      const file = params.textDocument.uri.split('/').pop();
      const where = `${file}:${params.position.line}:${params.position.character}`;
      const goal = `case stub\nn : Nat\n⊢ n + 0 = n -- at ${where}`;
      return { rendered: '```lean\n' + goal + '\n```', goals: [goal] };
    },
  };
}

function activate() {
  const client = makeClient();
  const clientProvider = { getClients: () => [client], getActiveClient: () => client };
  return { lean4EnabledFeatures: Promise.resolve({ clientProvider }) };
}

module.exports = { activate, deactivate() {} };
