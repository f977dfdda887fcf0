/**
 * Bulk draws of the engine's seeded streams (src/engine/rng.ts), compiled by ../build.mjs into two
 * modules of their own: one with SIMD, which takes the logs, quotients and square roots of the polar
 * method two pairs at a time in f64x2 lanes, and one scalar for engines without SIMD. The numbers
 * are bit for bit those of `Stream.uniform` and `Stream.normal`, in both: Alea's step is exact (on
 * doubles and on integers), the polar method and fdlibm's log use only correctly rounded +, -, *, /,
 * sqrt and bit manipulation, the same per lane in f64x2 (no relaxed SIMD), and WebAssembly neither
 * fuses nor reorders floating-point operations.
 *
 * A stream's state lives in linear memory as six f64: Alea's c, s0, s1, s2, then the polar method's
 * spare normal and whether it is pending (1 or 0). The main stream is at `stateAddress()`, the
 * stream that redraws rejected truncated normals right after it. Results go to `bufferAddress()`.
 */

/** The two stream states, six f64 each. */
const STATE: usize = memory.data(96, 16);
/** Byte offset of the redraw stream's state from STATE. */
const EXTRA: usize = 48;
/** 2^-32, as Alea scales its carry. */
const TWO_M32: f64 = 2.3283064365386963e-10;
/** 2^32. */
const TWO_32: f64 = 4294967296;
/** Alea's multiplier. */
const MULTIPLIER: f64 = 2091639;
/** Alea's multiplier, for its steps on integers. */
const ALEA: i64 = 2091639;
/** 2^31. */
const TWO_31: f64 = 2147483648;
/** 2^32, as an integer. */
const TWO_32_INT: i64 = 0x100000000;

/** Address of the main stream's state; the redraw stream's follows at +48 bytes. */
export function stateAddress(): usize {
  return STATE;
}

/** Where the host reads results from and, for truncated normals, passes scratch space (after the work area). */
export function bufferAddress(): usize {
  return OUTPUT_AT;
}

// fdlibm e_log.c, exactly as src/engine/detmath.ts ports it.
const ln2_hi: f64 = 6.93147180369123816490e-1; /* 0x3FE62E42, 0xFEE00000 */
const ln2_lo: f64 = 1.90821492927058770002e-10; /* 0x3DEA39EF, 0x35793C76 */
const two54: f64 = 1.80143985094819840000e16; /* 0x43500000, 0x00000000 */
const Lg1: f64 = 6.666666666666735130e-1; /* 0x3FE55555, 0x55555593 */
const Lg2: f64 = 3.999999999940941908e-1; /* 0x3FD99999, 0x9997FA04 */
const Lg3: f64 = 2.857142874366239149e-1; /* 0x3FD24924, 0x94229359 */
const Lg4: f64 = 2.222219843214978396e-1; /* 0x3FCC71C5, 0x1D8E78AF */
const Lg5: f64 = 1.818357216161805012e-1; /* 0x3FC74664, 0x96CB03DE */
const Lg6: f64 = 1.531383769920937332e-1; /* 0x3FC39A09, 0xD078C69F */
const Lg7: f64 = 1.479819860511658591e-1; /* 0x3FC2F112, 0xDF3E5244 */

