import { describe, it, expect } from 'vitest';
import { theory, type TheoryLayerInput } from '../../src/engine/theory';
import { activation } from '../../src/engine/activations';
import { gaussianExpectation } from '../../src/engine/gaussian';
import { convOutSize, type LayerShape } from '../../src/engine/schema';

const UNIT = { mean: 0, meanSquare: 1 };

function rel(a: number, b: number): number {
  return Math.abs(a - b) / Math.abs(b);
}

function denseShapes(inDim: number, widths: number[]): LayerShape[] {
  let n = inDim;
  return widths.map((out, i) => {
    const shape: LayerShape = { index: i + 1, kind: 'dense', inShape: [n], outShape: [out], fanIn: n, fanOut: out, weightCount: n * out, multiplyAdds: n * out };
    n = out;
    return shape;
  });
}

function convShapes(input: number[], channels: number[], kernel: number, stride: number, pad: number): LayerShape[] {
  let [c, h, w] = input;
  return channels.map((out, i) => {
    const oh = convOutSize(h, kernel, stride, pad);
    const ow = convOutSize(w, kernel, stride, pad);
    const kk = kernel * kernel;
    const shape: LayerShape = {
      index: i + 1,
      kind: 'conv',
      inShape: [c, h, w],
      outShape: [out, oh, ow],
      fanIn: c * kk,
      fanOut: out * kk,
      weightCount: out * c * kk,
      multiplyAdds: out * c * kk * oh * ow,
    };
    [c, h, w] = [out, oh, ow];
    return shape;
  });
}

/** Layers with Var[w] = varianceOf(shape) and the given bias. */
function layersOf(shapes: LayerShape[], varianceOf: (s: LayerShape) => number, biasMean = 0, biasVariance = 0, conv?: { kernel: number; stride: number; pad: number }): TheoryLayerInput[] {
  return shapes.map((shape) => ({ shape, weightVariance: varianceOf(shape), biasMean, biasVariance, ...conv }));
}

/** Composite Simpson on [a, b] with n (even) intervals: an independent integrator for the tests. */
function simpson(f: (z: number) => number, a: number, b: number, n = 20_000): number {
  const h = (b - a) / n;
  let sum = f(a) + f(b);
  for (let i = 1; i < n; i++) sum += (i % 2 ? 4 : 2) * f(a + i * h);
  return (sum * h) / 3;
}

const gauss = (z: number) => Math.exp(-0.5 * z * z) / Math.sqrt(2 * Math.PI);

/** E[f(Y)], Y ~ N(m, v), by Simpson in z split at the kink z = -m/s: independent of gaussian.ts. */
function expect_(f: (y: number) => number, m: number, v: number): number {
  const s = Math.sqrt(v);
  const k = Math.max(-14, Math.min(14, -m / s));
  // Each piece takes f's one-sided limit at the kink (f' jumps there for relu, selu).
  const below = (z: number) => f(m + s * Math.min(z, k - 1e-9)) * gauss(z);
  const above = (z: number) => f(m + s * Math.max(z, k + 1e-9)) * gauss(z);
  return simpson(below, -14, k) + simpson(above, k, 14);
}

