/**
 * The per-value loops of the layer statistics (src/engine/stats.ts), compiled by ../build.mjs into
 * a module of its own (SIMD). The statistics are the same bits as the JavaScript loops give:
 *
 * - each float64 sum of a cell adds its terms one by one in the JavaScript order, and WebAssembly
 *   neither fuses nor reorders floating-point operations. SIMD lanes never split a sum: a lane
 *   holds a sum of its own (the sum of v - shift in one, of v^2 in another; in the conv loops the
 *   sum of one position);
 * - counts are integers, and each value's display bin is computed alone, in any order;
 * - min and max are exact in any order but for the sign of a zero: JavaScript's
 *   `if (v < min) min = v` keeps the first of equal values, so a zero extreme is the cell's first
 *   zero, which the cell record keeps for that.
 *
 * Four values at a time take a fast path. A piece holding Inf or NaN, its last few values and,
 * before the shift is known, the first values of a cell go through value-by-value code written as
 * the JavaScript is.
 *
 * The host copies a cell's values to linear memory in pieces (whole rows of P positions for conv
 * layers) and calls these functions once per piece. What a cell accumulates lives in a cell record
 * between pieces, and what a whole call accumulates (key bins, display bins, position counts,
 * target lists) in memory laid out by the host from `heapBase()`.
 *
 * The cell record holds eleven f64: the nine fields of stats.ts's F, in its order (count, finite,
 * shift, sum, squares, raw squares, min, max, zeros), then 1 once the shift (the cell's first finite
 * value) is known, else 0, then the cell's first zero (NaN until there is one).
 */

const R_FINITE: usize = 8;
const R_SHIFT: usize = 16;
const R_SUM: usize = 24;
const R_SQ: usize = 32;
const R_RAW_SQ: usize = 40;
const R_MIN: usize = 48;
const R_MAX: usize = 56;
const R_ZEROS: usize = 64;
const R_SHIFT_SET: usize = 72;
const R_FIRST_ZERO: usize = 80;

/**
 * Bins of the key histogram. The module counts by the top 16 bits of the float32 bits, one
 * operation cheaper per value than by those of the order key (stats.ts's bins), which `compactKeys`
 * maps them to once per call.
 */
const KEY_BINS: i32 = 65536;

/** First free byte after the module's own data; the host lays out its buffers from here. */
export function heapBase(): usize {
  return (__heap_base + 63) & ~(<usize>63);
}

/** The order key of float32 bits: unsigned order of the keys is the order of the values. */
@inline
function orderKey(u: i32): u32 {
  return <u32>(u ^ ((u >> 31) | 0x80000000));
}

/** Adds 1 to the u32 at `at`. */
@inline
function bump(at: usize): void {
  store<u32>(at, load<u32>(at) + 1);
}

/** The index of the cell's first finite value at or after the shift search of this piece: 0 once the shift is known. */
function findShift(values: usize, count: i32, cell: usize): i32 {
  if (load<f64>(cell, R_SHIFT_SET) != 0) return 0;
  for (let i: i32 = 0; i < count; i++) {
    const v = <f64>load<f32>(values + (<usize>i << 2));
    if (v - v == 0) {
      store<f64>(cell, v, R_SHIFT);
      store<f64>(cell, 1, R_SHIFT_SET);
      return i;
    }
  }
  return count;
}

/** The first scan value by value, as stats.ts's `jsMoments`, for values [from, to) at `values`, into the record. */
function momentsOneByOne(values: usize, from: i32, to: i32, cell: usize, keys: usize): void {
  const k = load<f64>(cell, R_SHIFT);
  let finite = load<f64>(cell, R_FINITE);
  let s = load<f64>(cell, R_SUM);
  let sq = load<f64>(cell, R_SQ);
  let raw = load<f64>(cell, R_RAW_SQ);
  let lowest = load<f64>(cell, R_MIN);
  let highest = load<f64>(cell, R_MAX);
  let zeros = load<f64>(cell, R_ZEROS);
  for (let i = from; i < to; i++) {
    const at = values + (<usize>i << 2);
    const v = <f64>load<f32>(at);
    if (v - v != 0) continue; // Inf or NaN
    finite++;
    const d = v - k;
    s += d;
    sq += d * d;
    raw += v * v;
    if (v < lowest) lowest = v;
    if (v > highest) highest = v;
    if (v == 0) {
      zeros++;
      const first = load<f64>(cell, R_FIRST_ZERO);
      if (first != first) store<f64>(cell, v, R_FIRST_ZERO);
    } else bump(keys + (<usize>(load<u32>(at) >> 16) << 2));
  }
  store<f64>(cell, finite, R_FINITE);
  store<f64>(cell, s, R_SUM);
  store<f64>(cell, sq, R_SQ);
  store<f64>(cell, raw, R_RAW_SQ);
  store<f64>(cell, lowest, R_MIN);
  store<f64>(cell, highest, R_MAX);
  store<f64>(cell, zeros, R_ZEROS);
}

