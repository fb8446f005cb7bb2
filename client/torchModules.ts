// The PyTorch module that runs a checkpoint (`file.py:factory`, as `--torch-model` takes it),
// chosen by the user from the workspace's Python files — their top-level functions and classes,
// either of which builds the module when called — and remembered per model in the workspace's
// state. Running it is running the user's own code: nothing is offered, remembered or passed
// on in an untrusted workspace.
import * as vscode from 'vscode';

const KEY = 'reducible.torchModule:';
const SEARCH_EXCLUDE = '**/{node_modules,.git,.venv,venv,__pycache__,site-packages}/**';
const MAX_FILES = 500;

/** Top-level `def name(` and `class Name` of a Python source: what `file.py:name` can call. */
export function topLevelCallables(source: string): string[] {
  return [...source.matchAll(/^(?:async\s+)?(?:def|class)\s+([A-Za-z_]\w*)/gm)].map((m) => m[1]).filter((n) => !n.startsWith('_'));
}

export class TorchModules {
  constructor(private readonly state: vscode.Memento) {}

  /** The module remembered for `model`, in a trusted workspace. */
  get(model: vscode.Uri): string | undefined {
    return vscode.workspace.isTrusted ? this.state.get<string>(KEY + model.toString()) : undefined;
  }

  /** Asks for a Python file (unless given), then a function or class in it; remembers and returns `file.py:name`. */
  async choose(model: vscode.Uri, from?: vscode.Uri): Promise<string | undefined> {
    if (!vscode.workspace.isTrusted) {
      void vscode.window.showWarningMessage('Reducible runs a model\'s PyTorch module only in a trusted workspace: it is your code, run by Python.');
      return undefined;
    }
    const file = from ? { uri: from } : await vscode.window.showQuickPick((await vscode.workspace.findFiles('**/*.py', SEARCH_EXCLUDE, MAX_FILES)).map((uri) => ({ label: vscode.workspace.asRelativePath(uri), uri })), {
      title: `Reducible: the Python file that builds ${model.path.split('/').pop()}'s module`,
    });
    if (!file) return undefined;
    const names = topLevelCallables(new TextDecoder().decode(await vscode.workspace.fs.readFile(file.uri)));
    const name = await vscode.window.showQuickPick(names, { title: 'Reducible: the function (or class) returning the nn.Module, called with no arguments' });
    if (!name) return undefined;
    const spec = `${file.uri.fsPath}:${name}`;
    await this.state.update(KEY + model.toString(), spec);
    return spec;
  }
}