/** Natural logarithm (fdlibm e_log.c). */
@inline
function log(x: f64): f64 {
  let hx = <i32>(reinterpret<u64>(x) >>> 32);
  const lx = <u32>reinterpret<u64>(x);
  let k: i32 = 0;
  if (hx < 0x00100000) {
    // x < 2^-1022: zero, subnormal or negative
    if (((hx & 0x7fffffff) | lx) == 0) return -Infinity;
    if (hx < 0) return NaN;
    k -= 54;
    x *= two54;
    hx = <i32>(reinterpret<u64>(x) >>> 32);
  }
  if (hx >= 0x7ff00000) return x + x;
  k += (hx >> 20) - 1023;
  hx &= 0x000fffff;
  let i = (hx + 0x95f64) & 0x100000;
  x = reinterpret<f64>((reinterpret<u64>(x) & 0xffffffff) | (<u64>(<u32>(hx | (i ^ 0x3ff00000))) << 32));
  k += i >> 20;
  const f = x - 1;
  const dk = <f64>k;

  if ((0x000fffff & (2 + hx)) < 3) {
    // -2^-20 <= f < 2^-20
    if (f == 0) {
      if (k == 0) return 0;
      return dk * ln2_hi + dk * ln2_lo;
    }
    const R = f * f * (0.5 - 0.33333333333333333 * f);
    if (k == 0) return f - R;
    return dk * ln2_hi - (R - dk * ln2_lo - f);
  }

  const s = f / (2 + f);
  const z = s * s;
  i = hx - 0x6147a;
  const w = z * z;
  const j = 0x6b851 - hx;
  const t1 = w * (Lg2 + w * (Lg4 + w * Lg6));
  const t2 = z * (Lg1 + w * (Lg3 + w * (Lg5 + w * Lg7)));
  i |= j;
  const R = t2 + t1;
  if (i > 0) {
    const hfsq = 0.5 * f * f;
    if (k == 0) return f - (hfsq - s * (hfsq + R));
    return dk * ln2_hi - (hfsq - (s * (hfsq + R) + dk * ln2_lo) - f);
  }
  if (k == 0) return f - s * (f - R);
  return dk * ln2_hi - (s * (f - R) - dk * ln2_lo - f);
}

// The constants of the SIMD code, each in both lanes, in memory: V8 would build a v128 constant in
// an expression anew in every pass of a loop, in three or four instructions, where a load is one.
const LG1_X2: usize = memory.data<f64>([Lg1, Lg1], 16);
const LG2_X2: usize = memory.data<f64>([Lg2, Lg2], 16);
const LG3_X2: usize = memory.data<f64>([Lg3, Lg3], 16);
const LG4_X2: usize = memory.data<f64>([Lg4, Lg4], 16);
const LG5_X2: usize = memory.data<f64>([Lg5, Lg5], 16);
const LG6_X2: usize = memory.data<f64>([Lg6, Lg6], 16);
const LG7_X2: usize = memory.data<f64>([Lg7, Lg7], 16);
const LN2_HI_X2: usize = memory.data<f64>([ln2_hi, ln2_hi], 16);
const LN2_LO_X2: usize = memory.data<f64>([ln2_lo, ln2_lo], 16);
const ONE_X2: usize = memory.data<f64>([1, 1], 16);
const TWO_X2: usize = memory.data<f64>([2, 2], 16);
const HALF_X2: usize = memory.data<f64>([0.5, 0.5], 16);
const MINUS_TWO_X2: usize = memory.data<f64>([-2, -2], 16);
/** -2^-20 and 2^-20, the bounds of f on fdlibm's branch for f near 0. */
const NEAR_ONE_BELOW_X2: usize = memory.data<f64>([-9.5367431640625e-7, -9.5367431640625e-7], 16);
const NEAR_ONE_ABOVE_X2: usize = memory.data<f64>([9.5367431640625e-7, 9.5367431640625e-7], 16);
/** 0x6147a 2^-20 and 0x6b852 2^-21 - 1/2, the bounds of f outside which fdlibm takes its hfsq form. */
const HFSQ_ABOVE_X2: usize = memory.data<f64>([0.37999916076660156, 0.37999916076660156], 16);
const HFSQ_BELOW_X2: usize = memory.data<f64>([-0.28999996185302734, -0.28999996185302734], 16);
/** 2^52 and 2^52 + 1023, to turn a biased exponent in the low bits of a double into k. */
const TWO_52_X2: usize = memory.data<f64>([4503599627370496, 4503599627370496], 16);
const TWO_52_BIAS_X2: usize = memory.data<f64>([4503599627371519, 4503599627371519], 16);
/** As i32x4, low word then high word of each lane: all of the low word and the mantissa bits of the high word. */
const LOW_AND_MANTISSA_X2: usize = memory.data<i32>([-1, 0x000fffff, -1, 0x000fffff], 16);
/** 0x95f64 and 0x100000 in the high words, fdlibm's test for a mantissa at least sqrt(2)'s. */
const SQRT2_MANTISSA_X2: usize = memory.data<i32>([0, 0x95f64, 0, 0x95f64], 16);
const BIT_20_X2: usize = memory.data<i32>([0, 0x100000, 0, 0x100000], 16);

