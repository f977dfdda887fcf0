/**
 * The WebAssembly SIMD kernels (assembly/kernels.ts) behind the `Kernels` interface. The module is
 * compiled and instantiated synchronously (it runs in a Web Worker and in Node), once per thread.
 * Operands are copied into its memory and results out; the memory grows as needed and is reused.
 *
 * Accumulation is float32, as the frameworks compute, with one fixed summation order per shape:
 * dense, denseBackward, conv and the matmul add their products one by one in the reference's index
 * order (dense and conv starting from the bias); convBackward and the weight-gradient squares have
 * fixed orders of their own. Nothing depends on the batch size or on how the work is split.
 * The pointwise activations and gradient masks give the bits of activations.ts' closures.
 */
import type { ConvGeometry, Kernels, Pointwise } from '../kernels';
import type { Activation } from '../schema';
import { kernelsWasmBase64 } from './kernels.generated';
import { align, growTo, instantiate, type WasmApi, type WasmMemory } from './api';
import { decodeBase64 } from './base64';

/** C = A B for row-major float32 A [m, k], B [k, n], C [m, n]. */
export type Matmul = (a: Float32Array, b: Float32Array, c: Float32Array, m: number, k: number, n: number) => void;

/** The module's exports (assembly/kernels.ts): addresses and sizes in bytes unless named otherwise. */
interface Exports {
  memory: WasmMemory;
  heapBase(): number;
  packedABytes(m: number, k: number): number;
  packedBBytes(k: number, n: number): number;
  packedAStride(k: number): number;
  packedBStride(k: number): number;
  packA(m: number, k: number, a: number, sai: number, sap: number, dst: number): void;
  packB(k: number, n: number, b: number, sbp: number, sbj: number, dst: number): void;
  gemmPacked(m: number, k: number, n: number, ap: number, aStride: number, bp: number, bStride: number, c: number, ldc: number, scratch: number, accumulate: boolean): void;
  gemmOffsets(m: number, k: number, n: number, ap: number, aStride: number, bb: number, offsets: number, c: number, ldc: number, scratch: number, accumulate: boolean): void;
  gemmTransposed(m: number, n: number, len: number, a: number, lda: number, bb: number, offsets: number, c: number, ldc: number): void;
  sumSquares(x: number, count: number): number;
  repeatRow(dst: number, rows: number, cols: number, row: number): void;
  padPlanes(src: number, channels: number, height: number, width: number, dst: number, hp: number, wp: number, top: number, left: number): void;
  tapOffsets(channels: number, kernel: number, hp: number, wp: number, dst: number): void;
  rowOffsets(rows: number, ld: number, dst: number): void;
  im2colPadded(xp: number, channels: number, hp: number, wp: number, kernel: number, stride: number, outHeight: number, outWidth: number, cols: number, ldCols: number): void;
  col2im(cols: number, channels: number, height: number, width: number, kernel: number, stride: number, pad: number, outHeight: number, outWidth: number, dx: number): void;
  copyRows(src: number, ldSrc: number, dst: number, ldDst: number, rows: number, cols: number): void;
  spreadPlanes(g: number, planes: number, rows: number, cols: number, dst: number, wp: number, ld: number): void;
  flipWeights(w: number, outChannels: number, channels: number, kernel: number, dst: number): void;
  activate(mode: number, slope: number, pre: number, post: number, count: number): void;
  maskGradient(mode: number, slope: number, y: number, dx: number, count: number): void;
}

/** Rows of a dense layer handled per pass: bounds the memory a large batch needs to about this many bytes. */
const CHUNK_BYTES = 16 * 2 ** 20;
/** Depth of the B slices `wasmMatmul` streams through the module (one cache block of the kernel). */
const SLICE = 256;
/** Floats of readable slack after buffers whose edge tiles read past the last row (up to 7 floats). */
const SLACK = 32;

/** The instantiated module and its memory, with a bump allocator that each call resets. */
class Machine {
  readonly x: Exports;
  private view: Float32Array;
  private readonly base: number;
  private top: number;

  constructor(x: Exports) {
    this.x = x;
    this.base = x.heapBase() >>> 0;
    this.top = this.base;
    this.view = new Float32Array(x.memory.buffer);
  }

  /** Forgets every earlier allocation. */
  reset(): void {
    this.top = this.base;
  }