describe('forward, ReLU family (He et al. 2015, eq. 10)', () => {
  const shapes = denseShapes(512, Array(30).fill(512));
  const relu = activation('relu', 0);

  it('He (Var[w] = 2/fanIn) preserves Var[y] exactly: 2 after the first layer and every layer after', () => {
    const t = theory(layersOf(shapes, (s) => 2 / s.fanIn), relu, UNIT);
    // Powers of two all the way: float64 makes no rounding error, so the claim is exact.
    for (const layer of t) {
      expect(layer.preVariance).toBe(2);
      expect(layer.postMeanSquare).toBe(1);
      expect(layer.derivativeMeanSquare).toBe(0.5);
      expect(layer.preMean).toBe(0);
      // log10 through detmath's log: within 2 ulp of Math.log10.
      expect(Math.abs(layer.logPreVariance - Math.log10(2))).toBeLessThan(2e-16);
    }
    // E[relu(Y)] = sd / sqrt(2 pi) for zero-mean Y.
    expect(rel(t[0].postMean, Math.sqrt(2) / Math.sqrt(2 * Math.PI))).toBeLessThan(1e-15);
  });

  it('LeCun (Var[w] = 1/fanIn) halves Var[y] every layer, exactly', () => {
    const t = theory(layersOf(shapes, (s) => 1 / s.fanIn), relu, UNIT);
    expect(t[0].preVariance).toBe(1);
    for (let l = 1; l < t.length; l++) expect(t[l].preVariance / t[l - 1].preVariance).toBe(0.5);
    expect(t[29].preVariance).toBe(2 ** -29);
  });

  it("Chainer v1.9 wscale=sqrt(2) (Var[w] = sqrt(2)/fanIn) shrinks it by sqrt(2)/2 per layer: layer 30 is 4.3e-5 of layer 1", () => {
    const t = theory(layersOf(shapes, (s) => Math.SQRT2 / s.fanIn), relu, UNIT);
    // 30 products, each rounded once: 30 eps is 7e-15; 1e-12 is the stated bound.
    expect(rel(t[0].preVariance, Math.SQRT2)).toBeLessThan(1e-15);
    for (let l = 1; l < t.length; l++) expect(rel(t[l].preVariance / t[l - 1].preVariance, Math.SQRT1_2)).toBeLessThan(1e-14);
    expect(rel(t[29].preVariance / t[0].preVariance, 4.315837287515549e-5)).toBeLessThan(1e-12);
  });

  it('leaky ReLU: plain He grows by (1 + a^2) per layer; the PyTorch gain 2/(1 + a^2) preserves it', () => {
    const a = 0.2;
    const leaky = activation('leaky_relu', a);
    const plain = theory(layersOf(shapes, (s) => 2 / s.fanIn), leaky, UNIT);
    for (let l = 1; l < plain.length; l++) expect(rel(plain[l].preVariance / plain[l - 1].preVariance, 1 + a * a)).toBeLessThan(1e-14);
    const gained = theory(layersOf(shapes, (s) => 2 / ((1 + a * a) * s.fanIn)), leaky, UNIT);
    for (const layer of gained) expect(rel(layer.preVariance, 2 / (1 + a * a))).toBeLessThan(1e-14);
    expect(rel(gained[0].derivativeMeanSquare, (1 + a * a) / 2)).toBeLessThan(1e-15);
  });
});

describe('forward, biases', () => {
  const shapes = denseShapes(100, [200, 50, 300]);
  const varianceOf = (s: LayerShape) => 1.3 / s.fanIn;

  it('linear: Var[y_l] = 1.3 E[x^2] + sigma_b^2 and E[x^2] = Var[y] + b^2, exactly as the recursion says', () => {
    const b = 0.4;
    const sb2 = 0.09;
    const t = theory(layersOf(shapes, varianceOf, b, sb2), activation('linear', 0), UNIT);
    let ms = 1;
    for (const layer of t) {
      const v = 1.3 * ms + sb2;
      expect(rel(layer.preVariance, v)).toBeLessThan(1e-15);
      expect(layer.preMean).toBe(b);
      expect(rel(layer.preMeanSquare, v + b * b)).toBeLessThan(1e-15);
      expect(rel(layer.postMeanSquare, v + b * b)).toBeLessThan(1e-15);
      expect(layer.postMean).toBe(b);
      ms = v + b * b;
    }
  });

  it('relu with a bias: the closed forms against an independent Simpson integration', () => {
    const b = -0.3;
    const sb2 = 0.05;
    const t = theory(layersOf(shapes, varianceOf, b, sb2), activation('relu', 0), UNIT);
    let ms = 1;
    for (const layer of t) {
      const v = 1.3 * ms + sb2;
      // v carries the Simpson error of the previous layer's E[x^2].
      expect(rel(layer.preVariance, v)).toBeLessThan(1e-10);
      ms = expect_((y) => (y > 0 ? y * y : 0), b, v);
      // Simpson with h = 1.4e-3 on smooth pieces: error ~h^4 = 4e-12; 1e-10 is the bound.
      expect(rel(layer.postMeanSquare, ms)).toBeLessThan(1e-10);
      expect(rel(layer.postMean, expect_((y) => Math.max(y, 0), b, v))).toBeLessThan(1e-10);
      expect(rel(layer.derivativeMeanSquare, expect_((y) => (y > 0 ? 1 : 0), b, v))).toBeLessThan(1e-10);
    }
  });

  it('leaky relu with a bias: E[phi^2] = (m^2+v)(Phi(t) + a^2 Phi(-t)) + (1-a^2) m s phi(t) against Simpson', () => {
    const a = 0.3;
    const t = theory(layersOf(shapes, varianceOf, 0.4, 0.02), activation('leaky_relu', a), UNIT);
    let ms = 1;
    for (const layer of t) {
      const v = 1.3 * ms + 0.02;
      ms = expect_((y) => (y > 0 ? y * y : a * a * y * y), 0.4, v);
      expect(rel(layer.postMeanSquare, ms)).toBeLessThan(1e-10);
      expect(rel(layer.postMean, expect_((y) => (y > 0 ? y : a * y), 0.4, v))).toBeLessThan(1e-10);
      expect(rel(layer.derivativeMeanSquare, expect_((y) => (y > 0 ? 1 : a * a), 0.4, v))).toBeLessThan(1e-10);
    }
  });

  it('a bias mean far below the kink (t < -4, where the closed form cancels) still gives accurate moments', () => {
    const t = theory(layersOf(denseShapes(10, [10]), () => 0.01, -2, 0), activation('relu', 0), UNIT);
    // Var[y] = 0.1, mean -2: 6.3 sd below the kink.
    expect(rel(t[0].postMeanSquare, expect_((y) => (y > 0 ? y * y : 0), -2, 0.1))).toBeLessThan(1e-9);
  });
});

