import { describe, expect, it } from 'vitest';
import { drawWeights, drawBiases, weightRule, TRUNCATED_STD, orthonormalize } from '../../src/engine/initializers';
import { defaultRun, layerShapes, type InitName, type LayerShape, type RunConfig } from '../../src/engine/schema';

function moments(w: ArrayLike<number>): { mean: number; std: number } {
  let s = 0;
  let q = 0;
  for (let i = 0; i < w.length; i++) {
    s += w[i];
    q += w[i] * w[i];
  }
  const mean = s / w.length;
  return { mean, std: Math.sqrt(q / w.length - mean * mean) };
}

function dense(fanIn: number, out: number): LayerShape {
  return { index: 1, kind: 'dense', inShape: [fanIn], outShape: [out], fanIn, fanOut: out, weightCount: fanIn * out, multiplyAdds: fanIn * out };
}

function conv(ch: number, out: number, k: number): LayerShape {
  return { index: 1, kind: 'conv', inShape: [ch, 8, 8], outShape: [out, 8, 8], fanIn: ch * k * k, fanOut: out * k * k, weightCount: out * ch * k * k, multiplyAdds: 0 };
}

const run = (over: Partial<RunConfig>): RunConfig => ({ ...defaultRun(), ...over });

// The sample std of N draws has a relative standard error of about sqrt((kurtosis - 1) / N) / 2:
// 1/sqrt(2N) for a normal, 0.447/sqrt(N) for a uniform. Five standard errors make a deterministic
// (seeded) test that still catches any formula wrong by a factor such as sqrt(2), sqrt(3) or 2^(1/4).
const tolerance = (n: number) => 5 * 0.75 / Math.sqrt(n);

const formulas: [InitName, Partial<RunConfig>, (fanIn: number, fanOut: number, out: number) => number][] = [
  ['he_normal', {}, (fi) => Math.sqrt(2 / fi)],
  ['he_normal', { fan: 'out' }, (_fi, fo) => Math.sqrt(2 / fo)],
  ['he_normal', { scale: 0.5 }, (fi) => 0.5 * Math.sqrt(2 / fi)],
  ['he_normal', { dist: 'truncated' }, (fi) => Math.sqrt(2 / fi)],
  ['he_uniform', {}, (fi) => Math.sqrt(6 / fi) / Math.sqrt(3)],
  ['lecun_normal', {}, (fi) => Math.sqrt(1 / fi)],
  ['lecun_normal', { dist: 'truncated' }, (fi) => Math.sqrt(1 / fi)],
  ['lecun_uniform', {}, (fi) => Math.sqrt(3 / fi) / Math.sqrt(3)],
  ['glorot_normal', {}, (fi, fo) => Math.sqrt(2 / (fi + fo))],
  ['glorot_uniform', {}, (fi, fo) => Math.sqrt(6 / (fi + fo)) / Math.sqrt(3)],
  ['normal', { scale: 0.05 }, () => 0.05],
  ['uniform', { scale: 0.05 }, () => 0.05 / Math.sqrt(3)],
  ['orthogonal', { scale: 1.1 }, (fi, _fo, out) => 1.1 / Math.sqrt(Math.max(fi, out))],
  ['wscale', { scale: Math.SQRT2, chainer: '1.8' }, (fi) => Math.SQRT2 / Math.sqrt(fi)],
  ['wscale', { scale: Math.SQRT2, chainer: '1.9' }, (fi) => Math.sqrt(Math.SQRT2) / Math.sqrt(fi)],
  // PyTorch nn.Linear / nn.Conv2d default: kaiming_uniform_(a=sqrt(5)) = U[-1/sqrt(fan_in), 1/sqrt(fan_in)].
  ['torch_default', {}, (fi) => 1 / Math.sqrt(3 * fi)],
];