/**
 * `log` of both lanes of s, for s in [2^-62, 1) as the polar method draws it. The lanes take
 * fdlibm's common path, with both of its forms computed and one selected per lane, and fall back to
 * `log` itself when either lane is within 2^-20 of a power of two (about 3 pairs in a million).
 *
 * The branches of `log` are decided here on doubles instead of words, equivalently, as f = x - 1 is
 * exact: fdlibm's -2^-20 <= f < 2^-20 is its word test, and its hx in [0x6147a, 0x6b851] (the hfsq
 * form) is 1 + f >= 1 + 0x6147a 2^-20 when x was not halved and 1 + f < (1 + 0x6b852 2^-20) / 2 when
 * it was. Its k == 0 forms are left out: with dk = +0 the general forms give the same bits, since
 * 0 - (a - f) = f - a for f != 0 under round to nearest. The range of s rules out the zero,
 * subnormal, negative, infinite and NaN branches.
 */
@inline
function logPair(s: v128): v128 {
  // x's high word becomes hx | (i ^ 0x3ff00000) with hx its mantissa part and i = 2^20 where the
  // mantissa is at least sqrt(2)'s (x halved into [sqrt(2)/2, 1)); the low words stay. 0x3ff00000
  // in the high words is 1.
  const one = v128.load(ONE_X2);
  const m = v128.and(s, v128.load(LOW_AND_MANTISSA_X2));
  const i = v128.and(i32x4.add(m, v128.load(SQRT2_MANTISSA_X2)), v128.load(BIT_20_X2));
  const x = v128.or(m, v128.xor(i, one));
  const f = f64x2.sub(x, one);
  if (v128.any_true(v128.and(f64x2.ge(f, v128.load(NEAR_ONE_BELOW_X2)), f64x2.lt(f, v128.load(NEAR_ONE_ABOVE_X2))))) {
    return f64x2.replace_lane(f64x2.splat(log(f64x2.extract_lane(s, 0))), 1, log(f64x2.extract_lane(s, 1)));
  }
  // k + 1023 is the exponent field of s plus i >> 20, so that of s + i; dk is exact as the low bits
  // of the double 2^52 + k + 1023.
  const dk = f64x2.sub(v128.or(i64x2.shr_u(i64x2.add(s, i), 52), v128.load(TWO_52_X2)), v128.load(TWO_52_BIAS_X2));
  // fdlibm's s (q here), z, w, t1 = w (Lg2 + w (Lg4 + w Lg6)), t2 = z (Lg1 + w (Lg3 + w (Lg5 + w Lg7))), R
  const q = f64x2.div(f, f64x2.add(v128.load(TWO_X2), f));
  const z = f64x2.mul(q, q);
  const w = f64x2.mul(z, z);
  let t1 = f64x2.mul(w, v128.load(LG6_X2));
  t1 = f64x2.mul(w, f64x2.add(v128.load(LG4_X2), t1));
  t1 = f64x2.mul(w, f64x2.add(v128.load(LG2_X2), t1));
  let t2 = f64x2.mul(w, v128.load(LG7_X2));
  t2 = f64x2.mul(w, f64x2.add(v128.load(LG5_X2), t2));
  t2 = f64x2.mul(w, f64x2.add(v128.load(LG3_X2), t2));
  t2 = f64x2.mul(z, f64x2.add(v128.load(LG1_X2), t2));
  const R = f64x2.add(t2, t1);
  const hi = f64x2.mul(dk, v128.load(LN2_HI_X2));
  const lo = f64x2.mul(dk, v128.load(LN2_LO_X2));
  const hfsq = f64x2.mul(f64x2.mul(v128.load(HALF_X2), f), f);
  // dk ln2_hi - (hfsq - (s (hfsq + R) + dk ln2_lo) - f)
  const near = f64x2.sub(hi, f64x2.sub(f64x2.sub(hfsq, f64x2.add(f64x2.mul(q, f64x2.add(hfsq, R)), lo)), f));
  // dk ln2_hi - (s (f - R) - dk ln2_lo - f)
  const plain = f64x2.sub(hi, f64x2.sub(f64x2.sub(f64x2.mul(q, f64x2.sub(f, R)), lo), f));
  const useNear = v128.or(f64x2.ge(f, v128.load(HFSQ_ABOVE_X2)), f64x2.lt(f, v128.load(HFSQ_BELOW_X2)));
  return v128.bitselect(near, plain, useNear);
}

