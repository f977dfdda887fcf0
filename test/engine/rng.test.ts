import { afterEach, describe, expect, it, vi } from 'vitest';
import { Stream, initialState, jsDraws, stream, type BulkDraws, type StreamState } from '../../src/engine/rng';
import { decodeBase64 } from '../../src/engine/wasm/base64';
import { wasmDraws, wasmDrawsOf } from '../../src/engine/wasm/random';
import { randomSimdWasmBase64 } from '../../src/engine/wasm/randomSimd.generated';
import { OracleStream } from './rngOracle';

// Every comparison here is of bits: share links promise the same numbers forever, so "close" is wrong.

/** The first index where a and b differ in bits (NaN payloads and the sign of zero included), or -1. */
function firstDifference(a: Float32Array | Float64Array, b: Float32Array | Float64Array): number {
  if (a.length !== b.length || a.constructor !== b.constructor) return 0;
  const wa = new Uint32Array(a.buffer, a.byteOffset, (a.length * a.BYTES_PER_ELEMENT) / 4);
  const wb = new Uint32Array(b.buffer, b.byteOffset, (b.length * b.BYTES_PER_ELEMENT) / 4);
  const perElement = a.BYTES_PER_ELEMENT / 4;
  for (let i = 0; i < wa.length; i++) if (wa[i] !== wb[i]) return Math.floor(i / perElement);
  return -1;
}

const simd = wasmDrawsOf('simd');
const scalar = wasmDrawsOf('scalar');
const implementations: [string, BulkDraws][] = [
  ['wasm simd', simd as BulkDraws],
  ['wasm scalar', scalar as BulkDraws],
  ['js', jsDraws],
];

it('both WebAssembly builds compile and instantiate in Node, SIMD chosen first (else the wasm cases below would test nothing)', () => {
  expect(simd?.module).toBe('simd');
  expect(scalar?.module).toBe('scalar');
  expect(wasmDraws()?.module).toBe('simd');
});

/** A copy of a state, so that one start can be run twice. */
const copy = (st: StreamState): StreamState => ({ ...st });

/** The oracle's state-to-be: a fresh oracle stream from the Alea part of `st` (its spare must be empty). */
function oracleFrom(st: StreamState): OracleStream {
  expect(st.hasSpare).toBe(false);
  return new OracleStream({ c: st.c, s0: st.s0, s1: st.s1, s2: st.s2 });
}

type Op =
  | { kind: 'normal'; count: number; wide: boolean; scale: number }
  | { kind: 'uniform'; count: number; wide: boolean; bound: number }
  | { kind: 'truncated'; count: number; sigma: number };

/** Runs `op` on the implementation and, one element at a time, on the oracle; returns both outputs. */
function runBoth(op: Op, impl: BulkDraws, st: StreamState, extra: StreamState, o: OracleStream, oExtra: OracleStream) {
  if (op.kind === 'truncated') {
    const got = new Float32Array(op.count);
    const want = new Float32Array(op.count);
    impl.truncated(st, extra, got, op.sigma);
    for (let i = 0; i < op.count; i++) {
      let z = o.normal();
      while (z < -2 || z > 2) z = oExtra.normal();
      want[i] = op.sigma * z;
    }
    return { got, want };
  }
  const make = (n: number) => (op.wide ? new Float64Array(n) : new Float32Array(n));
  const got = make(op.count);
  const want = make(op.count);
  if (op.kind === 'normal') {
    impl.normal(st, got, op.scale);
    for (let i = 0; i < op.count; i++) want[i] = op.scale * o.normal();
  } else {
    impl.uniform(st, got, op.bound);
    for (let i = 0; i < op.count; i++) want[i] = op.bound * (2 * o.uniform() - 1);
  }
  return { got, want };
}

/** Then one of each single draw from both streams of both sides: the states were left where the oracle's are. */
function expectSameContinuation(impl: BulkDraws, st: StreamState, extra: StreamState, o: OracleStream, oExtra: OracleStream): void {
  for (const [s, os] of [
    [st, o],
    [extra, oExtra],
  ] as const) {
    const got = new Float64Array(4);
    const one = new Float64Array(1);
    for (let k = 0; k < 4; k++) {
      if (k === 2) impl.uniform(s, one, 1);
      else impl.normal(s, one, 1);
      got[k] = one[0];
    }
    const want = Float64Array.of(os.normal(), os.normal(), 2 * os.uniform() - 1, os.normal());
    expect(firstDifference(got, want)).toBe(-1);
  }
}