/**
 * Vectors that the loops load from here into locals before they start, in 16-byte slots: V8
 * rebuilds a constant vector (or a splat of a parameter) at every use inside a loop, from two or
 * three instructions, but keeps a loaded one in a register.
 */
const VECTORS: usize = memory.data(16 * 16, 16);
const V_EXPONENT: usize = 0;
const V_MAGNITUDE: usize = 16;
const V_SIGN: usize = 32;
const V_ZERO_SLOTS: usize = 48;
const V_KEYS: usize = 64;
const V_SHIFT: usize = 80;
const V_LOW32: usize = 96;
const V_HIGH32: usize = 112;
const V_LOW: usize = 128;
const V_SCALE: usize = 144;
const V_MAGIC: usize = 160;
const V_LAST: usize = 176;
const V_BELOW: usize = 192;
const V_ABOVE: usize = 208;
const V_SLOTS: usize = 224;
const V_TABLE: usize = 240;

/** The vector in slot `at` of VECTORS. */
@inline
function vector(at: usize): v128 {
  return v128.load(VECTORS + at);
}

/** Sets the vectors that do not depend on the call. */
function setConstants(): void {
  v128.store(VECTORS + V_EXPONENT, i32x4.splat(0x7f800000));
  v128.store(VECTORS + V_MAGNITUDE, i32x4.splat(0x7fffffff));
  v128.store(VECTORS + V_SIGN, i32x4.splat(<i32>0x80000000));
  // 2^52 + 2^51: added to an integer-valued double below 2^51 in magnitude, it leaves the integer in the low 32 bits.
  v128.store(VECTORS + V_MAGIC, f64x2.splat(6755399441055744.0));
}

/** True if a value of [from, to) (a multiple of 4 apart) at `values` is Inf or NaN. */
function anyNonFinite(values: usize, from: i32, to: i32): bool {
  const exponent = vector(V_EXPONENT);
  let bad = i32x4.splat(0);
  for (let i = from; i < to; i += 4) {
    const x = v128.load(values + (<usize>i << 2));
    bad = v128.or(bad, i32x4.eq(v128.and(x, exponent), exponent));
  }
  return v128.any_true(bad);
}

/**
 * Adds `count` float32 values at `values` to the cell record at `cell`, and counts the finite
 * nonzero ones in the key histogram at `keys`: 65536 u32 bins by the top 16 bits of the float32
 * bits, then 4 more slots that take the exact zeros (a zero in lane j goes to slot j, so that a run
 * of zeros neither branches nor waits on its own increments). Inf and NaN are skipped.
 */
