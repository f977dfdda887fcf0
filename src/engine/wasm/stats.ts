/**
 * The WebAssembly loops of the layer statistics (assembly/stats.ts) behind the `Scans` interface of
 * ../stats.ts. The module uses SIMD, is small, and is compiled and instantiated synchronously on
 * first use, once per thread, like the bulk draws (random.ts). A call lays out its buffers in the
 * module's memory, copies each cell's values in a piece at a time (256 KiB, still in cache when
 * the module reads them), and copies the results out at the end; the memory grows to the largest
 * call's few MB and stays.
 */
import type { CellRange, DetailParams, DetailParts, MomentScratch, Scans, SparseKeys } from '../stats';
import { align, growTo, instantiate, type WasmApi, type WasmMemory } from './api';
import { decodeBase64 } from './base64';
import { statsWasmBase64 } from './stats.generated';

/** The module's exports (assembly/stats.ts); addresses in bytes. */
interface Exports {
  memory: WasmMemory;
  heapBase(): number;
  moments(values: number, count: number, cell: number, keys: number): void;
  positionSums(values: number, count: number, P: number, sums: number, counts: number): void;
  compactKeys(raw: number, bins: number, counts: number): number;
  detail(
    values: number,
    count: number,
    lo: number,
    hi: number,
    scale: number,
    bins: number,
    histogram: number,
    targetOf: number,
    targets: number,
    targetCount: number,
  ): void;
  positionM2(values: number, count: number, P: number, means: number, m2: number): void;
}

/** Values per piece copied into the module (fewer, whole rows, for conv layers with more positions). */
const PIECE = 65536;
/** Bins of the key histogram (the top 16 bits of a float32 order key); the module counts zeros in 4 slots after them. */
const KEY_BINS = 65536;
const ZERO_SLOTS = 4;
/** f64 in the module's cell record: the nine of a cell in `MomentParts.cells`, whether the shift is set, the first zero. */
const RECORD = 11;
const FIELDS = 9;
/** A fresh cell record (its count set per cell): no finite value yet, shift 0 as for a cell without one, no zero. */
const FRESH = Float64Array.from([0, 0, 0, 0, 0, 0, Infinity, -Infinity, 0, 0, NaN]);
/** Copies of the display histogram in the module. */
const COPIES = 4;
/** Bytes per entry of the module's target table: bin, buffer address, capacity (-1: counts of low key bits), values met. */
const ENTRY = 16;

/** Values per piece: PIECE, or the most whole rows of P that fit in it (at least one). */
const pieceOf = (P: number) => (P ? Math.max(1, Math.floor(PIECE / P)) * P : PIECE);

/** The scans through one instance of the module. */
class WasmScans implements Scans {
  private readonly x: Exports;
  private readonly base: number;

  constructor(x: Exports) {
    this.x = x;
    this.base = x.heapBase() >>> 0;
  }

  /** Addresses of buffers of `bytes` each, laid out from the heap base, with the memory grown to hold them. */
  private layout(bytes: number[]): number[] {
    let top = this.base;
    const at = bytes.map((b) => {
      const here = top;
      top = align(top + b);
      return here;
    });
    growTo(this.x.memory, top, 'wasm stats');
    return at;
  }

  moments(values: Float32Array[], cells: CellRange[], P: number, parts: MomentScratch): SparseKeys {
    const x = this.x;
    const piece = pieceOf(P);
    const [keys, cell, sums, counts, data, binsAt, countsAt] = this.layout([
      (KEY_BINS + ZERO_SLOTS) * 4,
      RECORD * 8,
      P * 8,
      P * 8,
      piece * 4,
      KEY_BINS * 2,
      KEY_BINS * 4,
    ]);
    // Views made after the layout: growing the memory detaches older ones.
    const memory = x.memory.buffer;
    const f32 = new Float32Array(memory);
    const f64 = new Float64Array(memory);
    const u32 = new Uint32Array(memory);
    u32.fill(0, keys >>> 2, (keys >>> 2) + KEY_BINS + ZERO_SLOTS);
    const record = f64.subarray(cell >>> 3, (cell >>> 3) + RECORD);
    const positionSums = f64.subarray(sums >>> 3, (sums >>> 3) + P);
    const positionCounts = f64.subarray(counts >>> 3, (counts >>> 3) + P);
    positionCounts.fill(0);
    for (let c = 0; c < cells.length; c++) {
      const { net, start, end } = cells[c];
      const a = values[net];
      record.set(FRESH);
      record[0] = end - start;
      positionSums.fill(0);
      for (let at = start; at < end; at += piece) {
        const n = Math.min(piece, end - at);
        f32.set(a.subarray(at, at + n), data >>> 2);
        x.moments(data, n, cell, keys);
        if (P) x.positionSums(data, n, P, sums, counts);
      }
      parts.cells.set(record.subarray(0, FIELDS), c * FIELDS);
      if (P) parts.positionSums.set(positionSums, c * P);
    }
    const n = x.compactKeys(keys, binsAt, countsAt);
    parts.positionCounts.set(positionCounts);
    return { bins: new Uint16Array(memory, binsAt, n).slice(), counts: u32.slice(countsAt >>> 2, (countsAt >>> 2) + n) };
  }

