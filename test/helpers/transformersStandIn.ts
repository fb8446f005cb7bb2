// A stand-in for the `transformers` package (the real library cannot be installed here: no model
// hub, no package network): AutoConfig reads config.json into an object with attributes, and the
// architecture classes are the test's own. It stands in for the library only; everything Reducible
// does with it (build the module from the config, load the weights strictly, run it) is real.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const AUTO_CONFIG = `import json, os, sys


class _Config:
    def __init__(self, values):
        self.__dict__.update(values)


class AutoConfig:
    @staticmethod
    def from_pretrained(folder):
        with open(os.path.join(folder, "config.json")) as f:
            return _Config(json.load(f))
`;

/**
 * Writes the package under `dir` with `architectures` (Python defining the classes a config's
 * `architectures` names, each built from the config) and returns the environment that imports it.
 */
export function transformersStandIn(dir: string, architectures: string): NodeJS.ProcessEnv {
  const site = join(dir, 'site');
  mkdirSync(join(site, 'transformers'), { recursive: true });
  writeFileSync(join(site, 'transformers', '__init__.py'), `"""A stand-in for transformers: test/helpers/transformersStandIn.ts."""\n${AUTO_CONFIG}\n\n${architectures}`);
  return { PYTHONPATH: site };
}