describe.each(implementations)('%s bulk draws are bit-identical to one-at-a-time draws', (_name, impl) => {
  // Lengths around the wasm module's chunk (16384 elements) and its blocks, odd ones for the spare normal.
  const lengths = [0, 1, 2, 3, 4, 5, 7, 64, 255, 1000, 1001, 1601, 16383, 16384, 16385, 32769];

  it.each(['f32', 'f64'])('normal fills, %s, from a fresh stream and from one with a spare pending', (type) => {
    const wide = type === 'f64';
    for (const [k, count] of lengths.entries()) {
      for (const pending of [false, true]) {
        const key = JSON.stringify(['normal', type, count, pending]);
        const st = initialState(key);
        const o = oracleFrom(st);
        const extra = initialState(key + '/extra');
        const oExtra = oracleFrom(extra);
        if (pending) {
          // One single normal leaves the pair's second value as the spare for the fill to start with.
          const one = new Float64Array(1);
          impl.normal(st, one, 1);
          expect(one[0]).toBe(o.normal());
          expect(st.hasSpare).toBe(true);
        }
        const scale = [1, 0.0625, 1.7, -0.3][k % 4];
        const { got, want } = runBoth({ kind: 'normal', count, wide, scale }, impl, st, extra, o, oExtra);
        expect(firstDifference(got, want), `${key} scale ${scale}`).toBe(-1);
        expectSameContinuation(impl, st, extra, o, oExtra);
      }
    }
  });

  it.each(['f32', 'f64'])('uniform fills, %s, keep a pending spare normal pending', (type) => {
    const wide = type === 'f64';
    for (const [k, count] of lengths.entries()) {
      const key = JSON.stringify(['uniform', type, count]);
      const st = initialState(key);
      const o = oracleFrom(st);
      const extra = initialState(key + '/extra');
      const oExtra = oracleFrom(extra);
      if (k % 2 === 1) {
        const one = new Float64Array(1);
        impl.normal(st, one, 1);
        expect(one[0]).toBe(o.normal());
      }
      const bound = [1, 0.1, Math.sqrt(3), 2.5e-3][k % 4];
      const { got, want } = runBoth({ kind: 'uniform', count, wide, bound }, impl, st, extra, o, oExtra);
      expect(firstDifference(got, want), `${key} bound ${bound}`).toBe(-1);
      expectSameContinuation(impl, st, extra, o, oExtra);
    }
  });

  it('truncated fills redraw from the other stream and leave both where the loop leaves them', () => {
    let redrawn = 0;
    for (const [k, count] of lengths.entries()) {
      const key = JSON.stringify(['truncated', count]);
      const st = initialState(key);
      const o = oracleFrom(st);
      const extra = initialState(key + '/extra');
      const oExtra = oracleFrom(extra);
      if (k % 3 === 1) {
        // Spares pending in both streams.
        const one = new Float64Array(1);
        impl.normal(st, one, 1);
        expect(one[0]).toBe(o.normal());
        impl.normal(extra, one, 1);
        expect(one[0]).toBe(oExtra.normal());
      }
      const sigma = [1, 0.0625 / 0.87962566103423978, 3][k % 3];
      const before = JSON.stringify(extra);
      const { got, want } = runBoth({ kind: 'truncated', count, sigma }, impl, st, extra, o, oExtra);
      expect(firstDifference(got, want), `${key} sigma ${sigma}`).toBe(-1);
      if (JSON.stringify(extra) !== before) redrawn++;
      expectSameContinuation(impl, st, extra, o, oExtra);
    }
    // 4.6% of normals fall outside two stds, so every length from 64 on redraws.
    expect(redrawn).toBeGreaterThanOrEqual(8);
  });

  it('a long random mix of fills of every kind and length equals the one-at-a-time sequence', () => {
    // The driver is a stream of its own, so the mix is fixed.
    const driver = new OracleStream('rng.test mix driver');
    const pick = (n: number) => Math.floor(driver.uniform() * n);
    for (let round = 0; round < 40; round++) {
      const key = `mix ${round}`;
      const st = initialState(key);
      const o = oracleFrom(st);
      const extra = initialState(key + '/extra');
      const oExtra = oracleFrom(extra);
      for (let step = 0; step < 30; step++) {
        // Mostly short fills, so that the spare and the state hand-over are crossed often; some long ones.
        const count = pick(10) === 0 ? pick(5000) : pick(6);
        const kind = (['normal', 'uniform', 'truncated'] as const)[pick(3)];
        const op: Op =
          kind === 'normal'
            ? { kind, count, wide: pick(2) === 1, scale: driver.uniform() * 4 - 2 }
            : kind === 'uniform'
              ? { kind, count, wide: pick(2) === 1, bound: driver.uniform() * 2 }
              : { kind, count, sigma: driver.uniform() * 3 };
        const { got, want } = runBoth(op, impl, st, extra, o, oExtra);
        expect(firstDifference(got, want), `${key} step ${step} ${JSON.stringify(op)}`).toBe(-1);
      }
      expectSameContinuation(impl, st, extra, o, oExtra);
    }
  });

  it('the same start gives the same draws however a fill is split', () => {
    const st = initialState('split');
    const whole = new Float32Array(5000);
    impl.normal(copy(st), whole, 0.5);
    const parts = new Float32Array(5000);
    const running = copy(st);
    for (const [from, to] of [
      [0, 1],
      [1, 2],
      [2, 1999],
      [1999, 2000],
      [2000, 5000],
    ])
      impl.normal(running, parts.subarray(from, to), 0.5);
    expect(firstDifference(parts, whole)).toBe(-1);
  });
});