  /** Allocates bytes (64-byte aligned) and returns the address; call `f32` after the last one. */
  take(bytes: number): number {
    const at = this.top;
    this.top = align(at + bytes);
    growTo(this.x.memory, this.top, 'wasm kernels');
    return at;
  }

  /** A view of the whole memory (a new one after the memory grew). */
  get f32(): Float32Array {
    if (this.view.buffer !== this.x.memory.buffer) this.view = new Float32Array(this.x.memory.buffer);
    return this.view;
  }

  /** Copies a float array into memory at the byte address `at`. */
  put(at: number, data: Float32Array): void {
    this.f32.set(data, at >>> 2);
  }

  /** The floats at the byte address `at`, as a view (valid until the memory grows). */
  floats(at: number, count: number): Float32Array {
    const start = at >>> 2;
    return this.f32.subarray(start, start + count);
  }
}

let machine: Machine | null | undefined;

/** Compiles and instantiates the module once; null when WebAssembly or its SIMD extension is unavailable. */
function getMachine(): Machine | null {
  if (machine !== undefined) return machine;
  machine = null;
  const api = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
  if (!api) return null;
  const bytes = decodeBase64(kernelsWasmBase64, 'kernels.generated.ts');
  // validate() is false where the SIMD proposal is missing: the module uses v128 throughout.
  if (!api.validate(bytes)) return null;
  try {
    machine = new Machine(instantiate(api, bytes, 'wasm kernels') as Exports);
  } catch {
    machine = null;
  }
  return machine;
}

/** Rows per pass so that one pass holds about CHUNK_BYTES; a multiple of the micro-kernel's 4 rows. */
function chunkRows(n: number, bytesPerRow: number): number {
  const rows = Math.max(4, Math.floor(CHUNK_BYTES / bytesPerRow / 4) * 4);
  return Math.min(n, rows);
}

function dense(mc: Machine, x: Float32Array, w: Float32Array, b: Float32Array, y: Float32Array, n: number, fanIn: number, out: number, post?: Pointwise): boolean {
  const e = mc.x;
  const mode = post ? pointwiseMode(post.name, post.slope) : -1;
  mc.reset();
  const rows = chunkRows(n, 4 * (2 * fanIn + (mode < 0 ? 1 : 2) * out));
  const wAt = mc.take(4 * out * fanIn);
  const bAt = mc.take(4 * out);
  const bp = mc.take(e.packedBBytes(fanIn, out) >>> 0);
  const scratch = mc.take(128);
  const xAt = mc.take(4 * rows * fanIn);
  const ap = mc.take(e.packedABytes(rows, fanIn) >>> 0);
  const yAt = mc.take(4 * rows * out);
  const pAt = mode < 0 ? 0 : mc.take(4 * rows * out);
  mc.put(wAt, w);
  mc.put(bAt, b.subarray(0, out));
  // B = W^T: B(i, o) = w[o fanIn + i].
  e.packB(fanIn, out, wAt, 1, fanIn, bp);
  for (let s0 = 0; s0 < n; s0 += rows) {
    const r = Math.min(rows, n - s0);
    mc.put(xAt, x.subarray(s0 * fanIn, (s0 + r) * fanIn));
    e.packA(r, fanIn, xAt, fanIn, 1, ap);
    e.repeatRow(yAt, r, out, bAt);
    e.gemmPacked(r, fanIn, out, ap, e.packedAStride(fanIn), bp, e.packedBStride(fanIn), yAt, out, scratch, true);
    y.set(mc.floats(yAt, r * out), s0 * out);
    if (post && mode >= 0) {
      // The outputs are still in memory: activated there, they need no copy in.
      e.activate(mode, post.slope, yAt, pAt, r * out);
      post.values.set(mc.floats(pAt, r * out), s0 * out);
    }
  }
  return mode >= 0;
}

