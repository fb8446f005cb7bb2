// What `reducible compress` shows while it works, on stderr (stdout is the report). On a
// terminal one status line is rewritten in place; otherwise (a log, CI, `nohup`) a line is
// printed every PERIOD_MS — also while one long step reports nothing — so a long job never
// looks hung, a model of 500 layers does not print 500 lines, and a job shorter than that
// prints only its outcome (a failure still ends in its one line). Each line: stage, share done, elapsed
// time and, once there is enough to go on, an estimate of the time left.
import { formatDuration, formatPercent } from '../core/text/numbers.js';
import type { Progress } from '../core/types.js';

/** The longest a log goes without a progress line. */
export const PERIOD_MS = 10_000;
/** The shortest time between two rewrites of a terminal's status line. */
const REDRAW_MS = 100;
/** Below this share done an estimate of the time left is mostly noise, and none is shown. */
const ESTIMATE_FROM = 0.02;

export interface ProgressLines extends Progress {
  /** Stops the periodic lines and clears a terminal's status line. */
  end(): void;
}

interface Surface {
  /** Where the lines go (stderr: stdout carries the report). */
  out?: Pick<NodeJS.WriteStream, 'write' | 'isTTY' | 'columns'>;
  /** How often a log gets a line (PERIOD_MS). */
  periodMs?: number;
}

export function progressLines({ out = process.stderr, periodMs = PERIOD_MS }: Surface = {}): ProgressLines {
  const start = Date.now();
  let fraction = 0, label = '', drawn = false;
  const line = (): string => {
    const elapsed = Date.now() - start;
    const left = fraction >= ESTIMATE_FROM && fraction < 1 ? `, about ${formatDuration(elapsed * (1 - fraction) / fraction)} left` : '';
    return `reducible: ${label || 'starting'} — ${formatPercent(fraction, 0)} done, ${formatDuration(elapsed)} elapsed${left}`;
  };
  const print = (): void => {
    if (out.isTTY) { out.write(`\r${line().slice(0, (out.columns || 80) - 1)}\x1b[K`); drawn = true; } else out.write(`${line()}\n`);
  };
  const timer = setInterval(print, out.isTTY ? REDRAW_MS : periodMs).unref();
  return {
    report(f, l) {
      fraction = Math.max(fraction, Math.min(1, f));
      label = l;
    },
    end() {
      clearInterval(timer);
      if (drawn) out.write('\r\x1b[K');
    },
  };
}
