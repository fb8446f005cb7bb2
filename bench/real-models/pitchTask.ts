// Spotify's Basic Pitch (a TF.js graph model, in @spotify/basic-pitch) as a bench subject: note
// transcription of synthesised notes and chords at known pitches and times (make_music.py).
// The model sees 2 s windows cut as its package's prepareData cuts them; its outputs are
// stitched back per clip as the package's unwrapOutput does (15 frames dropped at each end of
// each window), then scored as note transcription is usually scored: note-level F1 on onsets
// (mir_eval's "no offset" F-measure: a note found when its key's onset posteriorgram peaks above
// the package's 0.5 within ±50 ms of a true onset), and frame-level F1 of the note posteriorgram
// against the piano roll. The package's own note maker (toMidi.js) also infers onsets from the
// frame posteriorgram and adds notes from leftover frame energy; that is not reproduced here, so
// the note figure is the onset head's, the frame figure the note head's.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tfjsGraphRuntime } from './runtimes.js';
import type { Scores, Task } from './tasks.js';

const WORK = fileURLToPath(new URL('work/', import.meta.url));
const DATA = join(WORK, 'data/pitch');
/** The package's constants: 22 050 Hz audio, a frame every 256 samples, 172 frames a window, 88 keys from MIDI 21. */
const SR = 22050, HOP = 256, FRAMES = 172, KEYS = 88, LOWEST = 21;
const EDGE = 15; // N_OVERLAP_OVER_2: frames dropped at each end of a window
const FPS = Math.floor(SR / HOP); // ANNOTATIONS_FPS, the package's frame count per second of audio (86)
/** The package's default thresholds: a key sounds in a frame above 0.3 (frameThresh); an onset peak counts above 0.5 (onsetThresh). */
const FRAME_THRESHOLD = 0.3, ONSET_THRESHOLD = 0.5;
/** Onset tolerance of the usual note-level transcription metric (mir_eval). */
const ONSET_TOLERANCE_S = 0.05;

/** Frames × 88 posteriorgrams: per window (as predicted) or per clip (after finish). */
interface Roll { frames: number; note: Float32Array; onset: Float32Array }
interface Clip { samples: number; windows: number; notes: [number, number, number][] }

const clips = (): Clip[] => (JSON.parse(readFileSync(join(DATA, 'test.json'), 'utf8')) as { clips: Clip[] }).clips;
const frameTime = (j: number): number => (j * HOP) / SR;
const f1 = (hit: number, found: number, truth: number): number => (found + truth ? (2 * hit) / (found + truth) : 1);

/** The known notes as a frames × 88 piano roll: a key sounds in frame j when its note's onset ≤ j's time < its offset. */
function pianoRoll(clip: Clip, frames: number): Uint8Array {
  const roll = new Uint8Array(frames * KEYS);
  for (const [midi, on, off] of clip.notes) {
    for (let j = Math.ceil((on * SR) / HOP); j < frames && frameTime(j) < off; j++) roll[j * KEYS + midi - LOWEST] = 1;
  }
  return roll;
}

/** Onset peaks per key: frames where the onset posteriorgram passes the threshold and is a local maximum in time. */
function onsetPeaks(r: Roll): [number, number][] {
  const peaks: [number, number][] = [];
  for (let k = 0; k < KEYS; k++) {
    for (let j = 0; j < r.frames; j++) {
      const v = r.onset[j * KEYS + k];
      const before = j > 0 ? r.onset[(j - 1) * KEYS + k] : -1, after = j + 1 < r.frames ? r.onset[(j + 1) * KEYS + k] : -1;
      if (v > ONSET_THRESHOLD && v > before && v >= after) peaks.push([k + LOWEST, frameTime(j)]);
    }
  }
  return peaks;
}

/** Found onsets matched one-to-one to true ones of the same key within the tolerance, earliest first. */
function matchOnsets(found: [number, number][], notes: [number, number, number][]): number {
  const used = new Set<number>();
  let hits = 0;
  for (const [key, t] of [...found].sort((a, b) => a[1] - b[1])) {
    const i = notes.findIndex(([m, on], n) => !used.has(n) && m === key && Math.abs(on - t) <= ONSET_TOLERANCE_S);
    if (i >= 0) { used.add(i); hits++; }
  }
  return hits;
}

