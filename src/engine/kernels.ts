/**
 * The multiply kernels of the passes. `referenceKernels` is plain TypeScript: the oracle for faster
 * kernels and the fallback where WebAssembly SIMD is missing. Callers only see the `Kernels` interface.
 * Sums run in float64 and round to float32 once when stored.
 */
import type { Activation } from './schema';
import { wasmKernels } from './wasm';

/** Geometry of a convolution over one sample: input [C, H, W], output [O, OH, OW]. */
export interface ConvGeometry {
  channels: number;
  height: number;
  width: number;
  outChannels: number;
  outHeight: number;
  outWidth: number;
  kernel: number;
  stride: number;
  pad: number;
}

/** An activation for a kernel to apply on the way out (`activate`, `maskGradient`), with its operand. */
export interface Pointwise {
  name: Activation;
  slope: number;
  /** dense: where post-activations go; denseBackward: the pre-activations below, for the mask. */
  values: Float32Array;
}

/** The multiply kernels the passes call. */
export interface Kernels {
  /**
   * y[s, o] = b[o] + sum_i x[s, i] w[o, i]; x is [n, fanIn], w is [out, fanIn], y is [n, out]. With
   * `post`, also post.values = phi(y) as `activate` would, where this kernel set has that path:
   * returns true when it did.
   */
  dense(x: Float32Array, w: Float32Array, b: Float32Array, y: Float32Array, n: number, fanIn: number, out: number, post?: Pointwise): boolean;
  /**
   * dx[s, i] = sum_o g[s, o] w[o, i]: the input gradient of a dense layer. With `mask`, dx is then
   * multiplied by dphi(mask.values) as `maskGradient` would, where there is that path: returns true when it did.
   */
  denseBackward(g: Float32Array, w: Float32Array, dx: Float32Array, n: number, fanIn: number, out: number, mask?: Pointwise): boolean;
  /** Cross-correlation with zero padding for n samples: x is [n, C, H, W], w is [O, C*k*k], y is [n, O, OH, OW]. */
  conv(x: Float32Array, w: Float32Array, b: Float32Array, y: Float32Array, n: number, geo: ConvGeometry): void;
  /** The input gradient of `conv`: dx[n, C, H, W] from g[n, O, OH, OW]. */
  convBackward(g: Float32Array, w: Float32Array, dx: Float32Array, n: number, geo: ConvGeometry): void;
  /**
   * Per-sample weight gradients of a conv layer, dW_s[o, f] = sum_p g_s[o, p] cols_s[f, p]; returns
   * the sum over samples of sum_{o, f} dW_s[o, f]^2 (the caller divides for the mean square).
   */
  convWeightGradientSquares(x: Float32Array, g: Float32Array, n: number, geo: ConvGeometry): number;
  /**
   * post[i] = f32(phi(pre[i])) for activation `name` (negative slope `slope`), bit for bit as
   * activations.ts' `phi`, where this kernel set has a path for it; returns false, having done
   * nothing, where it has none (the caller then loops over `phi` itself).
   */
  activate(name: Activation, slope: number, pre: Float32Array, post: Float32Array): boolean;
  /** dx[i] = f32(dx[i] dphi(y[i])), bit for bit as activations.ts' `dphi`, where there is a path; false otherwise. */
  maskGradient(name: Activation, slope: number, y: Float32Array, dx: Float32Array): boolean;
}

/** im2col of one sample: cols[f, p] with f = c*k*k + i*k + j and p = oy*OW + ox; zero where the tap is padding. */
export function im2col(x: Float32Array, offset: number, geo: ConvGeometry, cols: Float32Array): void {
  const { channels, height, width, outHeight, outWidth, kernel, stride, pad } = geo;
  const positions = outHeight * outWidth;
  let f = 0;
  for (let c = 0; c < channels; c++) {
    const plane = offset + c * height * width;
    for (let i = 0; i < kernel; i++)
      for (let j = 0; j < kernel; j++, f++) {
        const row = f * positions;
        for (let oy = 0; oy < outHeight; oy++) {
          const iy = oy * stride + i - pad;
          const base = row + oy * outWidth;
          if (iy < 0 || iy >= height) {
            cols.fill(0, base, base + outWidth);
            continue;
          }
          const src = plane + iy * width;
          for (let ox = 0; ox < outWidth; ox++) {
            const ix = ox * stride + j - pad;
            cols[base + ox] = ix >= 0 && ix < width ? x[src + ix] : 0;
          }
        }
      }
  }
}