// Crafted starts: Alea states whose first two outputs are chosen, to reach the rare paths of the
// polar method, of fdlibm's log and of the wasm module's rearranged Alea step. Outputs are
// multiples of 2^-32; x = (u + 1) / 2 for a wanted u.
const M = 2n ** 32n;
const A = 2091639n;
const A_INVERSE = (() => {
  // Newton's iteration for the inverse of an odd number modulo 2^32.
  let inverse = A;
  for (let i = 0; i < 5; i++) inverse = (inverse * (2n - A * inverse)) % M;
  return ((inverse % M) + M) % M;
})();
const mod = (x: bigint) => ((x % M) + M) % M;

/** An Alea state (with carry c) whose next two outputs are x1 and x2 (multiples of 2^-32 in [0, 1)). */
function crafted(c: number, x1: number, x2: number): StreamState {
  const X1 = BigInt(x1 * 2 ** 32);
  const X2 = BigInt(x2 * 2 ** 32);
  const k0 = mod((X1 - BigInt(c)) * A_INVERSE);
  const c1 = (A * k0 + BigInt(c)) / M;
  const k1 = mod((X2 - c1) * A_INVERSE);
  return { c, s0: Number(k0) / 2 ** 32, s1: Number(k1) / 2 ** 32, s2: 0.375, spare: 0, hasSpare: false };
}
/** u rounded to Alea's grid, as x = (u + 1) / 2. */
const x = (u: number) => Math.round(((u + 1) / 2) * 2 ** 32) / 2 ** 32;
const ulp = 2 ** -32;

const CRAFTED: [string, number, number, number][] = [
  ['u = v = 0: s = 0 is rejected', 1, 0.5, 0.5],
  ['u = -1, v = 0: s = 1 is rejected', 1, 0, 0.5],
  ['s just below 1: log of 1 - 2^-30, |f| < 2^-20 with k = 0', 1, ulp, 0.5],
  ['s = 0.5 exactly: f = 0 with k = -1', 1, 0.75, 0.75],
  ['s just above 0.5: |f| < 2^-20 with k = -1', 1, 0.75, 0.75 + ulp],
  ['s = 0.7: the hfsq form (1 + f near sqrt(2))', 1, x(Math.sqrt(0.7)), 0.5],
  ['s = 0.36: k = -1, the plain form', 1, x(0.6), 0.5],
  ['s = 2^-62, the smallest: a normal of 9.27, redrawn if truncated', 1, 0.5 + ulp, 0.5],
  ['carry 2091638 and a first output below it: the rearranged step adds the carry over 1', 2091638, 3 * ulp, 0.5],
  ['carry 5 and a first output of 0: the rearranged sum is exactly 1', 5, 0, 0.5],
  ['carry 0', 0, 0.125, 0.25],
];

describe.each(implementations)('%s bulk draws on crafted starts', (_name, impl) => {
  it.each(CRAFTED)('%s', (_what, c, x1, x2) => {
    const start = crafted(c, x1, x2);
    // The crafting itself: the oracle's first two uniforms are x1 and x2.
    const check = oracleFrom(start);
    expect([check.uniform(), check.uniform()]).toEqual([x1, x2]);
    for (const count of [1, 2, 3, 40]) {
      for (const kind of ['normal', 'uniform', 'truncated'] as const) {
        const st = copy(start);
        const extra = copy(start);
        const o = oracleFrom(st);
        const oExtra = oracleFrom(extra);
        const op: Op = kind === 'normal' ? { kind, count, wide: true, scale: 1 } : kind === 'uniform' ? { kind, count, wide: true, bound: 1 } : { kind, count, sigma: 1 };
        const { got, want } = runBoth(op, impl, st, extra, o, oExtra);
        expect(firstDifference(got, want), `${kind} ${count}`).toBe(-1);
        expectSameContinuation(impl, st, extra, o, oExtra);
      }
    }
  });
});

