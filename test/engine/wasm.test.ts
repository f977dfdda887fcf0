import { afterEach, describe, expect, it, vi } from 'vitest';
import { im2col, referenceKernels as R, type ConvGeometry } from '../../src/engine/kernels';
import { Stream } from '../../src/engine/rng';
import { wasmKernels, wasmMatmul } from '../../src/engine/wasm';

// Tolerance of every comparison with the reference: the wasm kernels add their products in float32,
// the reference in float64 and rounds once. Adding t terms one by one in float32 is off by at most
// gamma(t) sum |term| with gamma(t) = t u / (1 - t u), u = 2^-24 = eps32 / 2 (Higham, Accuracy and
// Stability of Numerical Algorithms, eq. 4.4); rounding the t products costs one more u, the
// reference's final rounding another. So an output with k products (plus a bias) is compared within
// gamma(k + 2) sum |a_i b_i|, i.e. c = (k + 2) / 2 in units of eps32 times the sum of the
// magnitudes: the worst case of float32 rounding and nothing more. A lost, doubled or misplaced
// product moves an output by about sum |a_i b_i| / k, far outside it for the depths used here.
const u = 2 ** -24;
const gamma = (terms: number) => (terms * u) / (1 - terms * u);

const K = wasmKernels();

function normals(count: number, seed: string, zeros = false): Float32Array {
  const r = new Stream(seed);
  // zeros: ReLU-like data, half of it exactly zero, as the passes feed the kernels.
  return Float32Array.from({ length: count }, () => (zeros ? Math.max(0, r.normal()) : r.normal()));
}

/** The largest |got - want| / bound, with bound = gamma(terms) magnitude[i] (<= 1 passes). */
function worst(got: Float32Array, want: Float32Array, magnitude: Float64Array, terms: number): number {
  expect(got.length).toBe(want.length);
  let w = 0;
  for (let i = 0; i < got.length; i++) {
    const bound = gamma(terms) * magnitude[i];
    const diff = Math.abs(got[i] - want[i]);
    w = Math.max(w, bound > 0 ? diff / bound : diff > 0 ? Infinity : 0);
  }
  return w;
}

const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));

const SIZES = [1, 3, 5, 7, 9, 17, 33, 100];
// Each size in each role, plus shapes that cross the kernel's blocks (MR 4, NR 8, KC 256, MC 128)
// and, last, one batch large enough for the dense kernels to split it into passes.
const DENSE_SHAPES: [number, number, number][] = [
  ...SIZES.map((s, i): [number, number, number] => [s, SIZES[(i + 3) % 8], SIZES[(i + 5) % 8]]),
  [130, 257, 9],
  [5, 600, 300],
  [257, 513, 31],
  [2100, 1000, 10],
];

function geometry(channels: number, height: number, width: number, outChannels: number, kernel: number, stride: number, pad: number): ConvGeometry {
  return {
    channels,
    height,
    width,
    outChannels,
    outHeight: Math.floor((height + 2 * pad - kernel) / stride) + 1,
    outWidth: Math.floor((width + 2 * pad - kernel) / stride) + 1,
    kernel,
    stride,
    pad,
  };
}

// Every stride 1-3, pad 0-2 and kernel 1-5, with seeded channel counts and map sizes (at least the kernel).
const CONV_GEOMETRIES: ConvGeometry[] = (() => {
  const r = new Stream('conv geometries');
  const pick = (options: number[]) => options[Math.floor(r.uniform() * options.length)];
  const out: ConvGeometry[] = [];
  for (let stride = 1; stride <= 3; stride++)
    for (let pad = 0; pad <= 2; pad++)
      for (let kernel = 1; kernel <= 5; kernel++) {
        const least = Math.max(1, kernel - 2 * pad);
        const size = () => least + Math.floor(r.uniform() * (13 - least));
        out.push(geometry(pick([1, 2, 3, 5]), size(), size(), pick([1, 3, 4, 9]), kernel, stride, pad));
      }
  // The default CNN layer, and one with 17 channels (not a multiple of the 4-row tile) on a 7x9 map.
  out.push(geometry(16, 32, 32, 16, 3, 1, 1), geometry(17, 7, 9, 17, 3, 1, 1));
  return out;
})();