export function moments(values: usize, count: i32, cell: usize, keys: usize): void {
  setConstants();
  const start = findShift(values, count, cell);
  const end = start + ((count - start) & ~3);
  // The vectors' zeros and extremes first, and whether the fast loop below may run at all.
  let bad = i32x4.splat(0);
  let zeros = i32x4.splat(0);
  let lowest = f32x4.splat(Infinity);
  let highest = f32x4.splat(-Infinity);
  const exponent = vector(V_EXPONENT);
  const magnitude = vector(V_MAGNITUDE);
  for (let i = start; i < end; i += 4) {
    const x = v128.load(values + (<usize>i << 2));
    bad = v128.or(bad, i32x4.eq(v128.and(x, exponent), exponent));
    zeros = i32x4.sub(zeros, i32x4.eq(v128.and(x, magnitude), i32x4.splat(0)));
    lowest = f32x4.pmin(lowest, x);
    highest = f32x4.pmax(highest, x);
  }
  if (v128.any_true(bad)) {
    // Inf or NaN: this piece value by value.
    momentsOneByOne(values, start, count, cell, keys);
    return;
  }
  const zeroCount =
    i32x4.extract_lane(zeros, 0) + i32x4.extract_lane(zeros, 1) + i32x4.extract_lane(zeros, 2) + i32x4.extract_lane(zeros, 3);
  if (zeroCount > 0 && isNaN(load<f64>(cell, R_FIRST_ZERO))) {
    let i = start;
    while ((load<u32>(values + (<usize>i << 2)) & 0x7fffffff) != 0) i++;
    store<f64>(cell, <f64>load<f32>(values + (<usize>i << 2)), R_FIRST_ZERO);
  }

  // Byte addresses of the key bins and of the zero slots, and the shift as [k, 0].
  const base = <i32>keys;
  v128.store(VECTORS + V_KEYS, i32x4.splat(base));
  const zeroSlots = i32x4(KEY_BINS << 2, (KEY_BINS + 1) << 2, (KEY_BINS + 2) << 2, (KEY_BINS + 3) << 2);
  v128.store(VECTORS + V_ZERO_SLOTS, i32x4.add(zeroSlots, i32x4.splat(base)));
  v128.store(VECTORS + V_SHIFT, f64x2.replace_lane(f64x2.splat(0), 0, load<f64>(cell, R_SHIFT)));
  // Lane 0 of each: sum of v - k and of its squares, as in JavaScript; lane 1: sum of v (unused) and of v^2.
  let sums = f64x2.replace_lane(f64x2.splat(0), 0, load<f64>(cell, R_SUM));
  let squares = f64x2.replace_lane(f64x2.splat(load<f64>(cell, R_RAW_SQ)), 0, load<f64>(cell, R_SQ));
  const zeroSlot = vector(V_ZERO_SLOTS);
  const bins = vector(V_KEYS);
  const shift = vector(V_SHIFT);
  for (let i = start; i < end; i += 4) {
    const x = v128.load(values + (<usize>i << 2));
    const zero = i32x4.eq(v128.and(x, magnitude), i32x4.splat(0));
    const slot = v128.bitselect(zeroSlot, i32x4.add(i32x4.shl(i32x4.shr_u(x, 16), 2), bins), zero);
    const x01 = f64x2.promote_low_f32x4(x);
    const x23 = f64x2.promote_low_f32x4(v128.shuffle<f32>(x, x, 2, 3, 2, 3));
    let y = f64x2.sub(v128.shuffle<f64>(x01, x01, 0, 0), shift);
    sums = f64x2.add(sums, y);
    squares = f64x2.add(squares, f64x2.mul(y, y));
    bump(<usize>i32x4.extract_lane(slot, 0));
    y = f64x2.sub(v128.shuffle<f64>(x01, x01, 1, 1), shift);
    sums = f64x2.add(sums, y);
    squares = f64x2.add(squares, f64x2.mul(y, y));
    bump(<usize>i32x4.extract_lane(slot, 1));
    y = f64x2.sub(v128.shuffle<f64>(x23, x23, 0, 0), shift);
    sums = f64x2.add(sums, y);
    squares = f64x2.add(squares, f64x2.mul(y, y));
    bump(<usize>i32x4.extract_lane(slot, 2));
    y = f64x2.sub(v128.shuffle<f64>(x23, x23, 1, 1), shift);
    sums = f64x2.add(sums, y);
    squares = f64x2.add(squares, f64x2.mul(y, y));
    bump(<usize>i32x4.extract_lane(slot, 3));
  }
  store<f64>(cell, load<f64>(cell, R_FINITE) + <f64>(end - start), R_FINITE);
  store<f64>(cell, f64x2.extract_lane(sums, 0), R_SUM);
  store<f64>(cell, f64x2.extract_lane(squares, 0), R_SQ);
  store<f64>(cell, f64x2.extract_lane(squares, 1), R_RAW_SQ);
  store<f64>(cell, load<f64>(cell, R_ZEROS) + <f64>zeroCount, R_ZEROS);
  momentsOneByOne(values, end, count, cell, keys);

  const low = <f64>min(
    min(f32x4.extract_lane(lowest, 0), f32x4.extract_lane(lowest, 1)),
    min(f32x4.extract_lane(lowest, 2), f32x4.extract_lane(lowest, 3)),
  );
  const high = <f64>max(
    max(f32x4.extract_lane(highest, 0), f32x4.extract_lane(highest, 1)),
    max(f32x4.extract_lane(highest, 2), f32x4.extract_lane(highest, 3)),
  );
  let cellMin = load<f64>(cell, R_MIN);
  let cellMax = load<f64>(cell, R_MAX);
  if (low < cellMin) cellMin = low;
  if (high > cellMax) cellMax = high;
  // A zero extreme is the cell's first zero, as in JavaScript.
  if (cellMin == 0) cellMin = load<f64>(cell, R_FIRST_ZERO);
  if (cellMax == 0) cellMax = load<f64>(cell, R_FIRST_ZERO);
  store<f64>(cell, cellMin, R_MIN);
  store<f64>(cell, cellMax, R_MAX);
}