describe('Stream', () => {
  it('single draws equal the original closure-based stream for many keys', () => {
    for (let k = 0; k < 200; k++) {
      const key = JSON.stringify(['initscope/1', `seed ${k}`, 'weight', k % 3, k % 7]);
      const s = new Stream(key);
      const o = new OracleStream(key);
      const got = new Float64Array(301);
      const want = new Float64Array(301);
      for (let i = 0; i < 301; i++) {
        // Uniforms between normals: they must leave a pending spare alone.
        if ((i * 7 + k) % 5 === 0) {
          got[i] = s.uniform();
          want[i] = o.uniform();
        } else {
          got[i] = s.normal();
          want[i] = o.normal();
        }
      }
      expect(firstDifference(got, want), key).toBe(-1);
    }
  });

  it('goes on with single draws exactly after bulk fills, and fills after single draws', () => {
    const s = stream('seed', 'input', 1, 0);
    const o = new OracleStream(JSON.stringify(['initscope/1', 'seed', 'input', 1, 0]));
    const got: number[] = [];
    const want: number[] = [];
    const a = new Float32Array(1001);
    s.fillNormal(a, 0.25);
    got.push(...a, s.normal(), s.uniform(), s.normal());
    for (let i = 0; i < 1001; i++) want.push(Math.fround(0.25 * o.normal()));
    want.push(o.normal(), o.uniform(), o.normal());
    const b = new Float64Array(77);
    s.fillUniform(b, 3);
    got.push(...b, s.normal());
    for (let i = 0; i < 77; i++) want.push(3 * (2 * o.uniform() - 1));
    want.push(o.normal());
    const extra = stream('seed', 'weight-extra', 1, 0);
    const oExtra = new OracleStream(JSON.stringify(['initscope/1', 'seed', 'weight-extra', 1, 0]));
    const t = new Float32Array(513);
    s.fillTruncatedNormal(t, 0.5, extra);
    got.push(...t, s.normal(), extra.normal(), extra.uniform());
    for (let i = 0; i < 513; i++) {
      let z = o.normal();
      while (z < -2 || z > 2) z = oExtra.normal();
      want.push(Math.fround(0.5 * z));
    }
    want.push(o.normal(), oExtra.normal(), oExtra.uniform());
    expect(firstDifference(Float64Array.from(got), Float64Array.from(want))).toBe(-1);
  });

  it('refuses to redraw truncated normals from the stream itself', () => {
    const s = new Stream('self');
    expect(() => s.fillTruncatedNormal(new Float32Array(4), 1, s)).toThrow(/extra must be another stream/);
  });
});

describe('without WebAssembly SIMD, or without WebAssembly', () => {
  afterEach(() => {
    vi.unstubAllGlobals();
    vi.resetModules();
  });

  it('an engine that refuses the SIMD module gets the scalar one, and Stream the same bits', async () => {
    const real = WebAssembly;
    const simdBytes = decodeBase64(randomSimdWasmBase64, 'randomSimd.generated.ts');
    const isSimd = (bytes: Uint8Array) => bytes.length === simdBytes.length && bytes.every((b, i) => b === simdBytes[i]);
    let refused = 0;
    // As an engine without SIMD does: the module fails to compile.
    class ModuleWithoutSimd extends real.Module {
      constructor(bytes: Uint8Array<ArrayBuffer>) {
        if (isSimd(bytes)) {
          refused++;
          throw new real.CompileError('SIMD unsupported');
        }
        super(bytes);
      }
    }
    vi.stubGlobal('WebAssembly', { Module: ModuleWithoutSimd, Instance: real.Instance, CompileError: real.CompileError });
    vi.resetModules();
    const rng = await import('../../src/engine/rng');
    const random = await import('../../src/engine/wasm/random');
    expect(random.wasmDraws()?.module).toBe('scalar');
    expect(refused).toBe(1);
    const s = new rng.Stream('no simd');
    const o = new OracleStream('no simd');
    const got = new Float32Array(3001);
    s.fillNormal(got, 0.125);
    const want = Float32Array.from({ length: 3001 }, () => 0.125 * o.normal());
    expect(firstDifference(got, want)).toBe(-1);
    expect(s.normal()).toBe(o.normal());
    // The Stream's draws came through the scalar module: the SIMD one was refused once more, then never again.
    expect(refused).toBe(2);
  });

  it('wasmDraws is null and Stream fills in JavaScript, with the same bits', async () => {
    vi.stubGlobal('WebAssembly', undefined);
    vi.resetModules();
    const rng = await import('../../src/engine/rng');
    const random = await import('../../src/engine/wasm/random');
    expect(random.wasmDraws()).toBeNull();
    const s = new rng.Stream('no wasm');
    const o = new OracleStream('no wasm');
    const got = new Float32Array(3001);
    s.fillNormal(got, 0.125);
    const want = Float32Array.from({ length: 3001 }, () => 0.125 * o.normal());
    expect(firstDifference(got, want)).toBe(-1);
    expect(s.normal()).toBe(o.normal());
  });
});