const label = (g: ConvGeometry) => `${g.channels}x${g.height}x${g.width} -> ${g.outChannels}x${g.outHeight}x${g.outWidth}, k${g.kernel} s${g.stride} p${g.pad}`;

/** For each output of the convolution: |b| + sum over the taps inside the input of |w x|. */
function convMagnitude(x: Float32Array, w: Float32Array, b: Float32Array, n: number, g: ConvGeometry): Float64Array {
  const { channels: C, height: H, width: W, outChannels: O, outHeight: OH, outWidth: OW, kernel: k, stride: s, pad: p } = g;
  const m = new Float64Array(n * O * OH * OW);
  for (let t = 0; t < n; t++)
    for (let o = 0; o < O; o++)
      for (let oy = 0; oy < OH; oy++)
        for (let ox = 0; ox < OW; ox++) {
          let acc = Math.abs(b[o]);
          for (let c = 0; c < C; c++)
            for (let i = 0; i < k; i++)
              for (let j = 0; j < k; j++) {
                const iy = oy * s + i - p;
                const ix = ox * s + j - p;
                if (iy >= 0 && iy < H && ix >= 0 && ix < W) acc += Math.abs(w[((o * C + c) * k + i) * k + j] * x[((t * C + c) * H + iy) * W + ix]);
              }
          m[((t * O + o) * OH + oy) * OW + ox] = acc;
        }
  return m;
}

/** For each input pixel: the sum of |w g| over every output and tap that reads it (the terms of its gradient). */
function convBackwardMagnitude(g: Float32Array, w: Float32Array, n: number, geo: ConvGeometry): Float64Array {
  const { channels: C, height: H, width: W, outChannels: O, outHeight: OH, outWidth: OW, kernel: k, stride: s, pad: p } = geo;
  const m = new Float64Array(n * C * H * W);
  for (let t = 0; t < n; t++)
    for (let o = 0; o < O; o++)
      for (let oy = 0; oy < OH; oy++)
        for (let ox = 0; ox < OW; ox++) {
          const gv = Math.abs(g[((t * O + o) * OH + oy) * OW + ox]);
          for (let c = 0; c < C; c++)
            for (let i = 0; i < k; i++)
              for (let j = 0; j < k; j++) {
                const iy = oy * s + i - p;
                const ix = ox * s + j - p;
                if (iy >= 0 && iy < H && ix >= 0 && ix < W) m[((t * C + c) * H + iy) * W + ix] += gv * Math.abs(w[((o * C + c) * k + i) * k + j]);
              }
        }
  return m;
}

