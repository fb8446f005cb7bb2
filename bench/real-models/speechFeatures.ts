// The wake-word bench's inputs: openWakeWord's speech embedding model does not take audio but
// windows of 76 mel frames, which openWakeWord computes with its own ONNX front end
// (melspectrogram.onnx, then x/10 + 2) and slides 8 frames at a time. This runs that front end,
// uncompressed, in onnxruntime on the clips make_data.py spoke, and writes the windows as the
// .npy files the bench and `reducible compress --calibration` take:
//   wake/calib.npy  float32 [300,76,32,1]  windows drawn (seeded) from the calibration clips
//   wake/test.npy   float32 [clips·W,76,32,1]  every window of every test clip, clip after clip
// Run by make_data.py at its end (or alone: npx tsx bench/real-models/speechFeatures.ts).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeNpy, readArray, toFloat32 } from '../../core/io/npy.js';
import { mulberry32 } from '../../core/linalg/mulberry32.js';
import { OnnxSession } from '../../core/formats/onnx/runtime.js';
import { WORK } from './tasks.js';

export const MEL_BANDS = 32, WINDOW = 76, STRIDE = 8;
const DIR = join(WORK, 'data/wake');

/** Every window of every clip, as openWakeWord's streaming front end would hand them to the embedding model. */
async function windows(audioFile: string): Promise<{ data: Float32Array; perClip: number }> {
  const audio = await readArray(audioFile);
  const [clips, samples] = audio.shape;
  const x = toFloat32(audio);
  const mel = await OnnxSession.open(join(WORK, 'openwakeword/models/melspectrogram.onnx'));
  try {
    const out: Float32Array[] = [];
    let perClip = 0;
    for (let c = 0; c < clips; c++) {
      const m = [...(await mel.run({ data: x.subarray(c * samples, (c + 1) * samples), shape: [1, samples] })).values()][0].data;
      const frames = m.length / MEL_BANDS;
      perClip = Math.floor((frames - WINDOW) / STRIDE) + 1;
      for (let w = 0; w < perClip; w++) out.push(m.slice(w * STRIDE * MEL_BANDS, (w * STRIDE + WINDOW) * MEL_BANDS).map((v) => v / 10 + 2));
    }
    const data = new Float32Array(out.length * WINDOW * MEL_BANDS);
    out.forEach((w, i) => data.set(w, i * WINDOW * MEL_BANDS));
    return { data, perClip };
  } finally {
    await mel.release();
  }
}

const save = (file: string, data: Float32Array): void =>
  writeFileSync(join(DIR, file), encodeNpy({ dtype: 'float32', shape: [data.length / (WINDOW * MEL_BANDS), WINDOW, MEL_BANDS, 1], data }));

async function main(): Promise<void> {
  const test = await windows(join(DIR, 'test_audio.npy'));
  save('test.npy', test.data);
  const calib = await windows(join(DIR, 'calib_audio.npy'));
  const n = calib.data.length / (WINDOW * MEL_BANDS), per = WINDOW * MEL_BANDS, next = mulberry32(7);
  // 300 distinct windows, as many as the OCR models' calibration sets hold.
  const picked = new Set<number>();
  while (picked.size < Math.min(300, n)) picked.add(next() % n);
  const chosen = new Float32Array(picked.size * per);
  [...picked].sort((a, b) => a - b).forEach((w, i) => chosen.set(calib.data.subarray(w * per, (w + 1) * per), i * per));
  save('calib.npy', chosen);
  console.error(`speechFeatures: ${test.data.length / per} test windows (${test.perClip} a clip), ${picked.size} calibration windows of ${n}`);
}

main().catch((e: unknown) => { console.error(`speechFeatures: ${(e as Error).message.split('\n')[0]}`); process.exitCode = 1; });
