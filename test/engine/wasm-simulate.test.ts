import { describe, expect, it } from 'vitest';
import { referenceKernels, type Kernels } from '../../src/engine/kernels';
import { runAll, type RunResult } from '../../src/engine/simulate';
import { defaultRun, validateRun, type RunConfig } from '../../src/engine/schema';
import { wasmKernels } from '../../src/engine/wasm';

// Statistical checks of simulate.test.ts (which runs on the default kernels, the wasm ones here)
// on both kernel paths, passed explicitly, and the two paths against each other.
//
// Agreement tolerances: the paths differ only in rounding. An output of the wasm kernels is off by a
// few float32 ulps (u = 6e-8) of its dot product; in these nets (He or Glorot gains, about 1 per
// layer) such errors do not grow from layer to layer, and a variance over 10^3-10^6 values averages
// them. Measured on the configurations below: at most 3e-8 relative for layer statistics and 3e-7
// for a per-position variance (40 values each); 1e-5 is 30 times that and still far below any
// kernel error larger than rounding.
// Gradients also pass through the ReLU mask phi'(y): a pre-activation within rounding of 0 can take
// the other branch on the other path, and that changes the gradient of its sample in every layer
// below. No such flip happens in the runs below (gradients agree to 3e-8); the default 30-layer run
// with one network has a few and differs by 2.5e-4. Gradients are compared within 1e-4.
const AGREE = 1e-5;
const AGREE_GRADIENT = 1e-4;

const run = (over: Partial<RunConfig>): RunConfig => {
  const { config, problems } = validateRun({ ...defaultRun(), ...over });
  expect(problems).toEqual([]);
  return config;
};

const wasm = wasmKernels();
const PATHS: [string, Kernels][] = [
  ['reference', referenceKernels],
  ['wasm', wasm!],
];

/** Runs a configuration on both paths. */
const both = (c: RunConfig) => PATHS.map(([name, kernels]) => [name, runAll(c, kernels)] as const);

const relative = (a: number, b: number) => Math.abs(a - b) / Math.max(Math.abs(a), Math.abs(b), 1e-300);

function expectAgreement(reference: RunResult, fast: RunResult, withGradients: boolean): void {
  expect(fast.layers.length).toBe(reference.layers.length);
  for (let l = 0; l < reference.layers.length; l++) {
    const [a, b] = [reference.layers[l], fast.layers[l]];
    expect(relative(b.pre.variance, a.pre.variance), `layer ${l + 1} pre.variance`).toBeLessThan(AGREE);
    expect(relative(b.pre.meanSquare, a.pre.meanSquare), `layer ${l + 1} pre.meanSquare`).toBeLessThan(AGREE);
    expect(relative(b.post.meanSquare, a.post.meanSquare), `layer ${l + 1} post.meanSquare`).toBeLessThan(AGREE);
    // Exact zeros of ReLU: only values within rounding of 0 can differ, a handful of the count.
    expect(Math.abs(b.post.zeroFraction - a.post.zeroFraction) * a.post.count, `layer ${l + 1} zeros`).toBeLessThanOrEqual(4);
    if (a.positionVariance) {
      const pv = b.positionVariance!;
      for (let p = 0; p < a.positionVariance.length; p++) expect(relative(pv[p], a.positionVariance[p]), `layer ${l + 1} position ${p}`).toBeLessThan(AGREE);
    }
    if (withGradients) {
      expect(relative(b.gradient!.meanSquare, a.gradient!.meanSquare), `layer ${l + 1} gradient`).toBeLessThan(AGREE_GRADIENT);
      expect(relative(b.gradient!.weightMeanSquare, a.gradient!.weightMeanSquare), `layer ${l + 1} weight gradient`).toBeLessThan(AGREE_GRADIENT);
    }
  }
}

