// Status bar item: analysis progress and the engine doing the work.
import * as vscode from 'vscode';
import type { StatusParams } from '../shared/protocol.js';
import type { ServerStatus } from './serverStatus.js';

export function statusBar(status: ServerStatus): vscode.Disposable {
  const item = vscode.window.createStatusBarItem('reducible.status', vscode.StatusBarAlignment.Right, 50);
  item.name = 'Reducible';
  item.command = 'reducible.models.focus';
  const show = (s: StatusParams): void => {
    const file = s.current?.uri.split('/').pop();
    item.text = s.quiescent ? '$(layers) Reducible' : `$(sync~spin) Reducible ${s.done}/${s.total}${file ? ` ${file}` : ''}`;
    item.tooltip = [`Engine: ${s.engine}`, s.current && `Analysing ${file}: ${Math.round(s.current.fraction * 100)} % (${s.current.layer})`, s.message]
      .filter(Boolean).join('\n');
    item.show();
  };
  if (status.last) show(status.last);
  return vscode.Disposable.from(item, status.onDidChange(show));
}