function denseBackward(mc: Machine, g: Float32Array, w: Float32Array, dx: Float32Array, n: number, fanIn: number, out: number, mask?: Pointwise): boolean {
  const e = mc.x;
  const mode = mask ? pointwiseMode(mask.name, mask.slope) : -1;
  mc.reset();
  const rows = chunkRows(n, 4 * (2 * out + (mode < 0 ? 1 : 2) * fanIn));
  const wAt = mc.take(4 * out * fanIn);
  const bp = mc.take(e.packedBBytes(out, fanIn) >>> 0);
  const scratch = mc.take(128);
  const gAt = mc.take(4 * rows * out);
  const ap = mc.take(e.packedABytes(rows, out) >>> 0);
  const dAt = mc.take(4 * rows * fanIn);
  const yAt = mode < 0 ? 0 : mc.take(4 * rows * fanIn);
  mc.put(wAt, w);
  e.packB(out, fanIn, wAt, fanIn, 1, bp);
  for (let s0 = 0; s0 < n; s0 += rows) {
    const r = Math.min(rows, n - s0);
    mc.put(gAt, g.subarray(s0 * out, (s0 + r) * out));
    e.packA(r, out, gAt, out, 1, ap);
    e.gemmPacked(r, out, fanIn, ap, e.packedAStride(out), bp, e.packedBStride(out), dAt, fanIn, scratch, false);
    if (mask && mode >= 0) {
      // Masked while still in memory: dx needs no copy in and out again.
      mc.put(yAt, mask.values.subarray(s0 * fanIn, (s0 + r) * fanIn));
      e.maskGradient(mode, mask.slope, yAt, dAt, r * fanIn);
    }
    dx.set(mc.floats(dAt, r * fanIn), s0 * fanIn);
  }
  return mode >= 0;
}

/** Stride-1 layers run as a GEMM straight over the zero-padded planes; others through an explicit im2col. */
function isStrideOne(geo: ConvGeometry): boolean {
  return (
    geo.stride === 1 && geo.outHeight === geo.height + 2 * geo.pad - geo.kernel + 1 && geo.outWidth === geo.width + 2 * geo.pad - geo.kernel + 1
  );
}

/** Padded extent of the input a convolution reads: (out - 1) stride + kernel. */
function paddedSize(geo: ConvGeometry): { hp: number; wp: number } {
  return { hp: (geo.outHeight - 1) * geo.stride + geo.kernel, wp: (geo.outWidth - 1) * geo.stride + geo.kernel };
}

/** Row stride of an explicit im2col matrix: a multiple of 8 floats plus 8, never a power of two bytes (cache sets). */
const colsStride = (positions: number) => Math.ceil(positions / 8) * 8 + 8;

/**
 * The sizes a forward conv product over one sample works with. Its columns are the positions over
 * the padded width (stride 1: the last kernel - 1 of each row are dropped) or im2col's; `ld` is
 * their row stride.
 */
function forwardLayout(geo: ConvGeometry) {
  const { channels, height, width, outChannels, outHeight, outWidth, kernel } = geo;
  const positions = outHeight * outWidth;
  const { hp, wp } = paddedSize(geo);
  const direct = isStrideOne(geo);
  const q = direct ? outHeight * wp : positions;
  return {
    fanIn: channels * kernel * kernel,
    positions,
    inSize: channels * height * width,
    outSize: outChannels * positions,
    hp,
    wp,
    direct,
    q,
    ld: direct ? q : colsStride(positions),
  };
}

