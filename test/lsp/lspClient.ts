// A real LSP client on the real server: spawns `node dist/server.js --stdio` and speaks
// JSON-RPC to it with vscode-languageserver-protocol, as Neovim or VS Code would.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  createProtocolConnection, StreamMessageReader, StreamMessageWriter, DidChangeWatchedFilesNotification, DidOpenTextDocumentNotification, InitializedNotification,
  ConfigurationRequest, InitializeRequest, PublishDiagnosticsNotification, RegistrationRequest, type Diagnostic, type FileChangeType, type ProtocolConnection,
} from 'vscode-languageserver-protocol/node';
import { statusNotification, type InitializationOptions, type StatusParams } from '../../shared/protocol.js';

export const fileUri = (path: string): string => pathToFileURL(path).href;

export class LspSession {
  readonly diagnostics = new Map<string, Diagnostic[]>();
  readonly statuses: StatusParams[] = [];
  readonly watcherGlobs: string[] = [];
  /** What workspace/configuration answers, by section (e.g. 'files.exclude'), for every folder. */
  readonly configuration: Record<string, unknown> = {};
  private readonly checks = new Set<() => void>();
  private constructor(readonly connection: ProtocolConnection, readonly proc: ChildProcess) {}

  static async start(folder: string, init: InitializationOptions, configuration: Record<string, unknown> = {}): Promise<LspSession> {
    const proc = spawn(process.execPath, ['dist/server.js', '--stdio'], { stdio: ['pipe', 'pipe', 'inherit'] });
    const connection = createProtocolConnection(new StreamMessageReader(proc.stdout!), new StreamMessageWriter(proc.stdin!));
    const s = new LspSession(connection, proc);
    Object.assign(s.configuration, configuration);
    connection.onNotification(PublishDiagnosticsNotification.type, (p) => { s.diagnostics.set(p.uri, p.diagnostics); s.recheck(); });
    connection.onNotification(statusNotification, (p) => { s.statuses.push(p); s.recheck(); });
    connection.onRequest(RegistrationRequest.type, (p) => {
      for (const r of p.registrations) {
        const watchers = (r.registerOptions as { watchers?: { globPattern: string }[] }).watchers ?? [];
        s.watcherGlobs.push(...watchers.map((w) => w.globPattern));
      }
    });
    connection.onRequest('workspace/codeLens/refresh', () => null);
    connection.onRequest(ConfigurationRequest.type, (p) => p.items.map((i) => s.configuration[i.section ?? ''] ?? null));
    connection.listen();
    await connection.sendRequest(InitializeRequest.type, {
      processId: process.pid, rootUri: null, initializationOptions: init,
      workspaceFolders: [{ uri: fileUri(folder), name: 'fixture' }],
      capabilities: {
        workspace: { didChangeWatchedFiles: { dynamicRegistration: true }, codeLens: { refreshSupport: true }, configuration: true },
        textDocument: { hover: { contentFormat: ['markdown'] }, publishDiagnostics: {} },
      },
    });
    await connection.sendNotification(InitializedNotification.type, {});
    return s;
  }

  /** Resolves with check()'s first defined answer, re-asked whenever the server sends something. */
  until<T>(check: () => T | undefined): Promise<T> {
    return new Promise((resolve) => {
      const run = (): void => {
        const v = check();
        if (v !== undefined) { this.checks.delete(run); resolve(v); }
      };
      this.checks.add(run);
      run();
    });
  }

  /** Waits for the analysis round that follows the status count `after` to end. */
  quiescent(after: number): Promise<StatusParams> {
    return this.until(() => this.statuses.slice(after).find((s) => s.quiescent));
  }

  open(path: string, text = readFileSync(path, 'utf8'), uri = fileUri(path)): Promise<void> {
    const languageId = ({ '.py': 'python', '.json': 'json', '.ts': 'typescript' } as Record<string, string>)[extname(path)] ?? 'plaintext';
    return this.connection.sendNotification(DidOpenTextDocumentNotification.type, { textDocument: { uri, languageId, version: 1, text } });
  }

  changed(path: string, type: FileChangeType): Promise<void> {
    return this.connection.sendNotification(DidChangeWatchedFilesNotification.type, { changes: [{ uri: fileUri(path), type }] });
  }

  async stop(): Promise<void> {
    await this.connection.sendRequest('shutdown');
    await this.connection.sendNotification('exit');
    this.connection.dispose();
    if (this.proc.exitCode === null) await new Promise((r) => this.proc.once('exit', r));
  }

  private recheck(): void {
    for (const c of [...this.checks]) c();
  }
}
