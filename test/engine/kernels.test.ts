import { describe, expect, it } from 'vitest';
import { referenceKernels as K, type ConvGeometry } from '../../src/engine/kernels';
import { Stream } from '../../src/engine/rng';

const rand = (n: number, seed: string) => {
  const r = new Stream(seed);
  return Float32Array.from({ length: n }, () => r.normal());
};

function naiveConv(x: Float32Array, w: Float32Array, b: Float32Array, n: number, g: ConvGeometry): Float64Array {
  const { channels: C, height: H, width: W, outChannels: O, outHeight: OH, outWidth: OW, kernel: k, stride: s, pad: p } = g;
  const y = new Float64Array(n * O * OH * OW);
  for (let t = 0; t < n; t++)
    for (let o = 0; o < O; o++)
      for (let oy = 0; oy < OH; oy++)
        for (let ox = 0; ox < OW; ox++) {
          let acc = b[o];
          for (let c = 0; c < C; c++)
            for (let i = 0; i < k; i++)
              for (let j = 0; j < k; j++) {
                const iy = oy * s + i - p;
                const ix = ox * s + j - p;
                if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
                acc += w[((o * C + c) * k + i) * k + j] * x[((t * C + c) * H + iy) * W + ix];
              }
          y[((t * O + o) * OH + oy) * OW + ox] = acc;
        }
  return y;
}

const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
};

const geometries: ConvGeometry[] = [
  { channels: 3, height: 7, width: 5, outChannels: 4, outHeight: 7, outWidth: 5, kernel: 3, stride: 1, pad: 1 },
  { channels: 2, height: 9, width: 9, outChannels: 3, outHeight: 4, outWidth: 4, kernel: 3, stride: 2, pad: 0 },
  { channels: 1, height: 6, width: 6, outChannels: 2, outHeight: 4, outWidth: 4, kernel: 5, stride: 2, pad: 2 },
  { channels: 2, height: 4, width: 4, outChannels: 2, outHeight: 4, outWidth: 4, kernel: 1, stride: 1, pad: 0 },
];

describe('reference kernels', () => {
  it('dense: y = x W^T + b, and its backward is the adjoint', () => {
    const [n, fanIn, out] = [5, 13, 7];
    const x = rand(n * fanIn, 'x');
    const w = rand(out * fanIn, 'w');
    const b = rand(out, 'b');
    const y = new Float32Array(n * out);
    K.dense(x, w, b, y, n, fanIn, out);
    for (let s = 0; s < n; s++)
      for (let o = 0; o < out; o++) {
        let acc = b[o];
        for (let i = 0; i < fanIn; i++) acc += x[s * fanIn + i] * w[o * fanIn + i];
        expect(y[s * out + o]).toBeCloseTo(acc, 5);
      }
    const g = rand(n * out, 'g');
    const dx = new Float32Array(n * fanIn);
    K.denseBackward(g, w, dx, n, fanIn, out);
    const y0 = new Float32Array(n * out);
    K.dense(x, w, new Float32Array(out), y0, n, fanIn, out);
    expect(dot(dx, x)).toBeCloseTo(dot(g, y0), 3);
  });

  for (const geo of geometries) {
    const label = `k${geo.kernel} s${geo.stride} p${geo.pad} ${geo.channels}x${geo.height}x${geo.width}->${geo.outChannels}`;
    it(`conv ${label}: matches a direct convolution; backward is the adjoint; weight gradient squares`, () => {
      const n = 3;
      const fanIn = geo.channels * geo.kernel * geo.kernel;
      const x = rand(n * geo.channels * geo.height * geo.width, 'cx');
      const w = rand(geo.outChannels * fanIn, 'cw');
      const b = rand(geo.outChannels, 'cb');
      const y = new Float32Array(n * geo.outChannels * geo.outHeight * geo.outWidth);
      K.conv(x, w, b, y, n, geo);
      const want = naiveConv(x, w, b, n, geo);
      for (let i = 0; i < y.length; i++) expect(y[i]).toBeCloseTo(want[i], 4);

      const g = rand(y.length, 'cg');
      const dx = new Float32Array(x.length);
      K.convBackward(g, w, dx, n, geo);
      const y0 = naiveConv(x, w, new Float32Array(geo.outChannels), n, geo);
      expect(dot(dx, x)).toBeCloseTo(dot(g, y0), 2);

      // Per-sample dW[o, f] = d <g, conv(x, W)> / dW[o, f], from the naive convolution with one-hot weights.
      let total = 0;
      for (let s = 0; s < n; s++) {
        const xs = x.subarray(s * geo.channels * geo.height * geo.width, (s + 1) * geo.channels * geo.height * geo.width);
        const gsz = geo.outChannels * geo.outHeight * geo.outWidth;
        const gs = g.subarray(s * gsz, (s + 1) * gsz);
        for (let idx = 0; idx < w.length; idx++) {
          const e = new Float32Array(w.length);
          e[idx] = 1;
          const r = naiveConv(xs, e, new Float32Array(geo.outChannels), 1, geo);
          const d = dot(gs, r);
          total += d * d;
        }
      }
      expect(K.convWeightGradientSquares(x, g, n, geo)).toBeCloseTo(total, 2);
    });
  }
});