describe('wasm kernels', () => {
  it('are available in Node 20 (WebAssembly with SIMD) and built once', () => {
    expect(K).not.toBeNull();
    expect(wasmKernels()).toBe(K);
    expect(wasmMatmul()).not.toBeNull();
  });

  for (const [n, fanIn, out] of DENSE_SHAPES) {
    it(`dense and denseBackward match the reference within float32 rounding: n ${n}, fanIn ${fanIn}, out ${out}`, () => {
      const seed = `${n}/${fanIn}/${out}`;
      const x = normals(n * fanIn, `x ${seed}`, (n + fanIn) % 2 === 0);
      const w = normals(out * fanIn, `w ${seed}`);
      const b = normals(out, `b ${seed}`);
      const want = new Float32Array(n * out);
      const got = new Float32Array(n * out);
      R.dense(x, w, b, want, n, fanIn, out);
      K!.dense(x, w, b, got, n, fanIn, out);
      const magnitude = new Float64Array(n * out);
      for (let s = 0; s < n; s++)
        for (let o = 0; o < out; o++) {
          let acc = Math.abs(b[o]);
          for (let i = 0; i < fanIn; i++) acc += Math.abs(x[s * fanIn + i] * w[o * fanIn + i]);
          magnitude[s * out + o] = acc;
        }
      expect(worst(got, want, magnitude, fanIn + 2)).toBeLessThanOrEqual(1);

      const g = normals(n * out, `g ${seed}`);
      const wantDx = new Float32Array(n * fanIn);
      const gotDx = new Float32Array(n * fanIn);
      R.denseBackward(g, w, wantDx, n, fanIn, out);
      K!.denseBackward(g, w, gotDx, n, fanIn, out);
      const backMagnitude = new Float64Array(n * fanIn);
      for (let s = 0; s < n; s++)
        for (let o = 0; o < out; o++) {
          const a = Math.abs(g[s * out + o]);
          for (let i = 0; i < fanIn; i++) backMagnitude[s * fanIn + i] += a * Math.abs(w[o * fanIn + i]);
        }
      expect(worst(gotDx, wantDx, backMagnitude, out + 2)).toBeLessThanOrEqual(1);
    });
  }

  it('matmul C = A B matches the reference on sizes that are not multiples of the tile or the block', () => {
    const matmul = wasmMatmul()!;
    for (const [m, k, n] of [
      [1, 1, 1],
      [3, 5, 7],
      [9, 17, 33],
      [100, 7, 3],
      [33, 600, 17],
      [5, 257, 100],
    ]) {
      const a = normals(m * k, `a ${m} ${k}`);
      const b = normals(k * n, `b ${k} ${n}`);
      const got = new Float32Array(m * n);
      matmul(a, b, got, m, k, n);
      // The reference's dense layer with w = B^T and no bias is the same product.
      const bt = new Float32Array(n * k);
      for (let p = 0; p < k; p++) for (let j = 0; j < n; j++) bt[j * k + p] = b[p * n + j];
      const want = new Float32Array(m * n);
      R.dense(a, bt, new Float32Array(n), want, m, k, n);
      const magnitude = new Float64Array(m * n);
      for (let i = 0; i < m; i++) for (let p = 0; p < k; p++) for (let j = 0; j < n; j++) magnitude[i * n + j] += Math.abs(a[i * k + p] * b[p * n + j]);
      expect(worst(got, want, magnitude, k + 2), `${m}x${k} @ ${k}x${n}`).toBeLessThanOrEqual(1);
    }
  });

  for (const geo of CONV_GEOMETRIES) {
    it(`conv, convBackward and convWeightGradientSquares match the reference: ${label(geo)}`, () => {
      const n = 2;
      const kk = geo.kernel * geo.kernel;
      const fanIn = geo.channels * kk;
      const seed = label(geo);
      const x = normals(n * geo.channels * geo.height * geo.width, `x ${seed}`, geo.channels % 2 === 1);
      const w = normals(geo.outChannels * fanIn, `w ${seed}`);
      const b = normals(geo.outChannels, `b ${seed}`);
      const outSize = geo.outChannels * geo.outHeight * geo.outWidth;
      const want = new Float32Array(n * outSize);
      const got = new Float32Array(n * outSize);
      R.conv(x, w, b, want, n, geo);
      K!.conv(x, w, b, got, n, geo);
      expect(worst(got, want, convMagnitude(x, w, b, n, geo), fanIn + 2)).toBeLessThanOrEqual(1);

      // The input gradient sums over the outputs and taps that read a pixel: at most O k k products,
      // added in one pass (stride 1) or as O-term columns folded back k k at a time (col2im).
      const g = normals(n * outSize, `g ${seed}`);
      const wantDx = new Float32Array(x.length);
      const gotDx = new Float32Array(x.length);
      R.convBackward(g, w, wantDx, n, geo);
      K!.convBackward(g, w, gotDx, n, geo);
      expect(worst(gotDx, wantDx, convBackwardMagnitude(g, w, n, geo), geo.outChannels * kk + kk + 2)).toBeLessThanOrEqual(1);

      // sum over samples of sum_{o,f} dW^2: each dW is a float32 sum over at most OH (OW + k - 1)
      // positions (the kernel runs over the padded width); its error e moves dW^2 by e (2 |dW| + e).
      const positions = geo.outHeight * geo.outWidth;
      const cols = new Float32Array(fanIn * positions);
      const terms = geo.outHeight * (geo.outWidth + geo.kernel - 1) + 2;
      let exact = 0;
      let bound = 0;
      for (let s = 0; s < n; s++) {
        im2col(x, s * geo.channels * geo.height * geo.width, geo, cols);
        for (let o = 0; o < geo.outChannels; o++)
          for (let f = 0; f < fanIn; f++) {
            let dw = 0;
            let magnitude = 0;
            for (let p = 0; p < positions; p++) {
              const t = g[s * outSize + o * positions + p] * cols[f * positions + p];
              dw += t;
              magnitude += Math.abs(t);
            }
            const e = gamma(terms) * magnitude;
            exact += dw * dw;
            bound += e * (2 * Math.abs(dw) + e);
          }
      }
      const squares = K!.convWeightGradientSquares(x, g, n, geo);
      expect(Math.abs(squares - exact)).toBeLessThanOrEqual(bound + 1e-12 * exact);
      expect(Math.abs(R.convWeightGradientSquares(x, g, n, geo) - exact)).toBeLessThanOrEqual(1e-9 * exact);
    });
  }
});

