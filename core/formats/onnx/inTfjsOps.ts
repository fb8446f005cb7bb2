// The operators an ONNX graph may use to run in TF.js (inTfjs.ts), by name, gathered from
// their families; a graph using any other is refused up front, naming it.
import { ARITHMETIC_OPS } from './inTfjsArithmetic.js';
import { LAYER_OPS } from './inTfjsLayers.js';
import { SHAPE_OPS } from './inTfjsShapes.js';
import type { Op } from './inTfjsValues.js';

export const OPS: Record<string, Op> = { ...SHAPE_OPS, ...ARITHMETIC_OPS, ...LAYER_OPS };
