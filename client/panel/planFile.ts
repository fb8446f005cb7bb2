// "Export plan": writes the panel's plan where the user chooses, in the form `--ranks` reads.
import * as vscode from 'vscode';
import type { PlanFile } from '../../shared/panelProtocol.js';

export async function exportPlan(model: vscode.Uri, plan: PlanFile): Promise<void> {
  const target = await vscode.window.showSaveDialog({
    defaultUri: vscode.Uri.joinPath(model, '..', 'plan.json'),
    filters: { 'Reducible plan': ['json'] },
    title: 'Export compression plan',
  });
  if (!target) return;
  await vscode.workspace.fs.writeFile(target, new TextEncoder().encode(`${JSON.stringify(plan, null, 2)}\n`));
  const relative = vscode.workspace.asRelativePath(target);
  void vscode.window.showInformationMessage(`Plan written to ${relative}: use it with \`reducible compress --ranks ${relative}\`.`);
}