function conv(mc: Machine, x: Float32Array, w: Float32Array, b: Float32Array, y: Float32Array, n: number, geo: ConvGeometry): void {
  const e = mc.x;
  const { channels, height, width, outChannels, outHeight, outWidth, kernel, stride, pad } = geo;
  const { fanIn, inSize, outSize, hp, wp, direct, q, ld } = forwardLayout(geo);
  // The bias is tap 0, a row of ones times b: each sum starts 0 + b, then adds the taps in order,
  // and C needs no fill. A = [b | w] is [O, 1 + fanIn].
  const depth = fanIn + 1;
  mc.reset();
  const wAt = mc.take(4 * outChannels * depth);
  const ap = mc.take(e.packedABytes(outChannels, depth) >>> 0);
  const offsets = mc.take(4 * depth);
  const ones = mc.take(4 * (q + SLACK));
  const scratch = mc.take(128);
  const xAt = mc.take(4 * inSize);
  const xp = mc.take(4 * (channels * hp * wp + wp + SLACK));
  const cols = direct ? xp : mc.take(4 * (fanIn * ld + SLACK));
  const cAt = mc.take(4 * outChannels * q);
  const yAt = direct ? mc.take(4 * outSize) : cAt;
  const withBias = new Float32Array(outChannels * depth);
  for (let o = 0; o < outChannels; o++) {
    withBias[o * depth] = b[o];
    withBias.set(w.subarray(o * fanIn, (o + 1) * fanIn), o * depth + 1);
  }
  mc.put(wAt, withBias);
  e.packA(outChannels, depth, wAt, depth, 1, ap);
  if (direct) e.tapOffsets(channels, kernel, hp, wp, offsets + 4);
  else e.rowOffsets(fanIn, ld, offsets + 4);
  // Byte offset from the B base to the ones (wraps around in 32 bits when they lie before it).
  new Int32Array(e.memory.buffer, offsets, 1)[0] = (ones - cols) | 0;
  const f32 = mc.f32;
  f32.fill(1, ones >>> 2, (ones >>> 2) + q + SLACK);
  f32.fill(0, (xp >>> 2) + channels * hp * wp, (xp >>> 2) + channels * hp * wp + wp + SLACK);
  if (!direct) f32.fill(0, (cols >>> 2) + fanIn * ld, (cols >>> 2) + fanIn * ld + SLACK);
  const aStride = e.packedAStride(depth);
  for (let s = 0; s < n; s++) {
    mc.put(xAt, x.subarray(s * inSize, (s + 1) * inSize));
    e.padPlanes(xAt, channels, height, width, xp, hp, wp, pad, pad);
    if (!direct) e.im2colPadded(xp, channels, hp, wp, kernel, stride, outHeight, outWidth, cols, ld);
    e.gemmOffsets(outChannels, depth, q, ap, aStride, cols, offsets, cAt, q, scratch, false);
    if (direct) e.copyRows(cAt, wp, yAt, outWidth, outChannels * outHeight, outWidth);
    y.set(mc.floats(yAt, outSize), s * outSize);
  }
}

function convBackward(mc: Machine, g: Float32Array, w: Float32Array, dx: Float32Array, n: number, geo: ConvGeometry): void {
  const e = mc.x;
  const { channels, height, width, outChannels, outHeight, outWidth, kernel, stride, pad } = geo;
  const kk = kernel * kernel;
  const fanIn = channels * kk;
  const positions = outHeight * outWidth;
  const inSize = channels * height * width;
  const outSize = outChannels * positions;
  mc.reset();
  const wAt = mc.take(4 * outChannels * fanIn);
  const scratch = mc.take(128);
  const gAt = mc.take(4 * outSize);
  const dAt = mc.take(4 * inSize);
  if (isStrideOne(geo)) {
    // dx is the stride-1 cross-correlation of g, padded by kernel - 1 - pad, with the flipped
    // weights, input and output channels swapped: dx[c, y, x] = sum_{o,i,j} wf[c, o, i, j] gp[o, y + i, x + j].
    const hp = height + kernel - 1;
    const wp = width + kernel - 1;
    const depth = outChannels * kk;
    const q = height * wp;
    const wf = mc.take(4 * channels * depth);
    const ap = mc.take(e.packedABytes(channels, depth) >>> 0);
    const offsets = mc.take(4 * depth);
    const gp = mc.take(4 * (outChannels * hp * wp + wp + SLACK));
    const cAt = mc.take(4 * channels * q);
    mc.put(wAt, w);
    e.flipWeights(wAt, outChannels, channels, kernel, wf);
    e.packA(channels, depth, wf, depth, 1, ap);
    e.tapOffsets(outChannels, kernel, hp, wp, offsets);
    mc.f32.fill(0, (gp >>> 2) + outChannels * hp * wp, (gp >>> 2) + outChannels * hp * wp + wp + SLACK);
    const aStride = e.packedAStride(depth);
    const back = kernel - 1 - pad;
    for (let s = 0; s < n; s++) {
      mc.put(gAt, g.subarray(s * outSize, (s + 1) * outSize));
      e.padPlanes(gAt, outChannels, outHeight, outWidth, gp, hp, wp, back, back);
      e.gemmOffsets(channels, depth, q, ap, aStride, gp, offsets, cAt, q, scratch, false);
      e.copyRows(cAt, wp, dAt, width, channels * height, width);
      dx.set(mc.floats(dAt, inSize), s * inSize);
    }
    return;
  }
  // dcols = W^T g (fanIn x positions), then col2im adds each column back onto its input pixels.
  const ld = colsStride(positions);
  const ap = mc.take(e.packedABytes(fanIn, outChannels) >>> 0);
  const offsets = mc.take(4 * outChannels);
  const gs = mc.take(4 * (outChannels * ld + SLACK));
  const dcols = mc.take(4 * fanIn * positions);
  mc.put(wAt, w);
  e.packA(fanIn, outChannels, wAt, 1, fanIn, ap);
  e.rowOffsets(outChannels, ld, offsets);
  mc.f32.fill(0, gs >>> 2, (gs >>> 2) + outChannels * ld + SLACK);
  const aStride = e.packedAStride(outChannels);
  for (let s = 0; s < n; s++) {
    mc.put(gAt, g.subarray(s * outSize, (s + 1) * outSize));
    e.copyRows(gAt, positions, gs, ld, outChannels, positions);
    e.gemmOffsets(fanIn, outChannels, positions, ap, aStride, gs, offsets, dcols, positions, scratch, false);
    e.col2im(dcols, channels, height, width, kernel, stride, pad, outHeight, outWidth, dAt);
    dx.set(mc.floats(dAt, inSize), s * inSize);
  }
}

