// `reducible.compress`: from the explorer menu (a Uri), a code action or the panel
// (CompressArgs), or the palette (the active file). Asks for what is not given, then runs
// the CLI job under a cancellable progress notification.
import * as vscode from 'vscode';
import { PANEL_METHOD_JOBS, STORAGE_DTYPES, type CompressGoal, type CompressReport, type CompressRequest, type ErrorCode, type StorageDType } from '../../shared/jobProtocol.js';
import type { CompressArgs } from '../../shared/protocol.js';
import { JobError, runCompress } from '../compressJob.js';
import type { Config } from '../config.js';
import type { TorchModules } from '../torchModules.js';

/** Steps of the panel's "Whitened + fine-tuning": enough to recover most fidelity at 10 % of params on the examples (bench/quality). */
const PANEL_FINETUNE_STEPS = 1000;

const DTYPE_DESCRIPTIONS: Record<StorageDType, string> = {
  f32: 'float32 factors',
  f16: 'float16 factors: half the bytes',
  int8: 'int8 factors with a scale: a quarter of the bytes',
};
const DTYPES: (vscode.QuickPickItem & { dtype?: StorageDType })[] = [
  { label: 'Keep stored precision', description: 'factors in the dtype of the original weights' },
  ...STORAGE_DTYPES.map((dtype) => ({ label: dtype, description: DTYPE_DESCRIPTIONS[dtype], dtype })),
];

async function askFraction(prompt: string, value: number): Promise<number | undefined> {
  const text = await vscode.window.showInputBox({
    prompt, value: String(+(value * 100).toFixed(1)),
    validateInput: (v) => (Number(v) > 0 && Number(v) <= 100 ? undefined : 'a percentage in (0, 100]'),
  });
  return text === undefined ? undefined : Number(text) / 100;
}

async function askGoal(args: CompressArgs | undefined, config: Config): Promise<CompressGoal | undefined> {
  if (args?.plan) return { ranks: args.plan.layers };
  if (args?.ratio !== undefined && !args.askRatio) return { ratio: args.ratio };
  if (args?.askRatio) {
    const ratio = await askFraction('Keep this percentage of the parameters', args.ratio ?? 0.5);
    return ratio === undefined ? undefined : { ratio };
  }
  const energy = config.energy;
  const pick = await vscode.window.showQuickPick([
    { label: 'Suggested ranks', description: `per layer, the smallest rank keeping ${+(energy * 100).toFixed(2)} % energy (dense where low rank does not pay)`, goal: 'suggested' },
    { label: 'Keep N % of parameters…', description: 'one budget for the whole model, spread where it costs least', goal: 'ratio' },
    { label: 'Keep energy E…', description: 'the same energy share in every layer', goal: 'energy' },
  ], { title: 'Reducible: compression goal' });
  if (!pick) return undefined;
  if (pick.goal === 'suggested') return { energy };
  const value = await askFraction(pick.goal === 'ratio' ? 'Keep this percentage of the parameters' : 'Keep this percentage of each layer\'s energy', pick.goal === 'ratio' ? 0.5 : energy);
  if (value === undefined) return undefined;
  return pick.goal === 'ratio' ? { ratio: value } : { energy: value };
}

function modelOf(arg: vscode.Uri | CompressArgs | undefined): vscode.Uri | undefined {
  if (arg instanceof vscode.Uri) return arg;
  if (arg?.uri) return vscode.Uri.parse(arg.uri);
  return vscode.window.activeTextEditor?.document.uri;
}