describe('the engine on both kernel paths', () => {
  it('wasm kernels are available here', () => {
    expect(wasm).not.toBeNull();
  });

  it('ReLU He MLP: forward (He et al. eq. 8) and backward (eq. 14) hold on both paths, and the paths agree', () => {
    const results = both(run({ depth: 10, width: 256, input: [256], n: 128, nets: 8 }));
    for (const [name, r] of results) {
      let prev = r.input.meanSquare;
      for (const l of r.layers) {
        // Tolerances and their reasons: simulate.test.ts, same configuration.
        const ratio = l.pre.meanSquare / (l.fanIn * l.weight.std ** 2 * prev);
        expect(Math.abs(ratio - 1), `${name} layer ${l.index}`).toBeLessThan(0.1);
        expect(Math.abs(l.post.zeroFraction - 0.5), `${name} layer ${l.index}`).toBeLessThan(0.05);
        prev = l.post.meanSquare;
        expect(Math.abs(l.gradient!.meanSquare - 1), `${name} layer ${l.index}`).toBeLessThan(0.2);
        expect(Math.abs(l.gradient!.weightMeanSquare / l.theory.weightGradientMeanSquare - 1), `${name} layer ${l.index}`).toBeLessThan(0.3);
      }
    }
    expectAgreement(results[0][1], results[1][1], true);
  });

  it('shared draws: wscale=sqrt(2) under v1.9 is He times 2^(-1/4) per layer, to 1e-4, on both paths', () => {
    for (const [name, kernels] of PATHS) {
      const a = runAll(run({ depth: 30, width: 128, input: [128], n: 64 }), kernels);
      const b = runAll(run({ depth: 30, width: 128, input: [128], n: 64, init: 'wscale', scale: Math.SQRT2, chainer: '1.9' }), kernels);
      for (let l = 0; l < 30; l++) {
        const ratio = b.layers[l].pre.variance / a.layers[l].pre.variance;
        expect(Math.abs(ratio / 2 ** (-(l + 1) / 2) - 1), `${name} layer ${l + 1}`).toBeLessThan(1e-4);
      }
    }
  });

  it('CNN: borders of a zero-padded map get the per-position theory on both paths, and the paths agree position by position', () => {
    const results = both(run({ net: 'cnn', input: [8, 12, 12], width: 32, depth: 3, kernel: 3, pad: 1, n: 32, nets: 8 }));
    for (const [name, r] of results)
      for (const l of r.layers) {
        const m = l.positionVariance!;
        const t = l.theory.positionVariance!;
        const at = (v: ArrayLike<number>, y: number, x: number) => v[y * 12 + x];
        // Tolerances and their reasons: simulate.test.ts, same configuration.
        const corners = [at(m, 0, 0), at(m, 0, 11), at(m, 11, 0), at(m, 11, 11)].reduce((s, v) => s + v, 0) / 4;
        let interior = 0;
        let tInterior = 0;
        for (let y = 3; y < 9; y++)
          for (let x = 3; x < 9; x++) {
            interior += at(m, y, x) / 36;
            tInterior += at(t, y, x) / 36;
          }
        expect(Math.abs(corners / at(t, 0, 0) - 1), `${name} layer ${l.index}`).toBeLessThan(0.15);
        expect(Math.abs(interior / tInterior - 1), `${name} layer ${l.index}`).toBeLessThan(0.1);
      }
    expectAgreement(results[0][1], results[1][1], true);
  });

  it('CNN gradients (conv input gradient and weight gradient squares) agree, with stride 1 and with stride 2', () => {
    for (const over of [
      { net: 'cnn' as const, input: [3, 16, 16], width: 8, depth: 4, kernel: 3, pad: 1, n: 16, nets: 2 },
      { net: 'cnn' as const, input: [3, 17, 15], width: 6, depth: 3, kernel: 3, stride: 2, pad: 1, n: 8, nets: 2 },
      { net: 'cnn' as const, input: [2, 9, 9], width: 5, depth: 3, kernel: 5, pad: 2, n: 8, nets: 1 },
    ]) {
      const [[, reference], [, fast]] = both(run(over));
      expectAgreement(reference, fast, true);
      for (const l of fast.layers) expect(l.gradient!.weightMeanSquare).toBeGreaterThan(0);
    }
  });

  it('the wasm path gives the same numbers, bit for bit, run after run', () => {
    const c = run({ depth: 6, width: 64, input: [64], n: 32, nets: 2 });
    expect(JSON.stringify(runAll(c, wasm!))).toBe(JSON.stringify(runAll(c, wasm!)));
    const cnn = run({ net: 'cnn', input: [3, 10, 10], width: 4, depth: 3, n: 4 });
    expect(JSON.stringify(runAll(cnn, wasm!))).toBe(JSON.stringify(runAll(cnn, wasm!)));
  });
});
