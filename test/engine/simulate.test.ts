import { describe, expect, it } from 'vitest';
import { runAll, simulate, type EngineEvent } from '../../src/engine/simulate';
import { defaultRun, validateRun, type RunConfig } from '../../src/engine/schema';
import { erfc } from '../../src/engine/detmath';

const run = (over: Partial<RunConfig>): RunConfig => {
  const { config, problems } = validateRun({ ...defaultRun(), ...over });
  expect(problems).toEqual([]);
  return config;
};

describe('the forward pass', () => {
  it('ReLU He MLP: every layer receives fan_in Var[w] E[x^2] of the layer below (He et al. eq. 8)', () => {
    const r = runAll(run({ depth: 10, width: 256, input: [256], n: 128, nets: 8 }));
    let prev = r.input.meanSquare;
    for (const l of r.layers) {
      const ratio = l.pre.meanSquare / (l.fanIn * l.weight.std ** 2 * prev);
      // The identity holds in expectation over the weights at any width. What is left is the noise of
      // the realized matrices: deep ReLU layers make the samples nearly collinear, so each network
      // contributes about one chi-square of 256 degrees of freedom, sqrt(2/256) = 8.8%; over 8 networks
      // 3.1%. Three seeds gave ratios within 0.946-1.057; 0.1 is 3.2 standard errors.
      expect(Math.abs(ratio - 1)).toBeLessThan(0.1);
      prev = l.post.meanSquare;
      // ReLU zeros exactly half of a symmetric pre-activation.
      expect(Math.abs(l.post.zeroFraction - 0.5)).toBeLessThan(0.05);
      expect(l.weight.std / l.weight.expectedStd).toBeGreaterThan(0.98);
      expect(l.weight.std / l.weight.expectedStd).toBeLessThan(1.02);
    }
    // Theory: Var[y_1] = fan_in * 2/fan_in * E[x^2] = 2, and He keeps it there.
    for (const l of r.layers) expect(l.theory.preVariance).toBeCloseTo(2, 10);
  });

  it('A and B share their draws: wscale=sqrt(2) under v1.9 is He times 2^(-1/4) per layer, exactly in ReLU nets', () => {
    const a = runAll(run({ depth: 30, width: 128, input: [128], n: 64 }));
    const b = runAll(run({ depth: 30, width: 128, input: [128], n: 64, init: 'wscale', scale: Math.SQRT2, chainer: '1.9' }));
    // ReLU is positively homogeneous and the weights are the same draws times c = 2^(1/4)/sqrt(2),
    // so B's layer l is A's times c^l up to float32 rounding: the variance ratio is 2^(-l/2).
    for (let l = 0; l < 30; l++) {
      const ratio = b.layers[l].pre.variance / a.layers[l].pre.variance;
      expect(Math.abs(ratio / 2 ** (-(l + 1) / 2) - 1)).toBeLessThan(1e-4);
      expect(b.layers[l].post.zeroFraction).toBe(a.layers[l].post.zeroFraction);
    }
    // The story of the first screen: after 30 layers B holds 0.707^29 = 4.3e-5 of its first layer's variance (theory).
    expect(b.layers[29].theory.preVariance / b.layers[0].theory.preVariance).toBeCloseTo(Math.SQRT1_2 ** 29, 12);
    expect(b.layers[29].theory.preVariance / b.layers[0].theory.preVariance).toBeCloseTo(4.3e-5, 6);
  });

  it('tanh: measured variance follows the quadrature theory layer by layer', () => {
    const r = runAll(run({ act: 'tanh', init: 'glorot_normal', depth: 10, width: 256, input: [256], n: 128, nets: 8, scale: 1.5 }));
    for (const l of r.layers) {
      // Eight 256-wide networks: each network's variance is off by about sqrt(2/256) = 9%, the pooled
      // one by 3%; 0.06 is two of those, and a 7% error of the quadrature (low-order Gauss-Hermite at
      // q = 10) would still show in the layers where q is large.
      expect(Math.abs(l.pre.variance / l.theory.preVariance - 1)).toBeLessThan(0.06);
    }
    expect(r.layers[9].pre.spread).not.toBeNull();
  });

  it('tanh with too large weights saturates, and the saturated fraction says so', () => {
    const r = runAll(run({ act: 'tanh', init: 'normal', scale: 0.2, depth: 5, width: 256, input: [256], n: 64 }));
    // fan_in Var[w] = 256 * 0.04 = 10: |tanh(y)| > 0.99 where |y| > atanh(0.99) = 2.647, which for
    // y ~ N(0, q) happens with probability erfc(2.647 / sqrt(2 q)), about a third here.
    const l = r.layers[4];
    const predicted = erfc(Math.atanh(0.99) / Math.sqrt(2 * l.theory.preVariance));
    expect(predicted).toBeGreaterThan(0.3);
    // 16384 values per layer, correlated through the shared weights: a few percent of noise.
    expect(Math.abs(l.post.saturatedFraction - predicted)).toBeLessThan(0.04);
    expect(r.layers[4].pre.saturatedFraction).toBe(r.layers[4].post.saturatedFraction);
    const relu = runAll(run({ depth: 2, width: 64, input: [64], n: 16 }));
    expect(relu.layers[1].post.saturatedFraction).toBe(0);
  });

  it('biases add bias^2 and bias_std^2 to the pre-activation mean square', () => {
    const r = runAll(run({ act: 'linear', init: 'lecun_normal', depth: 3, width: 256, input: [256], n: 256, nets: 4, bias: 0.5, biasStd: 0.3 }));
    const l = r.layers[0];
    expect(l.theory.preMean).toBeCloseTo(0.5, 12);
    expect(l.theory.preVariance).toBeCloseTo(1 + 0.09, 10);
    expect(Math.abs(l.pre.mean - 0.5)).toBeLessThan(0.05);
    expect(Math.abs(l.pre.variance / 1.09 - 1)).toBeLessThan(0.06);
  });

  it('CNN: fan_in = C k k; borders of a zero-padded map get exactly the per-position theory', () => {
    const r = runAll(run({ net: 'cnn', input: [8, 12, 12], width: 32, depth: 3, kernel: 3, pad: 1, n: 32, nets: 8 }));
    const l1 = r.layers[0];
    expect(l1.fanIn).toBe(8 * 9);
    expect(l1.positionShape).toEqual([12, 12]);
    const th = l1.theory.positionVariance!;
    const at = (m: ArrayLike<number>, y: number, x: number) => m[y * 12 + x];
    // Layer 1: the corner sees 4 of 9 taps, an edge 6 of 9.
    expect(at(th, 0, 0) / at(th, 5, 5)).toBeCloseTo(4 / 9, 12);
    expect(at(th, 0, 5) / at(th, 5, 5)).toBeCloseTo(6 / 9, 12);
    for (const l of r.layers) {
      const m = l.positionVariance!;
      const t = l.theory.positionVariance!;
      // Each position pools 32 samples x 32 channels x 8 networks, but the weights are shared across
      // samples: the variance of one channel of one network fluctuates by about sqrt(2/fan_in) = 17%
      // (fan_in 72), over 256 channel-networks 1% per layer, compounding over layers and with the
      // positions' own sampling noise. Compare the four corners and the interior block on average.
      const corners = [at(m, 0, 0), at(m, 0, 11), at(m, 11, 0), at(m, 11, 11)].reduce((s, v) => s + v, 0) / 4;
      let interior = 0;
      let tInterior = 0;
      for (let y = 3; y < 9; y++)
        for (let x = 3; x < 9; x++) {
          interior += at(m, y, x) / 36;
          tInterior += at(t, y, x) / 36;
        }
      expect(Math.abs(corners / at(t, 0, 0) - 1)).toBeLessThan(0.15);
      expect(Math.abs(interior / tInterior - 1)).toBeLessThan(0.1);
      expect(corners / interior).toBeLessThan(0.75);
    }
  });

  it('strided conv layers shrink the map and the fan-in stays C k k', () => {
    const r = runAll(run({ net: 'cnn', input: [3, 16, 16], width: 16, depth: 3, kernel: 3, stride: 2, pad: 1, n: 8 }));
    expect(r.layers.map((l) => l.outShape)).toEqual([
      [16, 8, 8],
      [16, 4, 4],
      [16, 2, 2],
    ]);
    expect(r.layers[1].fanIn).toBe(16 * 9);
  });
});

