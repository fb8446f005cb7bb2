// Numbers as every surface shows them to a person — CLI output, hovers, diagnostics, the
// model outline and the tradeoff panel — so a size reads the same wherever it appears.
// Pure: no node, no DOM (the panel bundles it for the browser).

const BYTE_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

/**
 * Bytes in binary units (1 KiB = 1024 B), the convention of the size limits and error
 * messages elsewhere ("4 KiB", "2 GiB"): "512 B", "9.54 MiB", "29.0 KiB".
 */
export function formatBytes(n: number): string {
  let v = n, u = 0;
  while (Math.abs(v) >= 1024 && u < BYTE_UNITS.length - 1) { v /= 1024; u++; }
  return u === 0 ? `${v} B` : `${v.toFixed(Math.abs(v) < 10 ? 2 : 1)} ${BYTE_UNITS[u]}`;
}

/** A count, compact: "987", "12.3k", "1.25M", "7.00G" (exact below 10 000). */
export function formatCount(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)}G`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (n >= 1e4) return `${(n / 1e3).toFixed(1)}k`;
  return String(n);
}

/** A fraction as a percentage: 0.4567 → "45.7 %". */
export function formatPercent(fraction: number, digits = 1): string {
  return `${(fraction * 100).toFixed(digits)} %`;
}

/** A duration, coarse as a person reads it: "8 s", "2 min 05 s", "1 h 03 min". */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor(s / 60) % 60).padStart(2, '0')} min`;
}