describe('forward, smooth activations against an independent per-layer quadrature', () => {
  for (const name of ['tanh', 'gelu', 'selu', 'sigmoid'] as const) {
    it(`${name}: Poole et al.'s length map q_l = sigma_w^2 E[phi(Y)^2] + sigma_b^2 layer by layer`, () => {
      const act = activation(name, 0);
      const shapes = denseShapes(64, [128, 128, 256, 64, 64, 64, 64, 64]);
      const sw2 = 1.7;
      const b = 0.1;
      const sb2 = 0.02;
      const t = theory(layersOf(shapes, (s) => sw2 / s.fanIn, b, sb2), act, UNIT);
      let ms = 1;
      const dms: number[] = [];
      for (const layer of t) {
        const v = sw2 * ms + sb2;
        expect(rel(layer.preVariance, v)).toBeLessThan(1e-10);
        ms = expect_((y) => act.phi(y) ** 2, b, v);
        dms.push(expect_((y) => act.dphi(y) ** 2, b, v));
        // Simpson (h ~ 1.4e-3, error ~1e-12) on each side of the kink; 1e-10 covers both methods.
        expect(rel(layer.postMeanSquare, ms), 'E[phi^2]').toBeLessThan(1e-10);
        expect(rel(layer.derivativeMeanSquare, dms[dms.length - 1]), "E[phi'^2]").toBeLessThan(1e-10);
        expect(Math.abs(layer.postMean - expect_(act.phi, b, v)), 'E[phi]').toBeLessThan(1e-10 * Math.sqrt(ms));
      }
      // Backward: E[g_(l-1)^2] = E[phi'^2]_(l-1) fanOut_l Var[w_l] E[g_l^2].
      let g = 1;
      for (let l = t.length - 1; l >= 0; l--) {
        expect(rel(t[l].gradientMeanSquare, g)).toBeLessThan(1e-9);
        if (l > 0) g *= dms[l - 1] * shapes[l].fanOut * (sw2 / shapes[l].fanIn);
      }
    });
  }
});