describe('the backward pass', () => {
  it('ReLU He with fan_in = fan_out keeps E[(dL/dy)^2] at 1 (He et al. eq. 14), measured and in theory', () => {
    const r = runAll(run({ depth: 10, width: 256, input: [256], n: 128, nets: 8 }));
    for (const l of r.layers) {
      expect(l.theory.gradientMeanSquare).toBeCloseTo(1, 10);
      // The squared gradient of one finite-width network fluctuates far more than its mean (Hanin 2018:
      // its log-variance grows with the sum of 1/width over layers); over 8 networks three seeds gave
      // 0.95-1.09 for the gradient and 0.90-1.20 for the per-sample weight gradient, E[g^2] E[x^2].
      expect(Math.abs(l.gradient!.meanSquare - 1)).toBeLessThan(0.2);
      expect(Math.abs(l.gradient!.weightMeanSquare / l.theory.weightGradientMeanSquare - 1)).toBeLessThan(0.3);
    }
    // The top layer's gradient is the N(0, 1) draw itself.
    expect(Math.abs(r.layers[9].gradient!.meanSquare - 1)).toBeLessThan(0.02);
  });

  it('LeCun on ReLU halves the gradient mean square per layer going down', () => {
    const r = runAll(run({ init: 'lecun_normal', depth: 8, width: 256, input: [256], n: 128, nets: 8 }));
    for (let l = 0; l < 7; l++) {
      expect(r.layers[l].theory.gradientMeanSquare / r.layers[l + 1].theory.gradientMeanSquare).toBeCloseTo(0.5, 10);
      const measured = r.layers[l].gradient!.meanSquare / r.layers[l + 1].gradient!.meanSquare;
      // One layer's step: about sqrt(2/256)/sqrt(8) = 3% of noise.
      expect(Math.abs(measured - 0.5)).toBeLessThan(0.06);
    }
  });
});