describe('wasm kernels are deterministic', () => {
  it('the same inputs give the same bits, call after call', () => {
    const [n, fanIn, out] = [37, 300, 45];
    const x = normals(n * fanIn, 'det x');
    const w = normals(out * fanIn, 'det w');
    const b = normals(out, 'det b');
    const y1 = new Float32Array(n * out);
    const y2 = new Float32Array(n * out);
    K!.dense(x, w, b, y1, n, fanIn, out);
    // Another call in between leaves different data in the module's memory.
    K!.denseBackward(normals(n * out, 'det other'), w, new Float32Array(n * fanIn), n, fanIn, out);
    K!.dense(x, w, b, y2, n, fanIn, out);
    expect(bits(y2)).toEqual(bits(y1));

    const geo = geometry(5, 9, 11, 6, 3, 1, 1);
    const cx = normals(3 * 5 * 9 * 11, 'det cx');
    const cw = normals(6 * 45, 'det cw');
    const cb = normals(6, 'det cb');
    const cg = normals(3 * 6 * 9 * 11, 'det cg');
    const run = () => {
      const y = new Float32Array(3 * 6 * 9 * 11);
      const dx = new Float32Array(cx.length);
      K!.conv(cx, cw, cb, y, 3, geo);
      K!.convBackward(cg, cw, dx, 3, geo);
      return { y: bits(y), dx: bits(dx), squares: K!.convWeightGradientSquares(cx, cg, 3, geo) };
    };
    expect(run()).toEqual(run());
  });

  it("a sample's outputs do not depend on the batch around it", () => {
    const [n, fanIn, out] = [37, 300, 45];
    const x = normals(n * fanIn, 'batch x');
    const w = normals(out * fanIn, 'batch w');
    const b = normals(out, 'batch b');
    const all = new Float32Array(n * out);
    K!.dense(x, w, b, all, n, fanIn, out);
    const some = new Float32Array(5 * out);
    K!.dense(x.subarray(10 * fanIn, 15 * fanIn), w, b, some, 5, fanIn, out);
    expect(bits(some)).toEqual(bits(all.subarray(10 * out, 15 * out)));

    const geo = geometry(3, 8, 8, 5, 3, 2, 1);
    const inSize = 3 * 8 * 8;
    const outSize = 5 * geo.outHeight * geo.outWidth;
    const cx = normals(4 * inSize, 'batch cx');
    const cw = normals(5 * 27, 'batch cw');
    const y = new Float32Array(4 * outSize);
    K!.conv(cx, cw, new Float32Array(5), y, 4, geo);
    const one = new Float32Array(outSize);
    K!.conv(cx.subarray(2 * inSize, 3 * inSize), cw, new Float32Array(5), one, 1, geo);
    expect(bits(one)).toEqual(bits(y.subarray(2 * outSize, 3 * outSize)));
  });

  it('the summation order does not depend on the blocking: matmul (depth in slices) gives the bits of dense (one pass)', () => {
    const [m, k, n] = [13, 700, 21];
    const a = normals(m * k, 'order a');
    const b = normals(k * n, 'order b');
    const bt = new Float32Array(n * k);
    for (let p = 0; p < k; p++) for (let j = 0; j < n; j++) bt[j * k + p] = b[p * n + j];
    const viaMatmul = new Float32Array(m * n);
    const viaDense = new Float32Array(m * n);
    wasmMatmul()!(a, b, viaMatmul, m, k, n);
    K!.dense(a, bt, new Float32Array(n), viaDense, m, k, n);
    expect(bits(viaMatmul)).toEqual(bits(viaDense));
  });
});

