/**
 * Same link, same numbers, from one version of initscope to the next: a few statistics of two
 * fixed configurations, pinned to the last bit. If a change moves them (another summation order,
 * another random stream, another kernel), every link people have shared shows other numbers: that
 * must be a deliberate decision, said in the change's note, and these values updated with it.
 * Pinned for the WebAssembly kernels, which every browser with SIMD and the Node command use.
 */
import { describe, expect, it } from 'vitest';
import { defaultRun, validateRun, type RunConfig } from '../../src/engine/schema';
import { runAll } from '../../src/engine/simulate';
import { wasmKernels } from '../../src/engine/wasm';

// [layer, pre.variance, post.quantiles.p50, pre.quantiles.p99, gradient.meanSquare, weight.std]
const GOLDEN: [string, Partial<RunConfig>, number[][]][] = [
  [
    'the default configuration',
    {},
    [
      [1, 1.9725093999012144, 0.005105484277009964, 3.2481159949302647, 0.6197681332687399, 0.062467154596747544],
      [16, 1.4567607993432719, 0.011473383754491806, 2.7487681746482826, 0.6971177279267017, 0.062384186307654105],
      [30, 0.6024069586855457, 0, 1.8433919858932488, 0.9960331143843651, 0.06251600397519003],
    ],
  ],
  [
    'a tanh CNN with Glorot uniform',
    { net: 'cnn', depth: 4, width: 8, input: [3, 16, 16], n: 40, act: 'tanh', init: 'glorot_uniform' },
    [
      [1, 0.5050638532696231, 0.0011386754922568798, 1.7030069470405558, 0.2712289776441291, 0.14218770136990952],
      [3, 0.1609491017429295, -0.000054615549743175507, 0.9457774823904034, 0.733084555735499, 0.11930151429741195],
      [4, 0.1279390993008005, 0.00043332992936484516, 0.859948869347572, 0.9929853477006748, 0.11919851970440971],
    ],
  ],
];

describe('pinned numbers', () => {
  const kernels = wasmKernels();
  for (const [name, over, rows] of GOLDEN) {
    it.skipIf(!kernels)(`${name}: the same statistics to the last bit`, () => {
      const { config } = validateRun({ ...defaultRun(), ...over });
      const r = runAll(config, kernels!);
      for (const [layer, ...values] of rows) {
        const l = r.layers[layer - 1];
        expect([l.pre.variance, l.post.quantiles.p50, l.pre.quantiles.p99, l.gradient!.meanSquare, l.weight.std], `layer ${layer}`).toEqual(values);
      }
    });
  }
});