describe('reproducibility', () => {
  const small = () => run({ depth: 6, width: 64, input: [64], n: 32, nets: 2 });

  it('the same configuration gives the same numbers, bit for bit', () => {
    expect(JSON.stringify(runAll(small()))).toBe(JSON.stringify(runAll(small())));
  });

  it('changing layer 5 leaves the draws and statistics of layers 1 to 4 alone', () => {
    const a = runAll({ ...small(), widths: [64, 64, 64, 64, 64, 64], depth: 6 });
    const b = runAll({ ...small(), widths: [64, 64, 64, 64, 32, 64], depth: 6 });
    for (let l = 0; l < 4; l++) {
      expect(b.layers[l].pre).toEqual(a.layers[l].pre);
      expect(b.layers[l].weight).toEqual(a.layers[l].weight);
    }
    expect(b.layers[4].pre).not.toEqual(a.layers[4].pre);
  });

  it('more samples extend the same draws: n = 32 is a prefix of n = 64', () => {
    const a = runAll({ ...small(), nets: 1, n: 32 });
    const b = runAll({ ...small(), nets: 1, n: 64 });
    expect(b.layers[0].weight).toEqual(a.layers[0].weight);
    expect(b.layers[0].pre.count).toBe(2 * a.layers[0].pre.count);
  });

  it('yields start, then every forward layer, then the backward layers from the top', () => {
    const types: string[] = [];
    for (const e of simulate(small()) as Generator<EngineEvent>) types.push(e.type === 'backward' ? `b${e.index}` : e.type === 'forward' ? `f${e.layer.index}` : e.type);
    expect(types).toEqual(['start', 'f1', 'f2', 'f3', 'f4', 'f5', 'f6', 'b6', 'b5', 'b4', 'b3', 'b2', 'b1']);
  });
});

describe('numbers that blow up are data', () => {
  it('an exploding network counts its non-finite values instead of failing', () => {
    const r = runAll(run({ depth: 40, width: 64, input: [64], n: 16, scale: 20 }));
    const first = r.layers.findIndex((l) => l.pre.nonFinite > 0);
    expect(first).toBeGreaterThan(5);
    expect(r.layers[39].pre.nonFinite).toBe(r.layers[39].pre.count);
    expect(Number.isFinite(r.layers[39].theory.logPreVariance)).toBe(true);
  });

  it('a vanishing network underflows to exact zeros, and tiny variances are still reported', () => {
    const r = runAll(run({ act: 'linear', init: 'normal', scale: 0.01, depth: 45, width: 64, input: [64], n: 16 }));
    // Each layer multiplies the variance by 64 * 1e-4 = 6.4e-3: layer 10 is around 1e-22, still nonzero.
    expect(r.layers[9].pre.variance).toBeGreaterThan(0);
    expect(r.layers[9].pre.variance).toBeLessThan(1e-18);
    // Layer 45 would need values near 1e-48: below float32's smallest subnormal, so they are exact zeros.
    expect(r.layers[44].pre.zeroFraction).toBeGreaterThan(0.5);
    expect(r.layers[44].theory.preVariance).toBeGreaterThan(0);
  });
});