describe('backward (He et al. 2015, eq. 14)', () => {
  const relu = activation('relu', 0);

  it('He fan_in with square layers keeps E[g^2] = 1 = E[dL/dy_L]^2 at every layer, and E[(dW)^2] = E[g^2] E[x^2] = 1', () => {
    // E[g_(l-1)^2] = (1/2) fanOut (2/fanIn) E[g_l^2] = E[g_l^2] when fanIn = fanOut; all powers of two.
    const t = theory(layersOf(denseShapes(512, Array(30).fill(512)), (s) => 2 / s.fanIn), relu, UNIT);
    for (const layer of t) {
      expect(layer.gradientMeanSquare).toBe(1);
      expect(layer.weightGradientMeanSquare).toBe(1);
    }
  });

  it('He fan_in with changing widths scales E[g^2] by (1/2) fanOut_l Var[w_l] per layer; fan_out mode preserves it', () => {
    const shapes = denseShapes(512, [256, 1024, 128, 64]);
    const t = theory(layersOf(shapes, (s) => 2 / s.fanIn), relu, { mean: 0, meanSquare: 1 });
    // g_4 = 1, g_3 = (1/2)(64)(2/128) = 1/2, g_2 = (1/2)(128)(2/1024)(1/2) = 1/16, g_1 = (1/2)(1024)(2/256)/16 = 1/4.
    expect(t.map((l) => l.gradientMeanSquare)).toEqual([0.25, 0.0625, 0.5, 1]);
    // Forward stays at 2, so E[x_(l-1)^2] = 1 except the input.
    expect(t.map((l) => l.weightGradientMeanSquare)).toEqual([0.25, 0.0625, 0.5, 1]);
    const out = theory(layersOf(shapes, (s) => 2 / s.fanOut), relu, UNIT);
    expect(out.map((l) => l.gradientMeanSquare)).toEqual([1, 1, 1, 1]);
  });

  it('the weight gradient uses the input E[x^2] at the first layer', () => {
    const t = theory(layersOf(denseShapes(8, [8, 8]), (s) => 2 / s.fanIn), relu, { mean: 0.5, meanSquare: 4 });
    expect(t[0].preVariance).toBe(8);
    expect(t[0].weightGradientMeanSquare).toBe(t[0].gradientMeanSquare * 4);
    expect(t[1].weightGradientMeanSquare).toBe(t[1].gradientMeanSquare * 4);
  });
});