// Alea's step. seedrandom computes t = 2091639 s0 + c 2^-32, c' = t | 0 (= floor(t), t >= 0),
// s2' = t - c'. From seeding on, s0, s1, s2 are multiples of 2^-32 in [0, 1) and c is an integer
// below 2091639, so every value involved is a multiple of 2^-32 below 2^21, with at most 53
// significant bits: each operation is exact, in seedrandom and here.
//
// `fillNormalAt` steps on integers: with s_i = k_i 2^-32, t is (2091639 k0 + c) 2^-32 exactly, so c'
// and s2' 2^32 are the high and low 32 bits of the integer 2091639 k0 + c (below 2^53). A step is
// then a multiply, an add, a shift and a mask, and has no floor: V8's roundsd keeps the upper lane
// of its destination register, a false dependency that can chain a loop's steps into a slow series.
//
// `fillUniformAt` steps on doubles, rearranged: it computes the same t as floor(p) + r, with
// p = 2091639 s0 and r = (p - floor(p)) + c 2^-32, both exact: then c' = floor(p) and s2' = r, or, in
// the rare case r >= 1, c' = floor(p) + 1 and s2' = r - 1. The old carry now feeds only r and a
// branch that is almost never taken, not the next floor, so the serial path from step to step runs
// through s0 three steps back instead of through c at every step. The carry is kept as c 2^-32
// inside the loop.

/** Candidate pairs of the polar method per block. */
const BLOCK: i32 = 1024;
// The work area, static (so that V8 sees its addresses as constants). Per accepted pair, in order
// (each candidate is written at the next index and overwritten if rejected): u, v, s, Alea's state
// after its two steps as k0 | c << 32 (k1 and k2 are (u + 1) 2^31 and (v + 1) 2^31) and, with
// SIMD, log(s).
const U_AT: usize = memory.data(<i32>BLOCK * 8, 64);
const V_AT: usize = memory.data(<i32>BLOCK * 8, 64);
const S_AT: usize = memory.data(<i32>BLOCK * 8, 64);
const KEPT_AT: usize = memory.data(<i32>BLOCK * 8, 64);
const LOG_AT: usize = ASC_FEATURE_SIMD ? memory.data(<i32>BLOCK * 8, 64) : 0;
const OUTPUT_AT: usize = (__heap_base + 63) & ~(<usize>63);

/**
 * Writes count values scale * normal() of the stream at `state` to out (f32 or f64), exactly as
 * `count` calls of `Stream.normal` would, and leaves the state where those calls would leave it.
 *
 * The candidate pairs of a block are drawn first (Alea on integers, see the note above BLOCK) and
 * the accepted ones gathered without a branch; then, with SIMD, the logs are taken and then the
 * factors and outputs, two pairs at a time, each in a loop of its own, so that neither Alea's serial
 * steps nor the 21% of rejections stall the logs' long chains, and the out-of-order window holds
 * several of them at once. The state is then set back to just after the last pair used.
 */