/**
 * The nonzero bins of the key histogram at `raw` (KEY_BINS u32 by the top 16 bits of the float32
 * bits, as `moments` counts), in the order of stats.ts's bins (the top 16 bits of the order key),
 * ascending: their indices as u16 at `bins` and their counts as u32 at `counts`; returns how many.
 * The order key flips every bit of a negative value and the sign bit of a positive one, so order
 * bin k < KEY_BINS / 2 is raw bin KEY_BINS - 1 - k and the positive bins move up by half. Four empty
 * bins are skipped with one test (a layer fills a few thousand of the 65536).
 */
export function compactKeys(raw: usize, bins: usize, counts: usize): i32 {
  const half: i32 = KEY_BINS >> 1;
  let n: i32 = 0;
  for (let k: i32 = 0; k < half; k += 4) {
    if (!v128.any_true(v128.load(raw + (<usize>(KEY_BINS - 4 - k) << 2)))) continue;
    for (let j: i32 = 0; j < 4; j++) {
      const c = load<u32>(raw + (<usize>(KEY_BINS - 1 - k - j) << 2));
      if (c == 0) continue;
      store<u16>(bins + (<usize>n << 1), <u16>(k + j));
      store<u32>(counts + (<usize>n << 2), c);
      n++;
    }
  }
  for (let b: i32 = 0; b < half; b += 4) {
    const at = raw + (<usize>b << 2);
    if (!v128.any_true(v128.load(at))) continue;
    for (let j: i32 = 0; j < 4; j++) {
      const c = load<u32>(at + (<usize>j << 2));
      if (c == 0) continue;
      store<u16>(bins + (<usize>n << 1), <u16>(half + b + j));
      store<u32>(counts + (<usize>n << 2), c);
      n++;
    }
  }
  return n;
}

/**
 * Conv layers: adds each finite value of `count` (whole rows of P) at `values` to its position's
 * sum in `sums` (P f64) and counts it in `counts` (P f64). Two positions per vector; an Inf or NaN
 * adds +0 and counts 0, which leaves a sum as it was (a sum that starts at +0 is never -0).
 */
export function positionSums(values: usize, count: i32, P: i32, sums: usize, counts: usize): void {
  const zero = f64x2.splat(0);
  const one = f64x2.splat(1);
  for (let row: i32 = 0; row < count; row += P) {
    const base = values + (<usize>row << 2);
    let p: i32 = 0;
    for (; p + 2 <= P; p += 2) {
      const v = f64x2.promote_low_f32x4(v128.load64_zero(base + (<usize>p << 2)));
      const finite = f64x2.eq(f64x2.sub(v, v), zero);
      const at = <usize>p << 3;
      v128.store(sums + at, f64x2.add(v128.load(sums + at), v128.and(v, finite)));
      v128.store(counts + at, f64x2.add(v128.load(counts + at), v128.and(one, finite)));
    }
    for (; p < P; p++) {
      const v = <f64>load<f32>(base + (<usize>p << 2));
      if (v - v != 0) continue;
      const at = <usize>p << 3;
      store<f64>(sums + at, load<f64>(sums + at) + v);
      store<f64>(counts + at, load<f64>(counts + at) + 1);
    }
  }
}

