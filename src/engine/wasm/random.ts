/**
 * The WebAssembly bulk draws (assembly/random.ts) behind the `BulkDraws` interface of ../rng.ts.
 * The source is compiled twice, with SIMD and without (for engines that refuse WebAssembly SIMD);
 * both modules give the same bits. One is compiled and instantiated synchronously on first use,
 * once per thread, like the kernels (wasm/index.ts). A state is copied into its memory, the output
 * drawn in chunks and copied out, and the advanced state copied back.
 */
import type { BulkDraws, StreamState } from '../rng';
import { growTo, instantiate, type WasmApi, type WasmMemory } from './api';
import { decodeBase64 } from './base64';
import { randomWasmBase64 } from './random.generated';
import { randomSimdWasmBase64 } from './randomSimd.generated';

/** The module's exports (assembly/random.ts); addresses in bytes. */
interface Exports {
  memory: WasmMemory;
  stateAddress(): number;
  bufferAddress(): number;
  fillNormal32(out: number, count: number, scale: number): void;
  fillNormal64(out: number, count: number, scale: number): void;
  fillUniform32(out: number, count: number, bound: number): void;
  fillUniform64(out: number, count: number, bound: number): void;
  fillTruncated32(out: number, count: number, sigma: number, scratch: number): void;
}

/** Elements per call into the module: 128 KiB of f64 output, with the truncated fill's f64 scratch after it. */
const CHUNK = 16384;

/** Writes `st` as the module's six f64 at `at` (an index into `f64`). */
function put(f64: Float64Array, at: number, st: StreamState): void {
  f64[at] = st.c;
  f64[at + 1] = st.s0;
  f64[at + 2] = st.s1;
  f64[at + 3] = st.s2;
  f64[at + 4] = st.spare;
  f64[at + 5] = st.hasSpare ? 1 : 0;
}

/** Reads the module's six f64 at `at` back into `st`. */
function take(f64: Float64Array, at: number, st: StreamState): void {
  st.c = f64[at];
  st.s0 = f64[at + 1];
  st.s1 = f64[at + 2];
  st.s2 = f64[at + 3];
  st.spare = f64[at + 4];
  st.hasSpare = f64[at + 5] !== 0;
}

/** Which build of assembly/random.ts: with WebAssembly SIMD (the logs of the polar method in f64x2 lanes) or without. */
export type RandomModule = 'simd' | 'scalar';

/** The generated base64 and its file name, per build. */
const SOURCES: Record<RandomModule, [base64: string, file: string]> = {
  simd: [randomSimdWasmBase64, 'randomSimd.generated.ts'],
  scalar: [randomWasmBase64, 'random.generated.ts'],
};

/** Draws through one instance of a module. */
export class WasmDraws implements BulkDraws {
  /** The build this instance runs. */
  readonly module: RandomModule;
  private readonly x: Exports;
  private readonly state: number;
  private readonly buffer: number;

  constructor(module: RandomModule, x: Exports) {
    this.module = module;
    this.x = x;
    this.state = x.stateAddress() >>> 3;
    this.buffer = x.bufferAddress();
    growTo(x.memory, this.buffer + CHUNK * (8 + 8), 'wasm random');
  }

  normal(state: StreamState, out: Float32Array | Float64Array, scale: number): void {
    const wide = out instanceof Float64Array;
    this.run(state, null, out, (n) => (wide ? this.x.fillNormal64(this.buffer, n, scale) : this.x.fillNormal32(this.buffer, n, scale)));
  }

  uniform(state: StreamState, out: Float32Array | Float64Array, bound: number): void {
    const wide = out instanceof Float64Array;
    this.run(state, null, out, (n) => (wide ? this.x.fillUniform64(this.buffer, n, bound) : this.x.fillUniform32(this.buffer, n, bound)));
  }

  truncated(state: StreamState, extra: StreamState, out: Float32Array, sigma: number): void {
    this.run(state, extra, out, (n) => this.x.fillTruncated32(this.buffer, n, sigma, this.buffer + CHUNK * 8));
  }

  /** Hands the states to the module, fills `out` chunk by chunk with `fill(count)`, and takes the states back. */
  private run(state: StreamState, extra: StreamState | null, out: Float32Array | Float64Array, fill: (count: number) => void): void {
    // Views made here: memory.grow (only ever in the constructor) would detach older ones.
    const memory = this.x.memory.buffer;
    const f64 = new Float64Array(memory);
    put(f64, this.state, state);
    if (extra) put(f64, this.state + 6, extra);
    const results = out instanceof Float64Array ? new Float64Array(memory, this.buffer, CHUNK) : new Float32Array(memory, this.buffer, CHUNK);
    for (let at = 0; at < out.length; at += CHUNK) {
      const count = Math.min(CHUNK, out.length - at);
      fill(count);
      out.set(count === CHUNK ? results : results.subarray(0, count), at);
    }
    take(f64, this.state, state);
    if (extra) take(f64, this.state + 6, extra);
  }
}

/**
 * Compiles and instantiates one build; null when WebAssembly is unavailable or refuses it (no
 * SIMD, or a Content-Security-Policy without 'wasm-unsafe-eval', or a main thread that refuses to
 * compile synchronously).
 */
export function wasmDrawsOf(module: RandomModule): WasmDraws | null {
  const api = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
  if (!api) return null;
  const [base64, file] = SOURCES[module];
  try {
    return new WasmDraws(module, instantiate(api, decodeBase64(base64, file), 'wasm random') as Exports);
  } catch {
    return null;
  }
}

/** The SIMD build, else the scalar one, else null (then ../rng.ts draws in JavaScript); all three give the same bits. */
export function wasmDraws(): WasmDraws | null {
  return wasmDrawsOf('simd') ?? wasmDrawsOf('scalar');
}