describe('wasm kernels: speed (printed, not asserted)', () => {
  it('matmul [256x512] @ [512x512] GFLOP/s against the reference dense kernel', () => {
    const [m, k, n] = [256, 512, 512];
    const a = normals(m * k, 'speed a');
    const b = normals(k * n, 'speed b');
    const c = new Float32Array(m * n);
    const matmul = wasmMatmul()!;
    const times: number[] = [];
    for (let r = 0; r < 8; r++) {
      const t0 = performance.now();
      matmul(a, b, c, m, k, n);
      times.push(performance.now() - t0);
    }
    const t0 = performance.now();
    R.dense(a, b, new Float32Array(n), new Float32Array(m * n), m, k, n);
    const reference = performance.now() - t0;
    const median = times.slice(3).sort((p, q) => p - q)[2];
    const gflops = (ms: number) => ((2 * m * k * n) / ms / 1e6).toFixed(1);
    console.log(`wasm matmul ${m}x${k} @ ${k}x${n}: ${gflops(median)} GFLOP/s (median of 5 after 3 warm-ups); reference dense ${gflops(reference)} GFLOP/s`);
    expect(c.every(Number.isFinite)).toBe(true);
  });
});

describe('without WebAssembly SIMD', () => {
  afterEach(() => {
    vi.unstubAllGlobals();
    vi.resetModules();
  });

  it('wasmKernels() and wasmMatmul() are null and the default kernels are the reference ones', async () => {
    vi.stubGlobal('WebAssembly', undefined);
    vi.resetModules();
    const wasm = await import('../../src/engine/wasm');
    const kernels = await import('../../src/engine/kernels');
    expect(wasm.wasmKernels()).toBeNull();
    expect(wasm.wasmMatmul()).toBeNull();
    expect(kernels.defaultKernels()).toBe(kernels.referenceKernels);
  });

  it('a WebAssembly that rejects the module (no SIMD) gives the reference kernels too', async () => {
    const real = globalThis.WebAssembly;
    vi.stubGlobal('WebAssembly', { ...real, validate: () => false });
    vi.resetModules();
    const kernels = await import('../../src/engine/kernels');
    expect(kernels.defaultKernels()).toBe(kernels.referenceKernels);
  });

  it('with SIMD the default kernels are the wasm ones', async () => {
    vi.resetModules();
    const wasm = await import('../../src/engine/wasm');
    const kernels = await import('../../src/engine/kernels');
    expect(kernels.defaultKernels()).toBe(wasm.wasmKernels());
    expect(kernels.defaultKernels()).not.toBe(kernels.referenceKernels);
  });
});