/** The handler of `reducible.compress` (registered by the command table, commands/index.ts). */
export function compressCommand(context: vscode.ExtensionContext, config: Config, modules: TorchModules): (arg?: vscode.Uri | CompressArgs) => Promise<CompressReport | undefined> {
  const cli = context.asAbsolutePath('dist/cli.js');

  const run = (job: CompressRequest, name: string) => vscode.window.withProgress({
    location: vscode.ProgressLocation.Notification, title: `Reducible: compressing ${name}`, cancellable: true,
  }, (progress, token) => {
    const abort = new AbortController();
    token.onCancellationRequested(() => abort.abort());
    let done = 0;
    return runCompress(cli, job, {
      signal: abort.signal,
      progress: (fraction, label) => {
        progress.report({ increment: Math.max(0, fraction - done) * 100, message: label });
        done = Math.max(done, fraction);
      },
    });
  });

  return async (arg?: vscode.Uri | CompressArgs) => {
    if (!vscode.workspace.isTrusted) {
      const manage = await vscode.window.showWarningMessage('Reducible compresses models only in a trusted workspace: it writes files and may run Python.', 'Manage Workspace Trust');
      if (manage) await vscode.commands.executeCommand('workbench.trust.manage');
      return;
    }
    const model = modelOf(arg);
    if (model?.scheme !== 'file') { void vscode.window.showWarningMessage('Reducible: pick a model file to compress.'); return; }
    const options = arg instanceof vscode.Uri ? undefined : arg;
    const goal = await askGoal(options, config);
    if (!goal) return;
    // The panel chooses the precision itself; everyone else is asked.
    const dtype = options?.dtype ? { dtype: options.dtype === 'stored' ? undefined : options.dtype } : await vscode.window.showQuickPick(DTYPES, { title: 'Reducible: precision of the factors' });
    if (!dtype) return;
    const { method, finetune } = PANEL_METHOD_JOBS[options?.method ?? 'svd'];
    const learns = method === 'whitened' || finetune === true;
    const calibration = learns ? config.calibrationData(model) : undefined;
    if (learns && !calibration) {
      const open = await vscode.window.showErrorMessage('Reducible: whitened SVD and fine-tuning learn from unlabeled inputs: set reducible.calibration.inputs to a .npy or .npz of training inputs.', 'Open Settings');
      if (open) await vscode.commands.executeCommand('workbench.action.openSettings', 'reducible.calibration.inputs');
      return;
    }
    const torchModel = modules.get(model);
    const job: CompressRequest = {
      model: model.fsPath, goal, dtype: dtype.dtype, engine: config.engine, python: config.engine === 'torch' || torchModel ? config.pythonPath : undefined,
      method, finetune: finetune ? PANEL_FINETUNE_STEPS : undefined, calibration, torchModel,
      // The server's spectra of this file, when the caller (the panel) has them: not computed again.
      analysis: options?.analysis,
    };
    const name = model.path.split('/').pop()!;
    try {
      // Refusals the user may overrule: each is asked once, then the job is sent again with the answer.
      const overrules: Partial<Record<ErrorCode, { button: string; with: Partial<CompressRequest> }>> = {
        'output-exists': { button: 'Replace', with: { force: true } },
        'deep-cut': { button: 'Compress Anyway', with: { allowDeepCuts: true } },
      };
      let report;
      for (let request = job; ;) {
        try {
          report = await run(request, name);
          break;
        } catch (e) {
          const overrule = e instanceof JobError ? overrules[e.code] : undefined;
          if (!overrule) throw e;
          if (!await vscode.window.showWarningMessage(`Reducible: ${(e as Error).message}`, { modal: true }, overrule.button)) return;
          request = { ...request, ...overrule.with };
        }
      }
      const output = vscode.Uri.file(report.output);
      const saved = (1 - report.compressedBytes / report.originalBytes) * 100;
      if (options?.openReport !== false) {
        await vscode.window.showTextDocument(vscode.Uri.file(`${report.output}.report.json`), { preview: true });
      }
      await vscode.commands.executeCommand('revealInExplorer', output);
      void vscode.window.showInformationMessage(
        `Reducible: wrote ${output.path.split('/').pop()} — ${saved.toFixed(1)} % smaller on disk, ${report.layers.length} layers factorised.`);
      // The panel (and any other caller) shows what was measured.
      return report;
    } catch (e) {
      if (e instanceof JobError && e.code === 'cancelled') return;
      void vscode.window.showErrorMessage(`Reducible: ${(e as Error).message}`);
    }
  };
}