function convWeightGradientSquares(mc: Machine, x: Float32Array, g: Float32Array, n: number, geo: ConvGeometry): number {
  const e = mc.x;
  const { channels, height, width, outChannels, outHeight, outWidth, kernel, stride, pad } = geo;
  // dW_s[o, f] = sum_q g'[o, q] cols[f, q] over q in the padded-width positions (g' is zero on the
  // dropped columns) or im2col's positions.
  const { fanIn, positions, inSize, outSize, hp, wp, direct, q, ld } = forwardLayout(geo);
  const q4 = Math.ceil(q / 4) * 4;
  mc.reset();
  const offsets = mc.take(4 * fanIn);
  const xAt = mc.take(4 * inSize);
  const gAt = mc.take(4 * outSize);
  const gq = mc.take(4 * outChannels * q4);
  const xp = mc.take(4 * (channels * hp * wp + wp + SLACK));
  const cols = direct ? xp : mc.take(4 * (fanIn * ld + SLACK));
  const dw = mc.take(4 * outChannels * fanIn);
  if (direct) e.tapOffsets(channels, kernel, hp, wp, offsets);
  else e.rowOffsets(fanIn, ld, offsets);
  const f32 = mc.f32;
  f32.fill(0, (xp >>> 2) + channels * hp * wp, (xp >>> 2) + channels * hp * wp + wp + SLACK);
  if (!direct) f32.fill(0, (cols >>> 2) + fanIn * ld, (cols >>> 2) + fanIn * ld + SLACK);
  let total = 0;
  for (let s = 0; s < n; s++) {
    mc.put(xAt, x.subarray(s * inSize, (s + 1) * inSize));
    mc.put(gAt, g.subarray(s * outSize, (s + 1) * outSize));
    e.padPlanes(xAt, channels, height, width, xp, hp, wp, pad, pad);
    if (direct) e.spreadPlanes(gAt, outChannels, outHeight, outWidth, gq, wp, q4);
    else {
      e.im2colPadded(xp, channels, hp, wp, kernel, stride, outHeight, outWidth, cols, ld);
      e.spreadPlanes(gAt, outChannels, 1, positions, gq, positions, q4);
    }
    e.gemmTransposed(outChannels, fanIn, q, gq, 4 * q4, cols, offsets, dw, fanIn);
    total += e.sumSquares(dw, outChannels * fanIn);
  }
  return total;
}

