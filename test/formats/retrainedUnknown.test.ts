// Writers that take retrained weights (fine-tuning's, by stored tensor name) refuse a name the
// model does not have, rather than drop trained weights silently; nothing is committed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { factorsInMemory } from '../../core/compress/factorSource.js';
import { openModel } from '../../core/formats/open.js';
import { formatModule } from '../../core/formats/registry.js';
import { AtomicOutput } from '../../core/io/atomicOutput.js';
import { makeFixtures, tempDir } from '../helpers/cli.js';

const keras = makeFixtures('test/fixtures/make_keras.py');

for (const [source, ext] of [['examples/digits/model.json', 'json'], [join(keras, 'mlp.h5'), 'h5'], ['examples/fashion-cnn/model.onnx', 'onnx']] as const) {
  test(`the ${ext} writer refuses retrained tensors the model does not have`, async () => {
    const model = await openModel(source);
    const out = join(tempDir(), `out.${ext}`);
    const sink = new AtomicOutput(model.files);
    try {
      await assert.rejects(
        formatModule(model.format).write!(model, factorsInMemory(new Map()), out, sink, { retrained: new Map([['no_such/kernel', new Float32Array(4)]]) }),
        /retrained tensors no_such\/kernel are not in/,
      );
    } finally {
      await sink.abort();
      await model.close();
    }
    assert.equal(existsSync(out), false);
  });
}
