/**
 * Seeded random streams. There is no global generator: every stream is derived from
 * (seed, purpose, network, layer), so changing layer 5 leaves the draws of layers 1 to 4 alone, and
 * two configurations with one seed (A and B of a comparison) draw the same underlying numbers.
 *
 * The numbers are fixed forever (share links promise them): Alea as seedrandom 3.0.5 seeds and steps
 * it, Marsaglia's polar method with fdlibm's log. Whole arrays are drawn in WebAssembly
 * (wasm/assembly/random.ts) or, where that is unavailable, by the plain loops below; both give the
 * bits that element-by-element calls of `uniform` and `normal` give.
 */
import seedrandom from 'seedrandom';
import { log } from './detmath';
import { wasmDraws } from './wasm/random';

/** What a stream is drawn for. `weight-extra` feeds redraws (truncated normal) without shifting `weight`. */
export type Purpose = 'weight' | 'weight-extra' | 'bias' | 'input' | 'gradient';

/** Everything a stream remembers: Alea's carry c and outputs s0, s1, s2, and the polar method's pending second normal. */
export interface StreamState {
  c: number;
  s0: number;
  s1: number;
  s2: number;
  spare: number;
  hasSpare: boolean;
}

/** Fills of whole arrays that advance a state exactly as the same number of one-at-a-time draws would. */
export interface BulkDraws {
  /** out[i] = scale * normal(). */
  normal(state: StreamState, out: Float32Array | Float64Array, scale: number): void;
  /** out[i] = bound * (2 uniform() - 1). */
  uniform(state: StreamState, out: Float32Array | Float64Array, bound: number): void;
  /** out[i] = sigma z with z = normal(), redrawn from `extra` while |z| > 2 (Keras' truncated normal). */
  truncated(state: StreamState, extra: StreamState, out: Float32Array, sigma: number): void;
}

/** 2^-32, Alea's scale of its carry. */
const TWO_M32 = 2.3283064365386963e-10;

/** The state of a fresh stream: seedrandom's Alea seeded with `key` (Baagoe's Mash), and no spare normal. */
export function initialState(key: string): StreamState {
  // Alea's seeding and arithmetic are exact in IEEE doubles, so every JavaScript engine (and the
  // WebAssembly port) produces the same sequence.
  const { c, s0, s1, s2 } = seedrandom.alea(key, { state: true }).state();
  return { c, s0, s1, s2, spare: 0, hasSpare: false };
}

/** Alea's step on `st`: uniform on [0, 1) with 32 random bits. */
function next(st: StreamState): number {
  const t = 2091639 * st.s0 + st.c * TWO_M32;
  st.s0 = st.s1;
  st.s1 = st.s2;
  st.c = t | 0;
  return (st.s2 = t - st.c);
}

/** Standard normal N(0, 1) from `st` by Marsaglia's polar method (only log and sqrt, both deterministic here). */
function normal(st: StreamState): number {
  if (st.hasSpare) {
    st.hasSpare = false;
    return st.spare;
  }
  let { c, s0, s1, s2 } = st;
  let u: number;
  let v: number;
  let s: number;
  do {
    // Alea's step, twice, on locals.
    let t = 2091639 * s0 + c * TWO_M32;
    s0 = s1;
    s1 = s2;
    c = t | 0;
    s2 = t - c;
    u = 2 * s2 - 1;
    t = 2091639 * s0 + c * TWO_M32;
    s0 = s1;
    s1 = s2;
    c = t | 0;
    s2 = t - c;
    v = 2 * s2 - 1;
    s = u * u + v * v;
  } while (s >= 1 || s === 0);
  st.c = c;
  st.s0 = s0;
  st.s1 = s1;
  st.s2 = s2;
  const f = Math.sqrt((-2 * log(s)) / s);
  st.spare = v * f;
  st.hasSpare = true;
  return u * f;
}

/** The bulk draws in plain JavaScript, for where WebAssembly is unavailable. */
export const jsDraws: BulkDraws = {
  normal(state, out, scale) {
    for (let i = 0; i < out.length; i++) out[i] = scale * normal(state);
  },
  uniform(state, out, bound) {
    for (let i = 0; i < out.length; i++) out[i] = bound * (2 * next(state) - 1);
  },
  truncated(state, extra, out, sigma) {
    for (let i = 0; i < out.length; i++) {
      let z = normal(state);
      while (z < -2 || z > 2) z = normal(extra);
      out[i] = sigma * z;
    }
  },
};

let draws: BulkDraws | undefined;

/** The WebAssembly draws once they compile, else `jsDraws`. */
function bulk(): BulkDraws {
  return (draws ??= wasmDraws() ?? jsDraws);
}

/** A deterministic stream of uniform and standard normal numbers. */
export class Stream {
  private readonly state: StreamState;

  constructor(key: string) {
    this.state = initialState(key);
  }

  /** Uniform on [0, 1) with 32 random bits. */
  uniform(): number {
    return next(this.state);
  }

  /** Standard normal N(0, 1) by Marsaglia's polar method. */
  normal(): number {
    return normal(this.state);
  }

  /** Fills `out` with scale N(0, 1): out[i] = scale * normal(), in order, as that loop would. */
  fillNormal(out: Float32Array | Float64Array, scale = 1): void {
    bulk().normal(this.state, out, scale);
  }

  /** Fills `out` with U[-bound, bound): out[i] = bound * (2 uniform() - 1), in order, as that loop would. */
  fillUniform(out: Float32Array | Float64Array, bound = 1): void {
    bulk().uniform(this.state, out, bound);
  }

  /**
   * Fills `out` with sigma z, z = normal() of this stream or, while |z| > 2, of `extra` (Keras'
   * truncated normal: N(0, sigma^2) cut at two sigmas), as that loop would. Redrawing from another
   * stream keeps the accepted elements aligned with the plain normal draws of this one.
   */
  fillTruncatedNormal(out: Float32Array, sigma: number, extra: Stream): void {
    if (extra === this) throw new Error('fillTruncatedNormal: extra must be another stream than this one');
    bulk().truncated(this.state, extra.state, out, sigma);
  }
}

/** The stream of one purpose, network (0-based) and layer (1-based; 0 for the input and the top gradient). */
export function stream(seed: string, purpose: Purpose, network: number, layer: number): Stream {
  return new Stream(JSON.stringify(['initscope/1', seed, purpose, network, layer]));
}
