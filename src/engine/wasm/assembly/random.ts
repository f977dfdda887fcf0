/**
 * Bulk draws of the engine's seeded streams (src/engine/rng.ts), compiled by ../build.mjs into a
 * module of its own (scalar, no SIMD). The numbers are bit for bit those of `Stream.uniform` and
 * `Stream.normal`: Alea's step is exact in doubles, the polar method and fdlibm's log use only
 * correctly rounded +, -, *, /, sqrt and bit manipulation, and WebAssembly neither fuses nor
 * reorders floating-point operations.
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

// Alea's step, rearranged. seedrandom computes t = 2091639 s0 + c 2^-32, c' = t | 0 (= floor(t),
// t >= 0), s2' = t - c'. From seeding on, s0, s1, s2 are multiples of 2^-32 in [0, 1) and c is an
// integer below 2091639, so every value involved is a multiple of 2^-32 below 2^21, with at most 53
// significant bits: each operation is exact, in seedrandom and here. The loops below compute the
// same t as floor(p) + r, with p = 2091639 s0 and r = (p - floor(p)) + c 2^-32, both exact: then
// c' = floor(p) and s2' = r, or, in the rare case r >= 1, c' = floor(p) + 1 and s2' = r - 1. The old
// carry now feeds only r and a branch that is almost never taken, not the next floor, so the serial
// path from step to step runs through s0 three steps back instead of through c at every step. The
// carry is kept as c 2^-32 inside the loops.

/** Candidate pairs of the polar method per block. */
const BLOCK: i32 = 1024;
// The work area, from the heap base: Alea's outputs (the three before the block, then one per
// step), the carry after each step, and the accepted pairs (u, v, s and the pair's index).
const STEPS_AT: usize = (__heap_base + 63) & ~(<usize>63);
const CARRIES_AT: usize = STEPS_AT + <usize>(2 * BLOCK + 8) * 8;
const U_AT: usize = CARRIES_AT + <usize>(2 * BLOCK) * 8;
const V_AT: usize = U_AT + <usize>BLOCK * 8;
const S_AT: usize = V_AT + <usize>BLOCK * 8;
const PAIR_AT: usize = S_AT + <usize>BLOCK * 8;
const OUTPUT_AT: usize = (PAIR_AT + <usize>BLOCK * 4 + 63) & ~(<usize>63);

/**
 * Writes count values scale * normal() of the stream at `state` to out (f32 or f64), exactly as
 * `count` calls of `Stream.normal` would, and leaves the state where those calls would leave it.
 *
 * The candidates of a block are drawn first, the accepted ones gathered without a branch, and
 * only then the logs taken, so neither Alea's serial steps nor the 21% of rejections stall the
 * logs. The state is then set back to just after the last pair used.
 */
@inline
function fillNormalAt<T>(state: usize, out: usize, count: i32, scale: f64): void {
  let carry = load<f64>(state, 0) * TWO_M32;
  let s0 = load<f64>(state, 8);
  let s1 = load<f64>(state, 16);
  let s2 = load<f64>(state, 24);
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
    const steps = 2 * pairs;
    store<f64>(STEPS_AT, s0, 0);
    store<f64>(STEPS_AT, s1, 8);
    store<f64>(STEPS_AT, s2, 16);
    for (let n: i32 = 0; n < steps; n++) {
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
      store<f64>(STEPS_AT + (<usize>n << 3), s2, 24);
      store<f64>(CARRIES_AT + (<usize>n << 3), carry);
    }
    let accepted: i32 = 0;
    for (let j: i32 = 0; j < pairs; j++) {
      const u = 2 * load<f64>(STEPS_AT + (<usize>j << 4), 24) - 1;
      const v = 2 * load<f64>(STEPS_AT + (<usize>j << 4), 32) - 1;
      const s = u * u + v * v;
      const at = <usize>accepted << 3;
      store<f64>(U_AT + at, u);
      store<f64>(V_AT + at, v);
      store<f64>(S_AT + at, s);
      store<i32>(PAIR_AT + (<usize>accepted << 2), j);
      accepted += <i32>(s < 1) & <i32>(s != 0);
    }
    for (let a: i32 = 0; a < accepted; a++) {
      const at = <usize>a << 3;
      const s = load<f64>(S_AT + at);
      const f = Math.sqrt((-2 * log(s)) / s);
      store<T>(out + (<usize>i << alignof<T>()), <T>(scale * (load<f64>(U_AT + at) * f)));
      i++;
      const second = load<f64>(V_AT + at) * f;
      if (i < count) {
        store<T>(out + (<usize>i << alignof<T>()), <T>(scale * second));
        i++;
      } else {
        spare = second;
        hasSpare = true;
      }
      if (i == count) {
        // Back to the state after this pair's two steps.
        const used = <usize>(2 * load<i32>(PAIR_AT + (<usize>a << 2)) + 2);
        s0 = load<f64>(STEPS_AT + (used << 3));
        s1 = load<f64>(STEPS_AT + (used << 3), 8);
        s2 = load<f64>(STEPS_AT + (used << 3), 16);
        carry = load<f64>(CARRIES_AT + ((used - 1) << 3));
        break;
      }
    }
  }
  store<f64>(state, carry * TWO_32, 0);
  store<f64>(state, s0, 8);
  store<f64>(state, s1, 16);
  store<f64>(state, s2, 24);
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

/** Room for one redrawn normal. */
const ONE: usize = memory.data(8, 8);

/** One normal of the redraw stream. */
function redraw(): f64 {
  fillNormalAt<f64>(STATE + EXTRA, ONE, 1, 1);
  return load<f64>(ONE);
}

/**
 * out[i] = f32(sigma z) for i < count, z = normal() of the main stream redrawn from the redraw
 * stream while |z| > 2 (Keras' truncated normal). `scratch` holds count f64.
 */
export function fillTruncated32(out: usize, count: i32, sigma: f64, scratch: usize): void {
  // The main stream's draws do not depend on the redraws, so they can all be drawn first.
  fillNormalAt<f64>(STATE, scratch, count, 1);
  for (let i: i32 = 0; i < count; i++) {
    let z = load<f64>(scratch + (<usize>i << 3));
    while (z < -2 || z > 2) z = redraw();
    store<f32>(out + (<usize>i << 2), <f32>(sigma * z));
  }
}
