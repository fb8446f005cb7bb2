// The theme variables VS Code sets on a webview's <html> (a subset of Light/Dark Modern).
export const LIGHT: Record<string, string> = {
  '--vscode-font-family': 'sans-serif', '--vscode-font-size': '13px',
  '--vscode-foreground': '#3b3b3b', '--vscode-editor-background': '#ffffff',
  '--vscode-descriptionForeground': '#717171', '--vscode-panel-border': '#e5e5e5',
  '--vscode-focusBorder': '#005fb8', '--vscode-errorForeground': '#f85149',
  '--vscode-textLink-foreground': '#005fb8', '--vscode-list-hoverBackground': '#f2f2f2',
  '--vscode-list-activeSelectionBackground': '#e8e8e8', '--vscode-list-activeSelectionForeground': '#000000',
  '--vscode-button-background': '#005fb8', '--vscode-button-foreground': '#ffffff',
  '--vscode-button-secondaryBackground': '#e5e5e5', '--vscode-button-secondaryForeground': '#3b3b3b',
  '--vscode-input-background': '#ffffff', '--vscode-input-foreground': '#3b3b3b', '--vscode-input-border': '#cecece',
  '--vscode-input-placeholderForeground': '#767676', '--vscode-progressBar-background': '#005fb8',
  '--vscode-settings-textInputBackground': '#ffffff', '--vscode-settings-textInputForeground': '#3b3b3b',
  '--vscode-settings-textInputBorder': '#cecece',
  '--vscode-settings-checkboxBackground': '#f8f8f8', '--vscode-settings-checkboxBorder': '#cecece',
  '--vscode-settings-checkboxForeground': '#3b3b3b',
  '--vscode-charts-blue': '#1a85ff', '--vscode-charts-green': '#388a34', '--vscode-charts-orange': '#d18616',
  '--vscode-charts-purple': '#652d90', '--vscode-charts-red': '#e51400',
};

export const DARK: Record<string, string> = {
  '--vscode-font-family': 'sans-serif', '--vscode-font-size': '13px',
  '--vscode-foreground': '#cccccc', '--vscode-editor-background': '#1f1f1f',
  '--vscode-descriptionForeground': '#9d9d9d', '--vscode-panel-border': '#2b2b2b',
  '--vscode-focusBorder': '#0078d4', '--vscode-errorForeground': '#f85149',
  '--vscode-textLink-foreground': '#4daafc', '--vscode-list-hoverBackground': '#2a2d2e',
  '--vscode-list-activeSelectionBackground': '#04395e', '--vscode-list-activeSelectionForeground': '#ffffff',
  '--vscode-button-background': '#0078d4', '--vscode-button-foreground': '#ffffff',
  '--vscode-button-secondaryBackground': '#313131', '--vscode-button-secondaryForeground': '#cccccc',
  '--vscode-input-background': '#313131', '--vscode-input-foreground': '#cccccc', '--vscode-input-border': '#3c3c3c',
  '--vscode-input-placeholderForeground': '#989898', '--vscode-progressBar-background': '#0078d4',
  '--vscode-settings-textInputBackground': '#313131', '--vscode-settings-textInputForeground': '#cccccc',
  '--vscode-settings-textInputBorder': '#3c3c3c',
  '--vscode-settings-checkboxBackground': '#313131', '--vscode-settings-checkboxBorder': '#3c3c3c',
  '--vscode-settings-checkboxForeground': '#cccccc',
  '--vscode-charts-blue': '#3794ff', '--vscode-charts-green': '#89d185', '--vscode-charts-orange': '#d18616',
  '--vscode-charts-purple': '#b180d7', '--vscode-charts-red': '#f14c4c',
};

/** '#rrggbb' as getComputedStyle reports it. */
export function rgb(hex: string): string {
  const n = parseInt(hex.slice(1), 16);
  return `rgb(${n >> 16}, ${(n >> 8) & 255}, ${n & 255})`;
}

export const HIGH_CONTRAST: Record<string, string> = {
  ...DARK,
  '--vscode-foreground': '#ffffff', '--vscode-editor-background': '#000000',
  '--vscode-contrastBorder': '#6fc3df', '--vscode-contrastActiveBorder': '#f38518', '--vscode-panel-border': '#6fc3df', '--vscode-focusBorder': '#f38518',
  '--vscode-button-background': '#000000', '--vscode-button-border': '#6fc3df',
  '--vscode-charts-blue': '#3794ff', '--vscode-list-activeSelectionBackground': '#000000',
};