@inline
function fillNormalAt<T>(state: usize, out: usize, count: i32, scale: f64): void {
  let c = <i64>load<f64>(state, 0);
  let k0 = <i64>(load<f64>(state, 8) * TWO_32);
  let k1 = <i64>(load<f64>(state, 16) * TWO_32);
  let k2 = <i64>(load<f64>(state, 24) * TWO_32);
  let spare = load<f64>(state, 32);
  let hasSpare = load<f64>(state, 40) != 0;
  let i: i32 = 0;
  if (hasSpare && count > 0) {
    store<T>(out, <T>(scale * spare));
    hasSpare = false;
    i = 1;
  }
  while (i < count) {
    // A candidate pair is accepted with probability pi/4, so `need` pairs take about 1.27 need
    // candidates; a block a little short costs one more small block, one too long only the surplus.
    const need = (count - i + 1) >> 1;
    const pairs = min(BLOCK, need + (need >> 2) + 4);
    let accepted: i32 = 0;
    for (let j: i32 = 0; j < pairs; j++) {
      // Two of Alea's steps and the candidate pair they give: u = 2 k1 2^-32 - 1, v likewise.
      let t = ALEA * k0 + c;
      c = t >>> 32;
      k0 = k1;
      k1 = k2;
      k2 = t & 0xffffffff;
      t = ALEA * k0 + c;
      c = t >>> 32;
      k0 = k1;
      k1 = k2;
      k2 = t & 0xffffffff;
      const u = <f64>((k1 << 1) - TWO_32_INT) * TWO_M32;
      const v = <f64>((k2 << 1) - TWO_32_INT) * TWO_M32;
      const s = u * u + v * v;
      const at = <usize>accepted << 3;
      store<f64>(U_AT + at, u);
      store<f64>(V_AT + at, v);
      store<f64>(S_AT + at, s);
      store<i64>(KEPT_AT + at, k0 | (c << 32));
      // 0 < s < 1 (s is never negative nor NaN) as 0 < bits < those of 1.
      accepted += <i32>(reinterpret<u64>(s) - 1 < 0x3fefffffffffffff);
    }
    let a: i32 = 0;
    if (ASC_FEATURE_SIMD) {
      // The logs of the pairs to be used; with an odd number, the last one's partner lane holds a
      // rejected or stale s, harmless.
      const used = min(accepted, need);
      for (let b: i32 = 0; b < used; b += 2) {
        v128.store(LOG_AT + (<usize>b << 3), logPair(v128.load(S_AT + (<usize>b << 3))));
      }
      // Two pairs at a time, four outputs, while more than four are wanted: the last output, and
      // with it the setting back of the state, is left to the loop below.
      for (; a + 1 < accepted && count - i > 4; a += 2) {
        const at = <usize>a << 3;
        const s = v128.load(S_AT + at);
        const f = f64x2.sqrt(f64x2.div(f64x2.mul(v128.load(MINUS_TWO_X2), v128.load(LOG_AT + at)), s));
        const first = f64x2.mul(f64x2.splat(scale), f64x2.mul(v128.load(U_AT + at), f));
        const second = f64x2.mul(f64x2.splat(scale), f64x2.mul(v128.load(V_AT + at), f));
        const to = out + (<usize>i << alignof<T>());
        if (sizeof<T>() == 4) {
          const four = v128.shuffle<f32>(f32x4.demote_f64x2_zero(first), f32x4.demote_f64x2_zero(second), 0, 4, 1, 5);
          v128.store(to, four);
        } else {
          v128.store(to, v128.shuffle<f64>(first, second, 0, 2));
          v128.store(to, v128.shuffle<f64>(first, second, 1, 3), 16);
        }
        i += 4;
      }
    }
    for (; a < accepted; a++) {
      const at = <usize>a << 3;
      const s = load<f64>(S_AT + at);
      const f = Math.sqrt((-2 * (ASC_FEATURE_SIMD ? load<f64>(LOG_AT + at) : log(s))) / s);
      const u = load<f64>(U_AT + at);
      const v = load<f64>(V_AT + at);
      store<T>(out + (<usize>i << alignof<T>()), <T>(scale * (u * f)));
      i++;
      if (i < count) {
        store<T>(out + (<usize>i << alignof<T>()), <T>(scale * (v * f)));
        i++;
      } else {
        spare = v * f;
        hasSpare = true;
      }
      if (i == count) {
        // Back to the state after this pair's two steps.
        const kept = load<i64>(KEPT_AT + at);
        k0 = kept & 0xffffffff;
        c = kept >>> 32;
        k1 = <i64>((u + 1) * TWO_31);
        k2 = <i64>((v + 1) * TWO_31);
        break;
      }
    }
  }
  store<f64>(state, <f64>c, 0);
  store<f64>(state, <f64>k0 * TWO_M32, 8);
  store<f64>(state, <f64>k1 * TWO_M32, 16);
  store<f64>(state, <f64>k2 * TWO_M32, 24);
  store<f64>(state, spare, 32);
  store<f64>(state, hasSpare ? 1 : 0, 40);
}

/**
 * Writes count values bound * (2 uniform() - 1) of the stream at `state` to out (f32 or f64);
 * the pending spare normal, which `uniform` does not touch, stays as it is.
 */
