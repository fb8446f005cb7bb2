// The `reducible.*` settings the client reads, with their types. Their names, defaults and
// descriptions are declared once, in package.json `contributes.configuration`; VS Code hands
// out the default for a setting nobody set, so no code repeats one. No VS Code imports: the
// unit test checks this table against package.json.

export const SETTING_TYPES = {
  engine: 'string',
  energy: 'number',
  maxFileSizeMB: 'number',
  pythonPath: 'string',
  'analysis.autoRun': 'boolean',
  'evaluation.inputs': 'string',
  'evaluation.labels': 'string',
  'calibration.inputs': 'string',
} as const;

interface TypeNames { string: string; number: number; boolean: boolean }

/** Setting name (without `reducible.`) → the type of its value. */
export type Settings = { [K in keyof typeof SETTING_TYPES]: TypeNames[(typeof SETTING_TYPES)[K]] };
export type SettingName = keyof Settings;
