import { describe, expect, it } from 'vitest';
import { activation } from '../../src/engine/activations';
import { referenceKernels } from '../../src/engine/kernels';
import type { Activation } from '../../src/engine/schema';
import { Stream } from '../../src/engine/rng';
import { wasmKernels } from '../../src/engine/wasm';

const K = wasmKernels();

// Every special value the passes can meet, then random ones of every sign and scale, including
// float32 subnormals; lengths that are not multiples of 4 and cross the host's 65536-float passes.
const SPECIALS = [0, -0, 1, -1, NaN, Infinity, -Infinity, 1e-45, -1e-45, 3.4028234663852886e38, -3.4028234663852886e38, 1.1754943508222875e-38];
function values(count: number, seed: string): Float32Array {
  const r = new Stream(seed);
  const x = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    if (i < SPECIALS.length) x[i] = SPECIALS[i];
    else if (i % 7 === 0) x[i] = SPECIALS[Math.floor(r.uniform() * SPECIALS.length)];
    else x[i] = r.normal() * 10 ** Math.floor(r.uniform() * 90 - 45);
  }
  return x;
}

/** Equal bit for bit, except that any NaN equals any NaN (JavaScript does not keep NaN payloads). */
function sameBits(got: Float32Array, want: Float32Array): number {
  const g = new Uint32Array(got.buffer, got.byteOffset, got.length);
  const w = new Uint32Array(want.buffer, want.byteOffset, want.length);
  let bad = 0;
  for (let i = 0; i < got.length; i++) if (g[i] !== w[i] && !(Number.isNaN(got[i]) && Number.isNaN(want[i]))) bad++;
  return bad;
}

const CASES: [Activation, number][] = [
  ['linear', 0],
  ['relu', 0],
  ['relu', 0.3], // relu ignores the slope
  ['leaky_relu', 0],
  ['leaky_relu', 0.01],
  ['leaky_relu', 0.2],
  ['leaky_relu', -0.5],
];

describe.skipIf(!K)('wasm pointwise activations and gradient masks', () => {
  for (const [name, slope] of CASES)
    for (const count of [1, 3, 4, 5, 13, 100_003]) {
      it(`${name} (slope ${slope}), ${count} values: the bits of the closures`, () => {
        const act = activation(name, slope);
        const pre = values(count, `pointwise/${name}/${slope}/${count}`);
        const post = new Float32Array(count);
        expect(K!.activate(name, slope, pre, post)).toBe(true);
        const want = Float32Array.from(pre, (y) => act.phi(y));
        expect(sameBits(post, want)).toBe(0);

        const dx = values(count, `pointwise/dx/${count}`);
        const wantDx = Float32Array.from(dx, (d, i) => d * act.dphi(pre[i]));
        expect(K!.maskGradient(name, slope, pre, dx)).toBe(true);
        expect(sameBits(dx, wantDx)).toBe(0);
      });
    }

  it('has no path for the smooth activations (the passes loop over their closures)', () => {
    const pre = values(10, 'pointwise/smooth');
    const post = new Float32Array(10);
    for (const name of ['tanh', 'sigmoid', 'elu', 'selu', 'softplus', 'gelu', 'swish'] as Activation[]) {
      expect(K!.activate(name, 0, pre, post)).toBe(false);
      expect(K!.maskGradient(name, 0, pre, post)).toBe(false);
    }
    expect(Array.from(post)).toEqual(new Array(10).fill(0));
  });
});

describe('reference kernels leave the pointwise work to the caller', () => {
  it('returns false and writes nothing', () => {
    const post = new Float32Array(4);
    expect(referenceKernels.activate('relu', 0, new Float32Array([1, -1, 2, -2]), post)).toBe(false);
    expect(referenceKernels.maskGradient('relu', 0, new Float32Array([1, -1, 2, -2]), post)).toBe(false);
    expect(Array.from(post)).toEqual([0, 0, 0, 0]);
  });
});

describe.skipIf(!K)('wasm dense kernels with the activation or mask applied on the way out', () => {
  for (const [name, slope] of [...CASES, ['tanh', 0] as [Activation, number]])
    it(`${name} (slope ${slope}): the bits of the kernel and then activate / maskGradient`, () => {
      const [n, fanIn, out] = [37, 45, 29];
      const x = values(n * fanIn, 'fused/x');
      const w = values(out * fanIn, 'fused/w').map((v) => v * 1e-3);
      const b = values(out, 'fused/b');
      const y1 = new Float32Array(n * out);
      const post1 = new Float32Array(n * out);
      const fused = K!.dense(x, w, b, y1, n, fanIn, out, { name, slope, values: post1 });
      const y2 = new Float32Array(n * out);
      K!.dense(x, w, b, y2, n, fanIn, out);
      expect(sameBits(y1, y2)).toBe(0);
      const post2 = new Float32Array(n * out);
      const supported = K!.activate(name, slope, y2, post2);
      expect(fused).toBe(supported);
      if (supported) expect(sameBits(post1, post2)).toBe(0);
      else expect(post1.every((v) => v === 0)).toBe(true);

      const g = values(n * out, 'fused/g');
      const below = values(n * fanIn, 'fused/below');
      const dx1 = new Float32Array(n * fanIn);
      const masked = K!.denseBackward(g, w, dx1, n, fanIn, out, { name, slope, values: below });
      const dx2 = new Float32Array(n * fanIn);
      K!.denseBackward(g, w, dx2, n, fanIn, out);
      expect(masked).toBe(supported);
      if (supported) K!.maskGradient(name, slope, below, dx2);
      expect(sameBits(dx1, dx2)).toBe(0);
    });
});