/** Display histograms kept side by side, one per lane, so that a run of equal values does not wait on its own increments. */
const COPIES: i32 = 4;

/**
 * Lists or counts the finite nonzero values of [from, to) at `values` whose top key bits are a
 * target bin. `targets` holds `count` entries of 16 bytes: the bin, the address of its buffer, its
 * capacity (-1: counts of the low 16 key bits, 65536 u32) and how many values it has met; listed
 * values beyond the capacity are counted but not stored (as a typed array drops them).
 */
function listTargets(values: usize, from: i32, to: i32, targets: usize, count: i32): void {
  for (let i = from; i < to; i++) {
    const at = values + (<usize>i << 2);
    const value = load<f32>(at);
    const v = <f64>value;
    if (v - v != 0 || v == 0) continue;
    const key = orderKey(load<i32>(at));
    for (let t: i32 = 0; t < count; t++) {
      const entry = targets + (<usize>t << 4);
      if (load<u32>(entry) != key >> 16) continue;
      const buffer = <usize>load<u32>(entry, 4);
      const capacity = load<i32>(entry, 8);
      const met = load<i32>(entry, 12);
      if (capacity < 0) bump(buffer + (<usize>(key & 0xffff) << 2));
      else if (met < capacity) store<f32>(buffer + (<usize>met << 2), value);
      store<i32>(entry, met + 1, 12);
      break;
    }
  }
}

/** The display histogram value by value, as stats.ts's `jsScans.detail`, for values [from, to), into copy 0. */
function binOneByOne(values: usize, from: i32, to: i32, lo: f64, hi: f64, scale: f64, bins: i32, histogram: usize): void {
  const last = bins - 1;
  for (let i = from; i < to; i++) {
    const v = <f64>load<f32>(values + (<usize>i << 2));
    if (v - v != 0) continue;
    let slot: i32;
    if (v < lo) slot = bins;
    else if (v > hi) slot = bins + 1;
    else {
      const b = Math.floor((v - lo) * scale);
      slot = b < <f64>last ? <i32>b : last;
    }
    bump(histogram + (<usize>slot << 2));
  }
}

/** The least float32 at or above x: for float32 v, v < x exactly when v < ceil32(x). */
function ceil32(x: f64): f32 {
  const a = <f32>x;
  if (<f64>a >= x || isNaN(x)) return a;
  const u = reinterpret<i32>(a);
  return a == 0 ? reinterpret<f32>(1) : reinterpret<f32>(a > 0 ? u + 1 : u - 1);
}

/** The greatest float32 at or below x: for float32 v, v > x exactly when v > floor32(x). */
function floor32(x: f64): f32 {
  const a = <f32>x;
  if (<f64>a <= x || isNaN(x)) return a;
  const u = reinterpret<i32>(a);
  return a == 0 ? reinterpret<f32>(0x80000001) : reinterpret<f32>(a > 0 ? u - 1 : u + 1);
}

/**
 * Second scan of `count` values at `values`. Each finite value is counted in the display histogram
 * at `histogram`: COPIES copies of bins + 2 u32 (bins over [lo, hi] with scale = bins / (hi - lo),
 * the last bin closed, then below lo and above hi). A finite nonzero value whose top key bits are
 * a target bin goes to its target in `targets` (`targetCount` entries, see `listTargets`);
 * `targetOf` (65536 u8, by the top 16 bits of the float32 bits) holds 255 where there is none.
 */