/** Cells active in both, in `a`, in `b`, over every clip: frame-level F1's counts. */
function overlap(a: Uint8Array[], b: Uint8Array[]): [number, number, number] {
  let both = 0, na = 0, nb = 0;
  a.forEach((x, c) => { for (let i = 0; i < x.length; i++) { both += x[i] & b[c][i]; na += x[i]; nb += b[c][i]; } });
  return [both, na, nb];
}

const active = (r: Roll): Uint8Array => Uint8Array.from(r.note, (v) => (v > FRAME_THRESHOLD ? 1 : 0));

export const pitch: Task<Roll> = {
  id: 'pitch', title: 'Basic Pitch note transcription (@spotify/basic-pitch model.json, TF.js graph), synthesised notes and chords',
  model: join(WORK, 'basic-pitch/model/model.json'), calibration: join(DATA, 'calib.npy'), test: join(DATA, 'test.npy'),
  metricName: 'note F1 (onsets, ±50 ms)', agreementName: 'note F1 of the compressed model\'s onsets against the original\'s', batch: 8,
  // Identity_1 is the note (frame) posteriorgram, Identity_2 the onsets (the package's OUTPUT_TO_TENSOR_NAME).
  runtime: tfjsGraphRuntime(['Identity_1', 'Identity_2']),
  predict: ([note, onset]) => Array.from({ length: note.shape[0] }, (_, i) => ({
    frames: FRAMES, note: note.data.slice(i * FRAMES * KEYS, (i + 1) * FRAMES * KEYS), onset: onset.data.slice(i * FRAMES * KEYS, (i + 1) * FRAMES * KEYS),
  })),
  /** Each clip's windows, their edges dropped, end to end, cut at the clip's length in frames (the package's evaluateModel). */
  finish(windows) {
    let w = 0;
    return Promise.resolve(clips().map((clip) => {
      const frames = Math.floor((clip.samples * FPS) / SR), kept = FRAMES - 2 * EDGE;
      const note = new Float32Array(frames * KEYS), onset = new Float32Array(frames * KEYS);
      for (let i = 0; i < clip.windows; i++, w++) {
        const from = i * kept, n = Math.min(kept, frames - from);
        if (n <= 0) continue;
        note.set(windows[w].note.subarray(EDGE * KEYS, (EDGE + n) * KEYS), from * KEYS);
        onset.set(windows[w].onset.subarray(EDGE * KEYS, (EDGE + n) * KEYS), from * KEYS);
      }
      return { frames, note, onset };
    }));
  },
  score(rolls): Scores {
    const truth = clips();
    const [hit, found, real] = overlap(rolls.map(active), rolls.map((r, c) => pianoRoll(truth[c], r.frames)));
    const peaks = rolls.map(onsetPeaks);
    const onsetHits = peaks.reduce((s, p, c) => s + matchOnsets(p, truth[c].notes), 0);
    const nPeaks = peaks.reduce((s, p) => s + p.length, 0), nNotes = truth.reduce((s, c) => s + c.notes.length, 0);
    return {
      metric: f1(onsetHits, nPeaks, nNotes),
      extra: { onsetPrecision: nPeaks ? onsetHits / nPeaks : 1, onsetRecall: onsetHits / nNotes, frameF1: f1(hit, found, real), framePrecision: found ? hit / found : 1 },
    };
  },
  /** The compressed model's notes (onset peaks) matched to the original's as if those were the truth: F1. */
  agree(original, compressed) {
    let hits = 0, a = 0, b = 0;
    original.forEach((r, c) => {
      const mine = onsetPeaks(r).map(([k, t]): [number, number, number] => [k, t, t]), theirs = onsetPeaks(compressed[c]);
      hits += matchOnsets(theirs, mine); a += mine.length; b += theirs.length;
    });
    return f1(hits, b, a);
  },
};