describe('weight initializers', () => {
  for (const [init, over, expected] of formulas) {
    for (const shape of [dense(300, 200), conv(16, 32, 3)]) {
      it(`${init} ${JSON.stringify(over)} on ${shape.kind} ${shape.fanIn}->${shape.outShape[0]}: measured std matches the formula`, () => {
        const c = run({ init, ...over });
        const rule = weightRule(c, shape);
        const want = expected(shape.fanIn, shape.fanOut, shape.outShape[0]);
        expect(rule.std).toBeCloseTo(want, 14);
        const w = drawWeights(c, shape, 0);
        expect(w.length).toBe(shape.weightCount);
        const m = moments(w);
        if (init !== 'orthogonal') {
          expect(Math.abs(m.std / want - 1)).toBeLessThan(tolerance(w.length));
          expect(Math.abs(m.mean)).toBeLessThan((5 * want) / Math.sqrt(w.length));
        } else {
          // Orthogonal: the squared entries sum to exactly scale^2 min(rows, cols).
          expect(m.std * m.std + m.mean * m.mean).toBeCloseTo(want * want, 8);
        }
      });
    }
  }

  it('conv fan_in is channels x k x k and fan_out is out x k x k', () => {
    const c = run({ net: 'cnn', input: [3, 32, 32], width: 64, depth: 2, kernel: 5, pad: 2 });
    const [l1, l2] = layerShapes(c);
    expect([l1.fanIn, l1.fanOut, l2.fanIn]).toEqual([3 * 25, 64 * 25, 64 * 25]);
    expect(weightRule(c, l2).std).toBeCloseTo(Math.sqrt(2 / (64 * 25)), 15);
  });

  it('truncated normal stays within two of its pre-truncation stds', () => {
    const shape = dense(256, 256);
    const c = run({ init: 'he_normal', dist: 'truncated' });
    const w = drawWeights(c, shape, 0);
    const limit = (2 * Math.sqrt(2 / 256)) / TRUNCATED_STD;
    let max = 0;
    for (const v of w) max = Math.max(max, Math.abs(v));
    expect(max).toBeLessThanOrEqual(limit * (1 + 1e-7));
    expect(max).toBeGreaterThan(limit * 0.99);
  });

  describe('Chainer wscale against the real Chainer figures (REFERENCE.md)', () => {
    // Linear(100, 100, wscale=sqrt(2)).W.std() averaged over 20 draws: 0.14108 (v1.8.2), 0.11864 (v1.17.0).
    for (const [rule, chainerValue] of [
      ['1.8', 0.14108],
      ['1.9', 0.11864],
    ] as const) {
      it(`rule ${rule}: 20 draws of Linear(100, 100) average ${chainerValue}`, () => {
        const c = run({ init: 'wscale', scale: Math.SQRT2, chainer: rule });
        const shape = dense(100, 100);
        let total = 0;
        for (let k = 0; k < 20; k++) total += moments(drawWeights(c, shape, k)).std;
        const mean = total / 20;
        // 20 x 10^4 draws: one standard error is 0.16%; Chainer's own average is itself such a draw.
        expect(Math.abs(mean / chainerValue - 1)).toBeLessThan(0.012);
      });
    }
    // Linear(1000), wscale = 1, sqrt(2), 2.
    const table: [string, number[]][] = [
      ['1.8', [0.03162, 0.0447, 0.06317]],
      ['1.9', [0.03162, 0.03759, 0.04467]],
    ];
    for (const [rule, values] of table) {
      it(`rule ${rule}: Linear(1000) std for wscale 1, sqrt(2), 2 is ${values.join(', ')}`, () => {
        [1, Math.SQRT2, 2].forEach((w, i) => {
          const c = run({ init: 'wscale', scale: w, chainer: rule as '1.8' | '1.9' });
          const shape = dense(1000, 1000);
          expect(Math.abs(weightRule(c, shape).std / values[i] - 1)).toBeLessThan(3e-3);
          const measured = moments(drawWeights(c, shape, 0)).std;
          expect(Math.abs(measured / values[i] - 1)).toBeLessThan(5e-3);
        });
      });
    }
    it('wscale=sqrt(2) under v1.9-v1.24 gives 2^(1/4)/sqrt(2) = 84% of He', () => {
      const shape = dense(512, 512);
      const ratio = weightRule(run({ init: 'wscale', scale: Math.SQRT2, chainer: '1.9' }), shape).std / weightRule(run({ init: 'he_normal' }), shape).std;
      expect(ratio).toBeCloseTo(2 ** 0.25 / Math.SQRT2, 14);
      expect(ratio).toBeCloseTo(0.8409, 4);
      // and wscale=2 under the same rule is exactly He.
      expect(weightRule(run({ init: 'wscale', scale: 2, chainer: '1.9' }), shape).std).toBeCloseTo(Math.sqrt(2 / 512), 15);
    });
  });

  it('one seed: he_normal and lecun_normal weights differ by exactly sqrt(2), element by element', () => {
    const shape = dense(128, 64);
    const he = drawWeights(run({ init: 'he_normal' }), shape, 0);
    const lecun = drawWeights(run({ init: 'lecun_normal' }), shape, 0);
    for (let i = 0; i < he.length; i++) {
      // Each is one float32 rounding of std * z: relative difference below 2^-23.
      expect(Math.abs(he[i] - Math.SQRT2 * lecun[i])).toBeLessThanOrEqual(Math.abs(he[i]) * 2 ** -23 * 1.5);
    }
  });

  it('truncated draws keep the plain normal draws where those fall inside two stds', () => {
    const shape = dense(64, 64);
    const plain = drawWeights(run({ init: 'lecun_normal' }), shape, 0);
    const cut = drawWeights(run({ init: 'lecun_normal', dist: 'truncated' }), shape, 0);
    const std = 1 / 8;
    let same = 0;
    for (let i = 0; i < plain.length; i++) {
      if (Math.abs(plain[i]) <= 2 * std) {
        expect(Math.abs(cut[i] * TRUNCATED_STD - plain[i])).toBeLessThanOrEqual(Math.abs(plain[i]) * 2 ** -22);
        same++;
      }
    }
    expect(same / plain.length).toBeGreaterThan(0.94);
  });

  it('different networks and seeds draw different weights; the same draw twice is identical', () => {
    const shape = dense(32, 32);
    const c = run({});
    expect(drawWeights(c, shape, 0)).toEqual(drawWeights(c, shape, 0));
    expect(drawWeights(c, shape, 0)).not.toEqual(drawWeights(c, shape, 1));
    expect(drawWeights(c, shape, 0)).not.toEqual(drawWeights(run({ seed: 'other' }), shape, 0));
  });

  it('orthonormalize gives orthonormal rows (wide) or columns (tall)', () => {
    for (const [rows, cols] of [
      [5, 9],
      [9, 5],
      [7, 7],
    ]) {
      const a = new Float64Array(rows * cols).map((_, i) => Math.sin(i * 12.9898) * 43758.5453 % 1);
      const q = orthonormalize(a, rows, cols);
      const wide = rows <= cols;
      const m = wide ? rows : cols;
      for (let i = 0; i < m; i++)
        for (let j = 0; j < m; j++) {
          let dot = 0;
          for (let t = 0; t < (wide ? cols : rows); t++) dot += wide ? q[i * cols + t] * q[j * cols + t] : q[t * cols + i] * q[t * cols + j];
          expect(dot).toBeCloseTo(i === j ? 1 : 0, 12);
        }
    }
  });

  it('biases: constant plus normal, or PyTorch uniform with std 1/sqrt(3 fan_in)', () => {
    const shape = dense(400, 20000);
    const b = drawBiases(run({ bias: 0.1, biasStd: 0.2 }), shape, 0);
    const m = moments(b);
    expect(m.mean).toBeCloseTo(0.1, 2);
    expect(Math.abs(m.std / 0.2 - 1)).toBeLessThan(tolerance(b.length));
    const t = moments(drawBiases(run({ biasInit: 'torch' }), shape, 0));
    expect(Math.abs(t.std / (1 / Math.sqrt(1200)) - 1)).toBeLessThan(tolerance(20000));
    expect(drawBiases(run({}), shape, 0).every((v) => v === 0)).toBe(true);
  });
});