export function detail(
  values: usize,
  count: i32,
  lo: f64,
  hi: f64,
  scale: f64,
  bins: i32,
  histogram: usize,
  targetOf: usize,
  targets: usize,
  targetCount: i32,
): void {
  setConstants();
  const end = count & ~3;
  if (anyNonFinite(values, 0, end)) {
    binOneByOne(values, 0, count, lo, hi, scale, bins, histogram);
    listTargets(values, 0, count, targets, targetCount);
    return;
  }
  v128.store(VECTORS + V_LOW32, f32x4.splat(ceil32(lo)));
  v128.store(VECTORS + V_HIGH32, f32x4.splat(floor32(hi)));
  v128.store(VECTORS + V_LOW, f64x2.splat(lo));
  v128.store(VECTORS + V_SCALE, f64x2.splat(scale));
  v128.store(VECTORS + V_LAST, i32x4.splat(bins - 1));
  v128.store(VECTORS + V_BELOW, i32x4.splat(bins));
  v128.store(VECTORS + V_ABOVE, i32x4.splat(bins + 1));
  // Byte addresses of the COPIES (4) copies: lane j counts in copy j.
  v128.store(VECTORS + V_SLOTS, i32x4.add(i32x4.mul(i32x4(0, 4, 8, 12), i32x4.splat(bins + 2)), i32x4.splat(<i32>histogram)));
  v128.store(VECTORS + V_TABLE, i32x4.splat(<i32>targetOf));
  const low = vector(V_LOW);
  const factor = vector(V_SCALE);
  const magic = vector(V_MAGIC);
  const last = vector(V_LAST);
  const above = vector(V_ABOVE);
  const below = vector(V_BELOW);
  const highF32 = vector(V_HIGH32);
  const lowF32 = vector(V_LOW32);
  const slots = vector(V_SLOTS);
  const table = vector(V_TABLE);
  for (let i: i32 = 0; i < end; i += 4) {
    const x = v128.load(values + (<usize>i << 2));
    const x01 = f64x2.promote_low_f32x4(x);
    const x23 = f64x2.promote_low_f32x4(v128.shuffle<f32>(x, x, 2, 3, 2, 3));
    // As `Math.floor((v - lo) * scale)`, clamped to the last bin; below lo or above hi it is replaced.
    const b01 = f64x2.add(f64x2.floor(f64x2.mul(f64x2.sub(x01, low), factor)), magic);
    const b23 = f64x2.add(f64x2.floor(f64x2.mul(f64x2.sub(x23, low), factor)), magic);
    let b = i32x4.min_s(v128.shuffle<i32>(b01, b23, 0, 2, 4, 6), last);
    b = v128.bitselect(above, b, f32x4.gt(x, highF32));
    b = v128.bitselect(below, b, f32x4.lt(x, lowF32));
    const slot = i32x4.add(i32x4.shl(b, 2), slots);
    bump(<usize>i32x4.extract_lane(slot, 0));
    bump(<usize>i32x4.extract_lane(slot, 1));
    bump(<usize>i32x4.extract_lane(slot, 2));
    bump(<usize>i32x4.extract_lane(slot, 3));
    // Zeros may look up a target bin of denormals here; listTargets skips them.
    const top = i32x4.add(i32x4.shr_u(x, 16), table);
    const t =
      load<u8>(<usize>i32x4.extract_lane(top, 0)) &
      load<u8>(<usize>i32x4.extract_lane(top, 1)) &
      load<u8>(<usize>i32x4.extract_lane(top, 2)) &
      load<u8>(<usize>i32x4.extract_lane(top, 3));
    if (t != 255) listTargets(values, i, i + 4, targets, targetCount);
  }
  binOneByOne(values, end, count, lo, hi, scale, bins, histogram);
  listTargets(values, end, count, targets, targetCount);
}

/**
 * Conv layers: adds (v - means[p])^2 of each finite value of `count` (whole rows of P) at `values`
 * to its position's `m2` (P f64), two positions per vector (an Inf or NaN adds +0).
 */
export function positionM2(values: usize, count: i32, P: i32, means: usize, m2: usize): void {
  const zero = f64x2.splat(0);
  for (let row: i32 = 0; row < count; row += P) {
    const base = values + (<usize>row << 2);
    let p: i32 = 0;
    for (; p + 2 <= P; p += 2) {
      const v = f64x2.promote_low_f32x4(v128.load64_zero(base + (<usize>p << 2)));
      const finite = f64x2.eq(f64x2.sub(v, v), zero);
      const at = <usize>p << 3;
      const d = f64x2.sub(v, v128.load(means + at));
      v128.store(m2 + at, f64x2.add(v128.load(m2 + at), v128.and(f64x2.mul(d, d), finite)));
    }
    for (; p < P; p++) {
      const v = <f64>load<f32>(base + (<usize>p << 2));
      if (v - v != 0) continue;
      const at = <usize>p << 3;
      const d = v - load<f64>(means + at);
      store<f64>(m2 + at, load<f64>(m2 + at) + d * d);
    }
  }
}