  detail(values: Float32Array[], cells: CellRange[], P: number, params: DetailParams, parts: DetailParts, filled: Int32Array): void {
    const x = this.x;
    const { lo, hi, bins, positionMeans, targets } = params;
    const piece = pieceOf(P);
    const width = bins + 2;
    const [histogram, targetOf, table, means, m2, data, ...lists] = this.layout([
      COPIES * width * 4,
      KEY_BINS,
      targets.length * ENTRY,
      P * 8,
      P * 8,
      piece * 4,
      ...parts.low.map((list) => list.byteLength),
    ]);
    const memory = x.memory.buffer;
    const f32 = new Float32Array(memory);
    const f64 = new Float64Array(memory);
    const u32 = new Uint32Array(memory);
    const i32 = new Int32Array(memory);
    const u8 = new Uint8Array(memory);
    u32.fill(0, histogram >>> 2, (histogram >>> 2) + COPIES * width);
    u8.fill(255, targetOf, targetOf + KEY_BINS);
    targets.forEach(({ bin }, t) => {
      // Looked up by the top 16 bits of the float32 bits (see `moments`).
      u8[targetOf + (bin < KEY_BINS / 2 ? KEY_BINS - 1 - bin : bin - KEY_BINS / 2)] = t;
      const e = (table + t * ENTRY) >>> 2;
      const list = parts.low[t];
      i32[e] = bin;
      i32[e + 1] = lists[t];
      i32[e + 2] = list instanceof Uint32Array ? -1 : list.length;
      i32[e + 3] = 0;
      if (list instanceof Uint32Array) u32.fill(0, lists[t] >>> 2, (lists[t] >>> 2) + list.length);
    });
    f64.set(positionMeans, means >>> 3);
    const positionM2 = f64.subarray(m2 >>> 3, (m2 >>> 3) + P);
    const scale = bins / (hi - lo);
    for (let c = 0; c < cells.length; c++) {
      const { net, start, end } = cells[c];
      const a = values[net];
      positionM2.fill(0);
      for (let at = start; at < end; at += piece) {
        const n = Math.min(piece, end - at);
        f32.set(a.subarray(at, at + n), data >>> 2);
        x.detail(data, n, lo, hi, scale, bins, histogram, targetOf, table, targets.length);
        if (P) x.positionM2(data, n, P, means, m2);
      }
      if (P) parts.positionM2.set(positionM2, c * P);
    }
    for (let k = 0; k < COPIES; k++) {
      const copy = (histogram >>> 2) + k * width;
      for (let b = 0; b < width; b++) parts.histogram[b] += u32[copy + b];
    }
    parts.low.forEach((list, t) => {
      const from = lists[t] >>> 2;
      if (list instanceof Uint32Array) list.set(u32.subarray(from, from + list.length));
      else {
        const met = i32[((table + t * ENTRY) >>> 2) + 3];
        list.set(f32.subarray(from, from + Math.min(met, list.length)));
        filled[t] = met;
      }
    });
  }
}

/**
 * Compiles and instantiates the module; null when WebAssembly or its SIMD extension is unavailable,
 * or WebAssembly is refused (then ../stats.ts scans in JavaScript).
 */
export function wasmScans(): Scans | null {
  const api = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
  if (!api) return null;
  try {
    const bytes = decodeBase64(statsWasmBase64, 'stats.generated.ts');
    // validate() is false where the SIMD proposal is missing.
    if (!api.validate(bytes)) return null;
    return new WasmScans(instantiate(api, bytes, 'wasm stats') as Exports);
  } catch {
    // A Content-Security-Policy without 'wasm-unsafe-eval', or a main thread that refuses to compile synchronously.
    return null;
  }
}
