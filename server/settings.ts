// Server settings from initializationOptions or didChangeConfiguration, checked field by
// field so a wrong type in a user's settings.json falls back to the default, not a crash.
import type { ServerSettings } from '../shared/protocol.js';

export function mergeSettings(base: ServerSettings, raw: unknown): ServerSettings {
  const r = (raw ?? {}) as Record<string, unknown>;
  const num = (v: unknown, lo: number, hi: number, d: number): number => (typeof v === 'number' && v > lo && v <= hi ? v : d);
  const autoRun = (r.analysis as { autoRun?: unknown } | undefined)?.autoRun ?? r.autoRun;
  return {
    engine: typeof r.engine === 'string' ? r.engine : base.engine,
    pythonPath: typeof r.pythonPath === 'string' ? r.pythonPath || undefined : base.pythonPath,
    energy: num(r.energy, 0, 1, base.energy),
    maxFileSizeMB: num(r.maxFileSizeMB, 0, Number.MAX_SAFE_INTEGER, base.maxFileSizeMB),
    autoRun: typeof autoRun === 'boolean' ? autoRun : base.autoRun,
  };
}
