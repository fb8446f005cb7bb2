"""Synthesises the pitch model's inputs (Spotify's Basic Pitch, a TF.js graph model): clips of
notes and chords at known MIDI pitches and times, cut into the model's windows exactly as the
package's own `BasicPitch.prepareData` does, so the .npy files go straight into the model and into
`reducible compress --calibration`. Called by make_data.py (part `music`).

The notes are harmonic tones (a fundamental and its overtones, four spectral shapes), each with a
short attack and release and a held level in between, so a note sounds from its onset to its
offset and the frame-level truth is well defined. Chords of one to three notes, staggered, over
MIDI 36-84 (C2-C6); random level per note; quiet white noise. Deterministic: one seeded generator
per set; calibration and test clips come from different seeds.

Out (under work/data/pitch/, git-ignored):
  calib.npy  float32 [300, 43844, 1]  windows of 60 clips (unlabeled)
  test.npy   float32 [W, 43844, 1]    windows of 40 clips, in clip order
  test.json  {"sampleRate", "clips": [{"samples", "windows", "notes": [[midi, onset s, offset s], ...]}]}
"""
import json
import os
import sys

import numpy as np

SR = 22050                                # Basic Pitch's AUDIO_SAMPLE_RATE
FFT_HOP = 256
WINDOW = SR * 2 - FFT_HOP                 # AUDIO_N_SAMPLES: 43 844 samples a window
OVERLAP = 30 * FFT_HOP                    # 30 overlapping frames between consecutive windows
HOP = WINDOW - OVERLAP
CLIP_SECONDS = 8.0
LOW, HIGH = 36, 84                        # MIDI range of the notes (the model covers 21-108)


def midi_hz(m):
    return 440.0 * 2 ** ((m - 69) / 12)


def tone(midi, seconds, shape, rng):
    """One held harmonic tone, attack 10-30 ms, release 30-60 ms, partials below Nyquist."""
    n = int(seconds * SR)
    t = np.arange(n) / SR
    f0 = midi_hz(midi)
    ks = np.arange(1, int((SR / 2 - 500) // f0) + 1)
    amps = {'soft': ks ** -2.0, 'bright': ks ** -1.0, 'hollow': np.where(ks % 2 == 1, ks ** -1.0, 0.0),
            'organ': np.isin(ks, (1, 2, 3, 4, 6, 8)) * (1.0 / np.sqrt(ks))}[shape]
    phases = rng.uniform(0, 2 * np.pi, len(ks))
    x = (amps[:, None] * np.sin(2 * np.pi * f0 * ks[:, None] * t[None, :] + phases[:, None])).sum(0)
    x /= np.abs(x).max()
    env = np.ones(n)
    a, r = int(rng.uniform(0.01, 0.03) * SR), int(rng.uniform(0.03, 0.06) * SR)
    env[:a] = np.linspace(0, 1, a)
    env[n - r:] = np.linspace(1, 0, r)
    return x * env


def clip(rng):
    """An 8 s clip and its notes [midi, onset, offset]: chords at staggered times, sometimes overlapping."""
    n = int(CLIP_SECONDS * SR)
    audio = np.zeros(n)
    notes = []
    t = rng.uniform(0.1, 0.5)
    while t < CLIP_SECONDS - 0.4:
        size = int(rng.choice([1, 1, 2, 3]))
        root = int(rng.integers(LOW, HIGH - 12 + 1))
        pitches = sorted({root, *(root + int(i) for i in rng.choice([3, 4, 5, 7, 8, 9, 12], size - 1, replace=False))})
        shape = str(rng.choice(['soft', 'bright', 'hollow', 'organ']))
        for p in pitches:
            onset = t + rng.uniform(0, 0.04)   # a strummed chord's notes start a few ms apart
            dur = min(rng.uniform(0.2, 1.0), CLIP_SECONDS - 0.05 - onset)
            start = int(onset * SR)
            x = tone(p, dur, shape, rng) * rng.uniform(0.05, 0.25)
            audio[start:start + len(x)] += x
            notes.append([p, round(start / SR, 6), round((start + len(x)) / SR, 6)])
        t += rng.uniform(0.25, 0.9)
    audio += rng.normal(0, 10 ** (-55 / 20), n)
    return audio.astype(np.float32), notes


def windows(audio):
    """prepareData: OVERLAP/2 zeros in front, then frames of WINDOW every HOP, the last zero-padded."""
    x = np.concatenate([np.zeros(OVERLAP // 2, np.float32), audio])
    starts = range(0, len(x), HOP)
    out = np.zeros((len(starts), WINDOW, 1), np.float32)
    for i, s in enumerate(starts):
        piece = x[s:s + WINDOW]
        out[i, :len(piece), 0] = piece
    return out


def music_sets(out_dir):
    os.makedirs(out_dir, exist_ok=True)
    for name, n_clips, seed in (('calib', 60, 21), ('test', 40, 22)):
        rng = np.random.default_rng(seed)
        clips = [clip(rng) for _ in range(n_clips)]
        wins = [windows(a) for a, _ in clips]
        np.save(os.path.join(out_dir, f'{name}.npy'), np.concatenate(wins))
        if name == 'test':
            with open(os.path.join(out_dir, 'test.json'), 'w') as f:
                json.dump({'sampleRate': SR, 'clips': [{'samples': len(a), 'windows': len(w), 'notes': ns}
                                                      for (a, ns), w in zip(clips, wins)]}, f)
        count = sum(len(ns) for _, ns in clips)
        print(f'make_data: pitch {name}: {n_clips} clips, {count} notes, {sum(len(w) for w in wins)} windows', file=sys.stderr)
