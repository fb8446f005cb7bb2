// The panel's stylesheet. Every colour is a VS Code theme variable, so light, dark and
// high-contrast themes need no code; it is adopted as a constructed sheet, which a strict
// CSP (no inline styles) allows.
const CSS = `
body { margin: 0; padding: 12px 16px; color: var(--vscode-foreground); background: var(--vscode-editor-background);
  font-family: var(--vscode-font-family); font-size: var(--vscode-font-size); }
h1 { font-size: 1.4em; margin: 0 0 6px; font-weight: 600; }
h2 { font-size: 1.1em; margin: 0 0 6px; font-weight: 600; }
dl { display: flex; flex-wrap: wrap; gap: 4px 20px; margin: 0; }
dl > div { display: flex; gap: 6px; }
dt { color: var(--vscode-descriptionForeground); }
dd { margin: 0; font-variant-numeric: tabular-nums; }
.hint { color: var(--vscode-descriptionForeground); }
.error { color: var(--vscode-errorForeground); }
.warning { color: var(--vscode-editorWarning-foreground); }
header, section { margin-bottom: 14px; }
.progress { display: flex; align-items: center; gap: 8px; margin-top: 4px; }
.progress vscode-progress-bar { width: 200px; }
.budget { display: grid; gap: 8px; padding: 10px; border: 1px solid var(--vscode-panel-border, var(--vscode-contrastBorder, transparent)); }
.budget-row { display: flex; align-items: center; gap: 8px; flex-wrap: wrap; }
.budget-row input[type=range] { flex: 1 1 240px; }
#budget-value { width: 90px; }
.actions { display: flex; gap: 8px; }
.report { padding: 10px; border: 1px solid var(--vscode-charts-green); }
input[type=range] { accent-color: var(--vscode-focusBorder); }
input[type=number] { width: 64px; color: var(--vscode-input-foreground); background: var(--vscode-input-background);
  border: 1px solid var(--vscode-input-border, var(--vscode-panel-border, transparent)); font: inherit; }
:focus-visible { outline: 1px solid var(--vscode-focusBorder); outline-offset: 1px; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(300px, 1fr)); gap: 12px; }
.charts figure { margin: 0; }
.charts figcaption { color: var(--vscode-descriptionForeground); margin-bottom: 2px; }
svg.chart { width: 100%; height: auto; font-size: 10px; color: var(--vscode-foreground); }
svg.chart text { fill: currentColor; }
svg.chart .label { fill: var(--vscode-descriptionForeground); }
svg.chart .grid { stroke: var(--vscode-panel-border, var(--vscode-contrastBorder, currentColor)); stroke-opacity: .5; }
svg.chart .frame { stroke: var(--vscode-foreground); stroke-opacity: .6; }
svg.chart .series { fill: none; stroke-width: 1.6; }
svg.chart .spectrum, svg.chart .tradeoff { stroke: var(--vscode-charts-blue); }
svg.chart .energy { stroke: var(--vscode-charts-green); }
svg.chart .marker line { stroke-width: 1.2; stroke-dasharray: 4 3; }
svg.chart .marker.chosen line { stroke: var(--vscode-charts-orange); stroke-dasharray: none; }
svg.chart .marker.chosen text { fill: var(--vscode-charts-orange); }
svg.chart .marker.suggested line { stroke: var(--vscode-charts-purple); }
svg.chart .marker.suggested text { fill: var(--vscode-charts-purple); }
svg.chart .marker.break-even line { stroke: var(--vscode-charts-red); }
svg.chart .marker.break-even text { fill: var(--vscode-charts-red); }
svg.chart .dot.current { fill: var(--vscode-charts-orange); }
svg.chart .dot.measured { fill: none; stroke: var(--vscode-charts-green); stroke-width: 2; }
svg.chart .fidelity { stroke: var(--vscode-charts-green); stroke-dasharray: 3 2; }
svg.chart .dot.evaluated { fill: var(--vscode-charts-green); }
svg.chart .dot.original { fill: var(--vscode-charts-blue); }
.totals > div.chosen dt, .totals > div.chosen dd { color: var(--vscode-charts-orange); font-weight: 600; }
.report .evaluation { margin-top: 4px; }
.table-tools { display: flex; align-items: center; gap: 8px; margin-bottom: 6px; }
/* Rows are grids of fixed columns, not table layout: a budget move rewrites cells in most
   rows, and table layout re-measures every row for that while content-visibility lets the
   browser skip laying out rows off screen. The roles keep it a table for screen readers. */
table.layers { display: block; width: 100%; font-variant-numeric: tabular-nums; }
table.layers thead, table.layers tbody { display: block; }
table.layers thead { position: sticky; top: 0; z-index: 1; background: var(--vscode-editor-background); }
table.layers tr { display: grid; align-items: center; border-bottom: 1px solid var(--vscode-panel-border, transparent);
  grid-template-columns: 3em minmax(9em, 2fr) 6em 6.5em 6.5em 7.5em minmax(25em, 1fr) 8.5em 6.5em 8.5em; }
table.layers tbody tr { content-visibility: auto; contain-intrinsic-size: auto 26px; }
table.layers th, table.layers td { display: block; padding: 2px 6px; text-align: left; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
table.layers .num { text-align: right; }
table.layers th[aria-sort=ascending] button::after { content: ' ▲'; }
table.layers th[aria-sort=descending] button::after { content: ' ▼'; }
table.layers tr:hover { background: var(--vscode-list-hoverBackground); }
table.layers tr[aria-current=true] { background: var(--vscode-list-activeSelectionBackground); color: var(--vscode-list-activeSelectionForeground);
  outline: 1px dashed var(--vscode-contrastActiveBorder, transparent); outline-offset: -1px; }
table.layers tr.dense .rank-text { color: var(--vscode-descriptionForeground); font-style: italic; }
table.layers tr.pinned .rank-text { color: var(--vscode-charts-orange); }
table.layers td.rank { display: flex; align-items: center; gap: 6px; }
td.rank input[type=range] { width: 110px; }
button.sort, button.link, button.unpin { background: none; border: none; color: inherit; font: inherit; padding: 0; cursor: pointer; }
button.sort { font-weight: 600; }
button.link { color: var(--vscode-textLink-foreground); max-width: 280px; overflow: hidden; text-overflow: ellipsis; }
tr[aria-current=true] button.link { color: inherit; }
button.unpin { color: var(--vscode-descriptionForeground); }
`;

export function installStyles(doc: Document): void {
  const sheet = new CSSStyleSheet();
  sheet.replaceSync(CSS);
  doc.adoptedStyleSheets = [...doc.adoptedStyleSheets, sheet];
}