/** col2im of one sample: adds cols[f, p] back onto dx (the adjoint of im2col). */
export function col2im(cols: Float64Array, geo: ConvGeometry, dx: Float32Array, offset: number): void {
  const { channels, height, width, outHeight, outWidth, kernel, stride, pad } = geo;
  const positions = outHeight * outWidth;
  const acc = new Float64Array(channels * height * width);
  let f = 0;
  for (let c = 0; c < channels; c++) {
    const plane = c * height * width;
    for (let i = 0; i < kernel; i++)
      for (let j = 0; j < kernel; j++, f++) {
        const row = f * positions;
        for (let oy = 0; oy < outHeight; oy++) {
          const iy = oy * stride + i - pad;
          if (iy < 0 || iy >= height) continue;
          const dst = plane + iy * width;
          const base = row + oy * outWidth;
          for (let ox = 0; ox < outWidth; ox++) {
            const ix = ox * stride + j - pad;
            if (ix >= 0 && ix < width) acc[dst + ix] += cols[base + ox];
          }
        }
      }
  }
  for (let k = 0; k < acc.length; k++) dx[offset + k] = acc[k];
}

/** Plain TypeScript kernels (i-k-j loop order, float64 accumulation); the pointwise work is left to the caller's loops over the activation's closures. */
export const referenceKernels: Kernels = {
  activate: () => false,
  maskGradient: () => false,

  dense(x, w, b, y, n, fanIn, out) {
    // Transpose once so the inner loop runs over contiguous memory.
    const wt = new Float32Array(fanIn * out);
    for (let o = 0; o < out; o++) for (let i = 0; i < fanIn; i++) wt[i * out + o] = w[o * fanIn + i];
    const acc = new Float64Array(out);
    for (let s = 0; s < n; s++) {
      for (let o = 0; o < out; o++) acc[o] = b[o];
      const xs = s * fanIn;
      for (let i = 0; i < fanIn; i++) {
        const a = x[xs + i];
        if (a === 0) continue;
        const row = i * out;
        for (let o = 0; o < out; o++) acc[o] += a * wt[row + o];
      }
      y.set(acc, s * out);
    }
    return false;
  },

  denseBackward(g, w, dx, n, fanIn, out) {
    const acc = new Float64Array(fanIn);
    for (let s = 0; s < n; s++) {
      acc.fill(0);
      const gs = s * out;
      for (let o = 0; o < out; o++) {
        const a = g[gs + o];
        if (a === 0) continue;
        const row = o * fanIn;
        for (let i = 0; i < fanIn; i++) acc[i] += a * w[row + i];
      }
      dx.set(acc, s * fanIn);
    }
    return false;
  },

  conv(x, w, b, y, n, geo) {
    const fanIn = geo.channels * geo.kernel * geo.kernel;
    const positions = geo.outHeight * geo.outWidth;
    const cols = new Float32Array(fanIn * positions);
    const acc = new Float64Array(positions);
    const inSize = geo.channels * geo.height * geo.width;
    for (let s = 0; s < n; s++) {
      im2col(x, s * inSize, geo, cols);
      for (let o = 0; o < geo.outChannels; o++) {
        acc.fill(b[o]);
        const wr = o * fanIn;
        for (let f = 0; f < fanIn; f++) {
          const a = w[wr + f];
          if (a === 0) continue;
          const row = f * positions;
          for (let p = 0; p < positions; p++) acc[p] += a * cols[row + p];
        }
        y.set(acc, (s * geo.outChannels + o) * positions);
      }
    }
  },

  convBackward(g, w, dx, n, geo) {
    const fanIn = geo.channels * geo.kernel * geo.kernel;
    const positions = geo.outHeight * geo.outWidth;
    const dcols = new Float64Array(fanIn * positions);
    const inSize = geo.channels * geo.height * geo.width;
    for (let s = 0; s < n; s++) {
      dcols.fill(0);
      const gs = s * geo.outChannels * positions;
      for (let o = 0; o < geo.outChannels; o++) {
        const wr = o * fanIn;
        const gr = gs + o * positions;
        for (let f = 0; f < fanIn; f++) {
          const a = w[wr + f];
          if (a === 0) continue;
          const row = f * positions;
          for (let p = 0; p < positions; p++) dcols[row + p] += a * g[gr + p];
        }
      }
      col2im(dcols, geo, dx, s * inSize);
    }
  },

  convWeightGradientSquares(x, g, n, geo) {
    const fanIn = geo.channels * geo.kernel * geo.kernel;
    const positions = geo.outHeight * geo.outWidth;
    const cols = new Float32Array(fanIn * positions);
    const inSize = geo.channels * geo.height * geo.width;
    let total = 0;
    for (let s = 0; s < n; s++) {
      im2col(x, s * inSize, geo, cols);
      const gs = s * geo.outChannels * positions;
      for (let o = 0; o < geo.outChannels; o++) {
        const gr = gs + o * positions;
        for (let f = 0; f < fanIn; f++) {
          const row = f * positions;
          let dot = 0;
          for (let p = 0; p < positions; p++) dot += g[gr + p] * cols[row + p];
          total += dot * dot;
        }
      }
    }
    return total;
  },
};

let cachedDefault: Kernels | undefined;

/** The kernels the passes use unless told otherwise: WebAssembly SIMD where available, else `referenceKernels`. */
export function defaultKernels(): Kernels {
  cachedDefault ??= wasmKernels() ?? referenceKernels;
  return cachedDefault;
}