describe('conv layers, exact per output position', () => {
  const relu = activation('relu', 0);
  const geometry = { kernel: 3, stride: 1, pad: 1 };

  it('pad 1, k 3 on 8x8: the corner sees 4 of 9 taps, the edges 6, the interior all 9 (the dense formula)', () => {
    const shapes = convShapes([3, 8, 8], [16, 16], 3, 1, 1);
    const t = theory(layersOf(shapes, (s) => 2 / s.fanIn, 0, 0, geometry), relu, UNIT);
    const v = t[0].positionVariance!;
    const interior = v[3 * 8 + 4];
    // fanIn Var[w] E[x^2] = 27 * 2/27 * 1.
    expect(rel(interior, 2)).toBeLessThan(1e-15);
    expect(rel(v[0] / interior, 4 / 9)).toBeLessThan(1e-15);
    expect(rel(v[63] / interior, 4 / 9)).toBeLessThan(1e-15);
    expect(rel(v[3] / interior, 6 / 9)).toBeLessThan(1e-15);
    expect(rel(v[8 * 5] / interior, 6 / 9)).toBeLessThan(1e-15);
    // Pooled: the valid taps per axis are 2,3,3,3,3,3,3,2 (22), so 22^2 taps over 64 positions.
    expect(rel(t[0].preVariance, ((2 / 9) * 22 * 22) / 64)).toBeLessThan(1e-15);
    // Layer 2 reads relu of layer 1: Var[y_2(p)] = Var[w] C sum over taps of Var[y_1(q)]/2.
    const w2 = 2 / shapes[1].fanIn;
    expect(rel(t[1].positionVariance![0], w2 * 16 * 0.5 * (v[0] + v[1] + v[8] + v[9]))).toBeLessThan(1e-15);
  });

  it('per-position backward: E[(dL/dx(q))^2] = Var[w] C_out (number of output-tap pairs reading q) E[g^2]', () => {
    const shapes = convShapes([3, 8, 8], [16, 32], 3, 1, 1);
    const t = theory(layersOf(shapes, (s) => 2 / s.fanIn, 0, 0, geometry), relu, UNIT);
    expect(t[1].positionGradientMeanSquare!.every((g) => g === 1)).toBe(true);
    const g = t[0].positionGradientMeanSquare!;
    // E[relu'^2] = 1/2 at zero mean; Var[w_2] C_out = (2/144) 32.
    const unit = 0.5 * (2 / 144) * 32;
    expect(rel(g[0], 4 * unit)).toBeLessThan(1e-15);
    expect(rel(g[2], 6 * unit)).toBeLessThan(1e-15);
    expect(rel(g[9], 9 * unit)).toBeLessThan(1e-15);
    expect(rel(t[0].gradientMeanSquare, (unit * 22 * 22) / 64)).toBeLessThan(1e-15);
  });

  it('per-sample weight gradient: (1/k^2) sum over taps and valid positions of E[g(p)^2] E[x(q)^2]', () => {
    const shapes = convShapes([3, 8, 8], [16], 3, 1, 1);
    const t = theory(layersOf(shapes, (s) => 2 / s.fanIn, 0, 0, geometry), relu, UNIT);
    // Top layer: E[g^2] = 1, input E[x^2] = 1: 22^2 valid (position, tap) pairs / 9.
    expect(rel(t[0].weightGradientMeanSquare, (22 * 22) / 9)).toBeLessThan(1e-15);
  });

  it('stride: with k = s = 2 and no padding every input is read once, so fanOut_eff = C_out k^2/s^2 = C_out', () => {
    const shapes = convShapes([4, 8, 8], [6, 10], 2, 2, 0);
    const t = theory(layersOf(shapes, () => 0.1, 0, 0, { kernel: 2, stride: 2, pad: 0 }), activation('linear', 0), UNIT);
    expect(t[0].positionGradientMeanSquare!.every((g) => rel(g, 0.1 * 10) < 1e-15)).toBe(true);
    expect(t[0].positionVariance!.length).toBe(16);
    expect(t[1].positionVariance!.length).toBe(4);
  });

  it('stride 2, pad 1, k 3 on a 9x7 map: per-position forward and backward against a naive loop over every tap', () => {
    const [k, stride, pad] = [3, 2, 1];
    const shapes = convShapes([2, 9, 7], [5, 3], k, stride, pad);
    const linear = activation('linear', 0);
    const t = theory(layersOf(shapes, () => 0.3, 0, 0, { kernel: k, stride, pad }), linear, UNIT);
    const [, oh, ow] = shapes[0].outShape;
    const [, h, w] = shapes[0].inShape;
    expect([oh, ow]).toEqual([5, 4]);
    // Naive: output (r, c) reads input (r s + i - pad, c s + j - pad) for every valid tap.
    const reads = new Float64Array(h * w);
    for (let r = 0; r < oh; r++) {
      for (let c = 0; c < ow; c++) {
        let valid = 0;
        for (let i = 0; i < k; i++) {
          for (let j = 0; j < k; j++) {
            const [qr, qc] = [r * stride + i - pad, c * stride + j - pad];
            if (qr < 0 || qr >= h || qc < 0 || qc >= w) continue;
            valid++;
            reads[qr * w + qc]++;
          }
        }
        // Layer 1: Var[y(p)] = Var[w] C (valid taps) E[x^2].
        expect(rel(t[0].positionVariance![r * ow + c], 0.3 * 2 * valid)).toBeLessThan(1e-15);
      }
    }
    // Layer 2 is the top (g = 1 everywhere) and reads layer 1 (5x4 -> 3x2): g_1(q) = Var[w] C_out (pairs reading q).
    const [, oh2, ow2] = shapes[1].outShape;
    const reads2 = new Float64Array(oh * ow);
    for (let r = 0; r < oh2; r++) {
      for (let c = 0; c < ow2; c++) {
        for (let i = 0; i < k; i++) {
          for (let j = 0; j < k; j++) {
            const [qr, qc] = [r * stride + i - pad, c * stride + j - pad];
            if (qr >= 0 && qr < oh && qc >= 0 && qc < ow) reads2[qr * ow + qc]++;
          }
        }
      }
    }
    const g1 = t[0].positionGradientMeanSquare!;
    for (let q = 0; q < oh * ow; q++) expect(Math.abs(g1[q] - 0.3 * 3 * reads2[q]), `position ${q}`).toBeLessThan(1e-15);
    // The geometry is uneven enough to matter: inputs are read 1, 2 or 4 times (pairs), some outputs see 4 taps.
    expect(new Set(reads2)).toEqual(new Set([1, 2, 4]));
    expect(new Set(reads).size).toBeGreaterThan(1);
  });

  it('mirror-image positions get identical bits (taps summed in mirror-image pairs)', () => {
    const shapes = convShapes([3, 16, 16], Array(6).fill(8), 3, 1, 1);
    const t = theory(layersOf(shapes, (s) => 1.5 / s.fanIn, 0.1, 0.01, geometry), activation('tanh', 0), UNIT);
    const v = t[5].positionVariance!;
    const g = t[0].positionGradientMeanSquare!;
    for (let r = 0; r < 16; r++) {
      for (let c = 0; c < 16; c++) {
        expect(v[r * 16 + c]).toBe(v[r * 16 + (15 - c)]);
        expect(v[r * 16 + c]).toBe(v[(15 - r) * 16 + c]);
        expect(g[r * 16 + c]).toBe(g[(15 - r) * 16 + (15 - c)]);
        // Across the diagonal rows-then-columns rounds differently: equal to the last bits only.
        expect(rel(v[r * 16 + c], v[c * 16 + r])).toBeLessThan(1e-15);
      }
    }
  });

  it('gelu per position matches a direct per-position recursion (exercises the interpolation over variances)', () => {
    // A 32x32 map has up to 256 distinct variances per layer, spread over a factor ~14 by the border
    // in the deep layers: 17 interpolation nodes would be 7e-10 off there, 33 are not.
    const H = 32;
    const depth = 30;
    const act = activation('gelu', 0);
    const shapes = convShapes([3, H, H], Array(depth).fill(16), 3, 1, 1);
    const wv = (s: LayerShape) => 2 / s.fanIn;
    const t = theory(layersOf(shapes, wv, 0.1, 0.01, geometry), act, UNIT);
    let ms = new Float64Array(H * H).fill(1);
    for (let l = 0; l < depth; l++) {
      const c = shapes[l].inShape[0];
      const next = new Float64Array(H * H);
      const memo = new Map<number, number>();
      for (let r = 0; r < H; r++) {
        for (let col = 0; col < H; col++) {
          let tap = 0;
          for (let i = -1; i <= 1; i++) for (let j = -1; j <= 1; j++) if (r + i >= 0 && r + i < H && col + j >= 0 && col + j < H) tap += ms[(r + i) * H + col + j];
          const v = wv(shapes[l]) * c * tap + 0.01;
          // Both sides use the same quadrature, so only the interpolation differs: measured 5e-14.
          expect(rel(t[l].positionVariance![r * H + col], v), `layer ${l + 1} at ${r},${col}`).toBeLessThan(1e-12);
          if (!memo.has(v)) memo.set(v, gaussianExpectation((y) => act.phi(y) ** 2, 0.1, v));
          next[r * H + col] = memo.get(v)!;
        }
      }
      ms = next;
    }
  });

  it('a 3x32x32 input through 30 conv layers of 64 channels stays fast for every activation', () => {
    const shapes = convShapes([3, 32, 32], Array(30).fill(64), 3, 1, 1);
    for (const name of ['relu', 'tanh', 'gelu', 'selu'] as const) {
      const start = performance.now();
      const t = theory(layersOf(shapes, (s) => 2 / s.fanIn, 0.1, 0.01, geometry), activation(name, 0), UNIT);
      const ms = performance.now() - start;
      expect(t).toHaveLength(30);
      // Measured 20-80 ms on a loaded 2-core machine; 2 s catches a lost cache or interpolation, not jitter.
      expect(ms, name).toBeLessThan(2000);
    }
  });

  it('rejects a conv layer without its geometry, naming the layer', () => {
    const shapes = convShapes([3, 8, 8], [4], 3, 1, 1);
    expect(() => theory(layersOf(shapes, () => 1), relu, UNIT)).toThrow(/layer 1: a conv layer needs integer kernel/);
  });
});