@inline
function fillUniformAt<T>(state: usize, out: usize, count: i32, bound: f64): void {
  let carry = load<f64>(state, 0) * TWO_M32;
  let s0 = load<f64>(state, 8);
  let s1 = load<f64>(state, 16);
  let s2 = load<f64>(state, 24);
  for (let i: i32 = 0; i < count; i++) {
    // Alea's step, rearranged (see the note above BLOCK).
    const p = MULTIPLIER * s0;
    let q = Math.floor(p);
    let r = p - q + carry;
    if (r >= 1) {
      r -= 1;
      q += 1;
    }
    carry = q * TWO_M32;
    s0 = s1;
    s1 = s2;
    s2 = r;
    store<T>(out + (<usize>i << alignof<T>()), <T>(bound * (2 * s2 - 1)));
  }
  store<f64>(state, carry * TWO_32, 0);
  store<f64>(state, s0, 8);
  store<f64>(state, s1, 16);
  store<f64>(state, s2, 24);
}

/** out[i] = f32(scale * normal()) for i < count, from the main stream. */
export function fillNormal32(out: usize, count: i32, scale: f64): void {
  fillNormalAt<f32>(STATE, out, count, scale);
}

/** out[i] = scale * normal() as f64 for i < count, from the main stream. */
export function fillNormal64(out: usize, count: i32, scale: f64): void {
  fillNormalAt<f64>(STATE, out, count, scale);
}

/** out[i] = f32(bound * (2 uniform() - 1)) for i < count, from the main stream. */
export function fillUniform32(out: usize, count: i32, bound: f64): void {
  fillUniformAt<f32>(STATE, out, count, bound);
}

/** out[i] = bound * (2 uniform() - 1) as f64 for i < count, from the main stream. */
export function fillUniform64(out: usize, count: i32, bound: f64): void {
  fillUniformAt<f64>(STATE, out, count, bound);
}

/**
 * Replaces the count f64 at `at`, each in [2^-62, 1), by their logs, taken as the normal fills take
 * them (two at a time with SIMD): the tests' window on `logPair`.
 */
export function logs(at: usize, count: i32): void {
  let n: i32 = 0;
  if (ASC_FEATURE_SIMD) {
    for (; n + 1 < count; n += 2) v128.store(at + (<usize>n << 3), logPair(v128.load(at + (<usize>n << 3))));
  }
  for (; n < count; n++) store<f64>(at + (<usize>n << 3), log(load<f64>(at + (<usize>n << 3))));
}

/** Redrawn normals per batch. */
const REDRAWS: i32 = 256;
/** A batch of the redraw stream's normals, used in order. */
const REDRAWS_AT: usize = memory.data(REDRAWS * 8, 16);

/**
 * out[i] = f32(sigma z) for i < count, z = normal() of the main stream redrawn from the redraw
 * stream while |z| > 2 (Keras' truncated normal). `scratch` holds count f64.
 */
export function fillTruncated32(out: usize, count: i32, sigma: f64, scratch: usize): void {
  // The main stream's draws do not depend on the redraws, so they can all be drawn first. z is never
  // NaN, so |z| > 2 is z < -2 || z > 2.
  fillNormalAt<f64>(STATE, scratch, count, 1);
  let outside: i32 = 0;
  for (let i: i32 = 0; i < count; i++) {
    outside += <i32>(Math.abs(load<f64>(scratch + (<usize>i << 3))) > 2);
  }
  // The redraws come in batches: each element still outside takes at least one more, so a batch of
  // at most that many is used up, and the redraw stream ends where one draw at a time leaves it.
  let drawn: i32 = 0;
  let used: i32 = 0;
  for (let i: i32 = 0; i < count; i++) {
    let z = load<f64>(scratch + (<usize>i << 3));
    if (Math.abs(z) > 2) {
      do {
        if (used == drawn) {
          drawn = min(outside, REDRAWS);
          used = 0;
          fillNormalAt<f64>(STATE + EXTRA, REDRAWS_AT, drawn, 1);
        }
        z = load<f64>(REDRAWS_AT + (<usize>used << 3));
        used++;
      } while (Math.abs(z) > 2);
      outside--;
    }
    store<f32>(out + (<usize>i << 2), <f32>(sigma * z));
  }
}
