// Numbers only the panel shows: exact, grouped counts and errors. Sizes and percentages read
// as everywhere else (core/text/numbers.ts).

// One formatter for all counts: toLocaleString builds a new one per call, which costs
// milliseconds across a 200-row table.
const INTEGER = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

/** A count in full, grouped: "1,234,567" (the panel's tables compare counts digit by digit). */
export function formatInteger(n: number): string {
  return INTEGER.format(Math.round(n));
}

export function formatError(e: number): string {
  return e === 0 ? '0' : e < 1e-3 ? e.toExponential(1) : e.toFixed(4);
}