describe('deep exploding and vanishing networks', () => {
  const shapes = denseShapes(512, Array(200).fill(512));

  it('ReLU growing 1e3 per layer for 200 layers: Var[y] overflows float64, logPreVariance stays finite and exact', () => {
    const t = theory(layersOf(shapes, (s) => 2000 / s.fanIn), activation('relu', 0), UNIT);
    for (let l = 0; l < 200; l++) {
      // 200 roundings of the mantissa: 4e-14 relative, 2e-14 in log10.
      expect(Math.abs(t[l].logPreVariance - (Math.log10(2000) + 3 * l)), `layer ${l + 1}`).toBeLessThan(1e-11);
      if (l < 100) expect(rel(t[l].preVariance, 2000 * 1000 ** l)).toBeLessThan(1e-13);
      for (const value of Object.values(t[l])) expect(Number.isNaN(value), `layer ${l + 1}`).toBe(false);
    }
    expect(t[199].preVariance).toBe(Infinity);
    expect(t[0].gradientMeanSquare).toBe(Infinity);
  });

  it('ReLU shrinking 1e3 per layer: Var[y] underflows to 0, logPreVariance stays finite', () => {
    const t = theory(layersOf(shapes, (s) => 0.002 / s.fanIn), activation('relu', 0), UNIT);
    expect(t[199].preVariance).toBe(0);
    expect(Math.abs(t[199].logPreVariance - (Math.log10(0.002) - 3 * 199))).toBeLessThan(1e-11);
  });

  it('ELU and tanh follow their asymptotes where float64 would overflow or underflow', () => {
    const elu = theory(layersOf(shapes, (s) => 2000 / s.fanIn), activation('elu', 0), UNIT);
    // E[elu(Y)^2] = Var/2 + O(1): the same growth as relu up to corrections of order 1/Var.
    expect(Math.abs(elu[199].logPreVariance - (Math.log10(2000) + 3 * 199))).toBeLessThan(1e-3);
    const tanh = theory(layersOf(shapes, (s) => 0.002 / s.fanIn), activation('tanh', 0), UNIT);
    // Small zero-mean Y: E[tanh(Y)^2] = Var (1 - 2 Var + ...), so Var shrinks by fanIn Var[w] = 0.002
    // per layer once Var is small (from layer 10 on 2 Var < 1e-20), far past float64's 1e-308.
    expect(tanh[199].preVariance).toBe(0);
    for (let l = 10; l < 200; l++) expect(Math.abs(tanh[l].logPreVariance - tanh[l - 1].logPreVariance - Math.log10(0.002)), `layer ${l + 1}`).toBeLessThan(1e-12);
    expect(tanh[199].derivativeMeanSquare).toBe(1);
  });

  // Dense ReLU, equal widths n, Var[w] = c/n, E[x_0^2] = 1 (He et al. eq. 10 and 13): Var[y_l] = c (c/2)^(l-1),
  // E[x_l^2] = (c/2)^l, and backward E[g_(l-1)^2] = E[relu'^2] n Var[w] E[g_l^2] = (c/2) E[g_l^2] from E[g_L^2] = 1,
  // so E[g_l^2] = (c/2)^(L-l) and E[(dL/dW_l)^2] = E[g_l^2] E[x_(l-1)^2] = (c/2)^(L-1) at every layer.
  for (const [story, c, float64] of [
    ['exploding, 1e3 per layer', 2000, Infinity],
    ['vanishing, 1e-3 per layer', 0.002, 0],
  ] as const) {
    it(`ReLU ${story} for 200 layers: log10 of the gradient mean squares stays finite, on the closed-form slope log10(c/2) per layer`, () => {
      const t = theory(layersOf(shapes, (s) => c / s.fanIn), activation('relu', 0), UNIT);
      const slope = Math.log10(c / 2);
      // The float64 values leave float64's range: the case the log fields exist for.
      expect(t[0].gradientMeanSquare).toBe(float64);
      expect(t[0].weightGradientMeanSquare).toBe(float64);
      for (let l = 0; l < 200; l++) {
        // Up to 200 roundings of the mantissa (4e-14 relative) and the log itself: 1e-11 in log10 is ample and still
        // 1e8 times finer than one layer's step of 3.
        expect(Math.abs(t[l].logGradientMeanSquare - (199 - l) * slope), `layer ${l + 1}`).toBeLessThan(1e-11);
        expect(Math.abs(t[l].logWeightGradientMeanSquare - 199 * slope), `layer ${l + 1}`).toBeLessThan(1e-11);
        if (l > 0) expect(Math.abs(t[l].logGradientMeanSquare - t[l - 1].logGradientMeanSquare + slope), `layer ${l + 1}`).toBeLessThan(1e-11);
        // Where float64 holds the value, the log field is its log10.
        const g = t[l].gradientMeanSquare;
        if (g > 1e-300 && g < 1e300) expect(Math.abs(t[l].logGradientMeanSquare - Math.log10(g)), `layer ${l + 1}`).toBeLessThan(1e-13);
      }
      expect(t[199].gradientMeanSquare).toBe(1);
      expect(t[199].logGradientMeanSquare).toBe(0);
    });
  }

  it('linear, 100 per layer: the gradient mean square 100^(200-l) overflows, its log10 is 2 (200 - l)', () => {
    const t = theory(layersOf(shapes, (s) => 100 / s.fanIn), activation('linear', 0), UNIT);
    expect(t[0].gradientMeanSquare).toBe(Infinity);
    for (let l = 0; l < 200; l++) {
      expect(Math.abs(t[l].logGradientMeanSquare - 2 * (199 - l)), `layer ${l + 1}`).toBeLessThan(1e-11);
      // E[x_(l-1)^2] = 100^(l-1) times E[g_l^2] = 100^(200-l): 100^199 at every layer.
      expect(Math.abs(t[l].logWeightGradientMeanSquare - 2 * 199), `layer ${l + 1}`).toBeLessThan(1e-11);
    }
  });

  it('the app\'s depth-200 stories: normal std 0.01 underflows the gradient (factor 0.0064 per layer), He scale 4 does not (16 per layer)', () => {
    const narrow = denseShapes(128, Array(200).fill(128));
    const small = theory(layersOf(narrow, () => 0.01 ** 2), activation('relu', 0), UNIT);
    // Per layer 1/2 x 128 x 1e-4 = 0.0064: 0.0064^199 = 10^-436.
    expect(small[0].gradientMeanSquare).toBe(0);
    expect(small[0].weightGradientMeanSquare).toBe(0);
    expect(Math.abs(small[0].logGradientMeanSquare - 199 * Math.log10(0.0064))).toBeLessThan(1e-11);
    const big = theory(layersOf(narrow, (s) => (2 * 16) / s.fanIn), activation('relu', 0), UNIT);
    // 16^199 = 2^796 fits float64: the log field is the float64 value's log10, from detmath's log (within 2 ulp).
    expect(big[0].gradientMeanSquare).toBe(2 ** 796);
    expect(Math.abs(big[0].logGradientMeanSquare - 796 * Math.log10(2))).toBeLessThan(1e-12);
  });

  it('a conv net of 1x1 kernels (every position alike): the log fields follow the scaled recursion where float64 gives 0', () => {
    const conv = convShapes([4, 5, 5], Array(150).fill(4), 1, 1, 0);
    // 1x1 kernels: every position sees C = 4 inputs, so the backward factor is 1/2 x 4 x Var[w] = 1e-3 per layer.
    const t = theory(layersOf(conv, () => 0.0005, 0, 0, { kernel: 1, stride: 1, pad: 0 }), activation('relu', 0), UNIT);
    expect(t[0].gradientMeanSquare).toBe(0);
    expect(Math.abs(t[0].logGradientMeanSquare - 149 * -3)).toBeLessThan(1e-11);
    for (const layer of t) {
      expect(Number.isFinite(layer.logGradientMeanSquare)).toBe(true);
      expect(Number.isFinite(layer.logWeightGradientMeanSquare)).toBe(true);
    }
  });

  it('zero weights and no bias noise: Var[y] = 0 exactly, log10 -Infinity, relu gradient 0 as relu\'(0) = 0', () => {
    const t = theory(layersOf(denseShapes(8, [8, 8]), () => 0), activation('relu', 0), UNIT);
    expect(t[0].preVariance).toBe(0);
    expect(t[0].logPreVariance).toBe(-Infinity);
    expect(t[0].derivativeMeanSquare).toBe(0);
    expect(t[0].gradientMeanSquare).toBe(0);
    expect(t[0].logGradientMeanSquare).toBe(-Infinity);
    expect(t[1].logGradientMeanSquare).toBe(0);
  });
});