/** C = A B through the module: A is packed once, B streams through in slices of SLICE rows. */
function matmul(mc: Machine, a: Float32Array, b: Float32Array, c: Float32Array, m: number, k: number, n: number): void {
  const e = mc.x;
  mc.reset();
  const slice = Math.min(SLICE, k);
  const aAt = mc.take(4 * m * k);
  const ap = mc.take(e.packedABytes(m, k) >>> 0);
  const bAt = mc.take(4 * slice * n);
  const bp = mc.take(e.packedBBytes(slice, n) >>> 0);
  const cAt = mc.take(4 * m * n);
  const scratch = mc.take(128);
  mc.put(aAt, a.subarray(0, m * k));
  e.packA(m, k, aAt, k, 1, ap);
  if (k === 0) mc.f32.fill(0, cAt >>> 2, (cAt >>> 2) + m * n);
  const aStride = e.packedAStride(k);
  // Splitting the depth keeps the order of every sum: each slice adds its products after the last one's.
  for (let p0 = 0; p0 < k; p0 += slice) {
    const depth = Math.min(slice, k - p0);
    mc.put(bAt, b.subarray(p0 * n, (p0 + depth) * n));
    e.packB(depth, n, bAt, n, 1, bp);
    e.gemmPacked(m, depth, n, ap + 16 * p0, aStride, bp, e.packedBStride(depth), cAt, n, scratch, p0 > 0);
  }
  c.set(mc.floats(cAt, m * n));
}

/** Floats per pass of the pointwise kernels through the module's memory. */
const POINTWISE_CHUNK = 65536;

/** The module's mode for an activation it computes (assembly/kernels.ts `activate`), or -1. */
function pointwiseMode(name: Activation, slope: number): number {
  if (name === 'linear') return 0;
  // leaky_relu with slope 0 is relu (activations.ts), whose negative side is +0, not 0 * y.
  if (name === 'relu' || (name === 'leaky_relu' && slope === 0)) return 1;
  if (name === 'leaky_relu') return 2;
  return -1;
}

/** out[i] = op(a[i], out[i]) chunk by chunk through memory: a is copied in, out in (when read) and back. */
function pointwise(mc: Machine, a: Float32Array, out: Float32Array, readsOut: boolean, op: (aAt: number, outAt: number, count: number) => void): void {
  mc.reset();
  const chunk = Math.min(POINTWISE_CHUNK, a.length);
  const aAt = mc.take(4 * chunk);
  const outAt = mc.take(4 * chunk);
  for (let at = 0; at < a.length; at += chunk) {
    const count = Math.min(chunk, a.length - at);
    mc.put(aAt, a.subarray(at, at + count));
    if (readsOut) mc.put(outAt, out.subarray(at, at + count));
    op(aAt, outAt, count);
    out.set(mc.floats(outAt, count), at);
  }
}

function activate(mc: Machine, name: Activation, slope: number, pre: Float32Array, post: Float32Array): boolean {
  const mode = pointwiseMode(name, slope);
  if (mode < 0) return false;
  pointwise(mc, pre, post, false, (preAt, postAt, count) => mc.x.activate(mode, slope, preAt, postAt, count));
  return true;
}

function maskGradient(mc: Machine, name: Activation, slope: number, y: Float32Array, dx: Float32Array): boolean {
  const mode = pointwiseMode(name, slope);
  if (mode < 0) return false;
  pointwise(mc, y, dx, true, (yAt, dxAt, count) => mc.x.maskGradient(mode, slope, yAt, dxAt, count));
  return true;
}

let kernels: Kernels | null | undefined;

/** The WebAssembly SIMD kernels, or null where WebAssembly or SIMD is unavailable; one instance per thread. */
export function wasmKernels(): Kernels | null {
  if (kernels !== undefined) return kernels;
  const mc = getMachine();
  kernels = mc && {
    dense: (x, w, b, y, n, fanIn, out, post) => dense(mc, x, w, b, y, n, fanIn, out, post),
    denseBackward: (g, w, dx, n, fanIn, out, mask) => denseBackward(mc, g, w, dx, n, fanIn, out, mask),
    conv: (x, w, b, y, n, geo) => conv(mc, x, w, b, y, n, geo),
    convBackward: (g, w, dx, n, geo) => convBackward(mc, g, w, dx, n, geo),
    convWeightGradientSquares: (x, g, n, geo) => convWeightGradientSquares(mc, x, g, n, geo),
    activate: (name, slope, pre, post) => activate(mc, name, slope, pre, post),
    maskGradient: (name, slope, y, dx) => maskGradient(mc, name, slope, y, dx),
  };
  return kernels;
}

/** C = A B (row-major float32, A [m, k], B [k, n]) with the SIMD kernel, or null where it is unavailable. */
export function wasmMatmul(): Matmul | null {
  const mc = getMachine();
  return mc && ((a, b, c, m, k, n) => matmul(mc, a, b, c, m, k, n));
}
