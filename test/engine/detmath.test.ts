import { describe, it, expect } from 'vitest';
import { exp, expm1, log, log1p, tanh, erf, erfc } from '../../src/engine/detmath';

// ---------------------------------------------------------------------------------------------
// Bits of doubles.

const f64 = new Float64Array(1);
const i64 = new BigInt64Array(f64.buffer);
const SIGN = 1n << 63n;
const MAGNITUDE = SIGN - 1n;
const MANT = (1n << 52n) - 1n;

function bitsOf(x: number): bigint {
  f64[0] = x;
  return i64[0];
}

function fromBits(b: bigint): number {
  i64[0] = BigInt.asIntN(64, b);
  return f64[0];
}

/** Position of x on the number line of doubles: consecutive doubles differ by 1, and -0 = +0 = 0. */
function ordinal(x: number): bigint {
  const b = bitsOf(x);
  return b >= 0n ? b : -(b & MAGNITUDE);
}

function fromOrdinal(o: bigint): number {
  return o >= 0n ? fromBits(o) : fromBits(-o | SIGN);
}

/** The double n steps above x (below for negative n). */
function step(x: number, n: number): number {
  return fromOrdinal(ordinal(x) + BigInt(n));
}

/** Number of doubles between a and b; 0 for two NaNs, Infinity for NaN against a number. */
function ulpDistance(a: number, b: number): number {
  if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) && Number.isNaN(b) ? 0 : Infinity;
  const d = ordinal(a) - ordinal(b);
  return Number(d < 0n ? -d : d);
}

// ---------------------------------------------------------------------------------------------
// Deterministic arguments, built from random bits (no Math.* in the generator, so every engine
// tests the same arguments).

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

interface Gen {
  /** Uniform in [a, b). */
  uniform(a: number, b: number): number;
  /** |x| with a biased exponent field uniform in [e0, e1] and a random mantissa; e0 = 0 gives subnormals. */
  magnitude(e0: number, e1: number): number;
  /** Within n ulps of x. */
  near(x: number, n: number): number;
  sign(): number;
}

function generator(seed: number): Gen {
  const next = mulberry32(seed);
  const unit = () => (next() * 2 ** 21 + (next() >>> 11)) / 2 ** 53;
  return {
    uniform: (a, b) => a + (b - a) * unit(),
    magnitude: (e0, e1) => {
      const e = e0 + (next() % (e1 - e0 + 1));
      const m = (BigInt(next() & 0xfffff) << 32n) | BigInt(next());
      return fromBits((BigInt(e) << 52n) | m);
    },
    near: (x, n) => step(x, Math.floor(unit() * (2 * n + 1)) - n),
    sign: () => (next() & 1 ? -1 : 1),
  };
}

/** A named region of arguments, and how to draw one. */
interface Region {
  name: string;
  draw: (g: Gen) => number;
}

function sample(regions: Region[], perRegion: number, seed: number): { region: string; x: number }[] {
  const g = generator(seed);
  const out: { region: string; x: number }[] = [];
  for (const r of regions) for (let i = 0; i < perRegion; i++) out.push({ region: r.name, x: r.draw(g) });
  return out;
}

// Biased exponent fields: 1023 is [1, 2); 1023 - 28 is [2^-28, 2^-27).
const BIAS = 1023;
const O_THRESHOLD = 7.09782712893383973096e2; // largest x with finite exp(x)
const U_THRESHOLD = -7.45133219101941108420e2; // smallest x with nonzero exp(x)
const LN2 = 0.6931471805599453;

const EXP_REGIONS: Region[] = [
  { name: 'tiny and subnormal', draw: (g) => g.sign() * g.magnitude(0, BIAS - 29) },
  { name: 'near 0', draw: (g) => g.sign() * g.magnitude(BIAS - 28, BIAS - 2) },
  { name: 'primary range', draw: (g) => g.uniform(-1.5 * LN2, 1.5 * LN2) },
  { name: 'moderate', draw: (g) => g.uniform(-40, 40) },
  { name: 'whole range', draw: (g) => g.uniform(U_THRESHOLD, O_THRESHOLD) },
  { name: 'overflow edge', draw: (g) => g.near(O_THRESHOLD, 1e6) },
  { name: 'underflow edge', draw: (g) => g.near(U_THRESHOLD, 1e6) },
  { name: 'subnormal results', draw: (g) => g.uniform(U_THRESHOLD, -708.3964185322641) },
];

const EXPM1_REGIONS: Region[] = [
  { name: 'tiny and subnormal', draw: (g) => g.sign() * g.magnitude(0, BIAS - 55) },
  { name: 'small', draw: (g) => g.sign() * g.magnitude(BIAS - 54, BIAS - 2) },
  { name: 'primary range', draw: (g) => g.uniform(-1.5 * LN2, 1.5 * LN2) },
  { name: 'moderate', draw: (g) => g.uniform(-40, 40) },
  { name: 'near -56 ln2', draw: (g) => g.near(-56 * LN2, 1e9) },
  { name: 'near 56 ln2 and 20 ln2', draw: (g) => (g.sign() > 0 ? g.uniform(37, 41) : g.uniform(12, 16)) },
  { name: 'whole range', draw: (g) => g.uniform(-800, O_THRESHOLD) },
  { name: 'overflow edge', draw: (g) => g.near(O_THRESHOLD, 1e6) },
];

const LOG_REGIONS: Region[] = [
  { name: 'any positive double', draw: (g) => g.magnitude(0, 2046) },
  { name: 'subnormal', draw: (g) => g.magnitude(0, 0) },
  { name: 'near 1 (|f| < 2^-20)', draw: (g) => g.near(1, 2 ** 32) },
  { name: 'near 1 (ulps)', draw: (g) => g.near(1, 1000) },
  { name: '[0.5, 2)', draw: (g) => g.uniform(0.5, 2) },
  { name: 'near sqrt(2)/2 and sqrt(2)', draw: (g) => g.near(g.sign() > 0 ? Math.SQRT2 : Math.SQRT1_2, 1e12) },
  { name: 'moderate', draw: (g) => g.uniform(0, 1000) },
  { name: 'huge', draw: (g) => g.magnitude(2000, 2046) },
];

const LOG1P_REGIONS: Region[] = [
  { name: 'tiny and subnormal', draw: (g) => g.sign() * g.magnitude(0, BIAS - 55) },
  { name: 'small (< 2^-29)', draw: (g) => g.sign() * g.magnitude(BIAS - 54, BIAS - 30) },
  { name: 'near 0', draw: (g) => g.sign() * g.magnitude(BIAS - 29, BIAS - 3) },
  { name: '[-0.3, 0.42]', draw: (g) => g.uniform(-0.3, 0.42) },
  { name: '(-1, 0)', draw: (g) => -g.uniform(0, 1) },
  { name: 'near -1', draw: (g) => -1 + g.magnitude(BIAS - 53, BIAS - 1) },
  { name: 'moderate', draw: (g) => g.uniform(0, 1000) },
  { name: 'large (2^30 .. 2^60, across 2^53)', draw: (g) => g.magnitude(BIAS + 30, BIAS + 60) },
  { name: 'huge', draw: (g) => g.magnitude(BIAS + 60, 2046) },
];

const TANH_REGIONS: Region[] = [
  { name: 'tiny and subnormal', draw: (g) => g.sign() * g.magnitude(0, BIAS - 29) },
  { name: 'small', draw: (g) => g.sign() * g.magnitude(BIAS - 28, BIAS - 1) },
  { name: '(-1, 1)', draw: (g) => g.uniform(-1, 1) },
  { name: '1 <= |x| < 22', draw: (g) => g.sign() * g.uniform(1, 22) },
  { name: 'near +-1', draw: (g) => g.sign() * g.near(1, 1e9) },
  { name: 'near +-22 and beyond', draw: (g) => g.sign() * g.uniform(19, 40) },
  { name: 'large', draw: (g) => g.sign() * g.magnitude(BIAS + 5, 2046) },
];

const ERF_REGIONS: Region[] = [
  { name: 'tiny and subnormal', draw: (g) => g.sign() * g.magnitude(0, BIAS - 29) },
  { name: 'small', draw: (g) => g.sign() * g.magnitude(BIAS - 28, BIAS - 2) },
  { name: '|x| < 0.84375', draw: (g) => g.uniform(-0.84375, 0.84375) },
  { name: '0.84375 <= |x| < 1.25', draw: (g) => g.sign() * g.uniform(0.84375, 1.25) },
  { name: '1.25 <= |x| < 1/0.35', draw: (g) => g.sign() * g.uniform(1.25, 1 / 0.35) },
  { name: '1/0.35 <= |x| < 6', draw: (g) => g.sign() * g.uniform(1 / 0.35, 6) },
  // erf switches formula at high word 0x4006DB6E and erfc at 0x4006DB6D; each word spans 2^32 ulps.
  { name: 'around 1/0.35', draw: (g) => g.sign() * g.near(fromBits(0x4006db6d_00000000n), 2 ** 34) },
];

const ERFC_REGIONS: Region[] = [
  ...ERF_REGIONS,
  { name: '6 <= x < 15', draw: (g) => g.uniform(6, 15) },
  { name: '15 <= x < 26.5', draw: (g) => g.uniform(15, 26.5) },
  { name: 'subnormal results, 26.5 <= x < 28', draw: (g) => g.uniform(26.5, 28) },
  { name: 'x <= -6', draw: (g) => -g.uniform(6, 30) },
];

// ---------------------------------------------------------------------------------------------
// An independent reference: fixed-point arithmetic on BigInt with P fractional bits. Every double
// is exactly representable (P > 1074), and the absolute error of each value is a few units of 2^-P,
// far below half an ulp of any result down to the smallest subnormal.

const P = 1280;
const PB = BigInt(P);
const ONE = 1n << PB;

/** x exactly, scaled by 2^P. */
function toFixed(x: number): bigint {
  const b = bitsOf(x);
  const e = Number((b >> 52n) & 0x7ffn);
  const m = e === 0 ? b & MANT : (b & MANT) | (1n << 52n);
  const q = (e === 0 ? -1074 : e - 1075) + P;
  const v = m << BigInt(q);
  return b < 0n ? -v : v;
}

// Both truncate toward zero (>> would floor, and a negative series term would never reach 0).
const mulF = (a: bigint, b: bigint) => (a * b) / ONE;
const divF = (a: bigint, b: bigint) => (a << PB) / b;
const abs = (a: bigint) => (a < 0n ? -a : a);

function bitLength(a: bigint): number {
  return a.toString(2).length;
}

/** Error of the double d against the exact value v (scaled by 2^P), in ulps of d. */
function ulpError(d: number, v: bigint): number {
  const e = Number((bitsOf(d) >> 52n) & 0x7ffn);
  const q = (e === 0 ? -1074 : e - 1075) + P;
  const diff = abs(toFixed(d) - v);
  return Number((diff << 32n) >> BigInt(q)) / 2 ** 32;
}

/** v (scaled by 2^P) rounded to the nearest double, ties to even. */
function nearestDouble(v: bigint): number {
  if (v === 0n) return 0;
  const a = abs(v);
  const lead = bitLength(a) - 1 - P; // exponent of the leading bit
  const q = Math.max(lead - 52, -1074); // exponent of the last kept bit
  const shift = BigInt(q + P);
  let m = a >> shift;
  const rem = a - (m << shift);
  const half = 1n << (shift - 1n);
  if (rem > half || (rem === half && (m & 1n) === 1n)) m += 1n;
  // Biased exponent q + 1075 with the implicit bit folded in; also right for subnormals and carries.
  const bits = (BigInt(q + 1074) << 52n) + m;
  return v < 0n ? -fromBits(bits) : fromBits(bits);
}

function atanhInverse(m: bigint): bigint {
  // atanh(1/m) = sum 1/((2n+1) m^(2n+1))
  let term = ONE / m;
  let sum = 0n;
  for (let n = 1n; term !== 0n; n += 2n) {
    sum += term / n;
    term /= m * m;
  }
  return sum;
}

function atanInverse(m: bigint): bigint {
  let term = ONE / m;
  let sum = 0n;
  let sign = 1n;
  for (let n = 1n; term !== 0n; n += 2n) {
    sum += (sign * term) / n;
    term /= m * m;
    sign = -sign;
  }
  return sum;
}

function isqrt(n: bigint): bigint {
  let x = 1n << BigInt((bitLength(n) >> 1) + 1);
  for (;;) {
    const y = (x + n / x) >> 1n;
    if (y >= x) return x;
    x = y;
  }
}

const LN2_F = 2n * atanhInverse(3n);
const PI_F = 16n * atanInverse(5n) - 4n * atanInverse(239n); // Machin
const SQRT_PI_F = isqrt(PI_F << PB);
const TWO_OVER_SQRT_PI_F = divF(2n * ONE, SQRT_PI_F);

function refExp(xf: bigint): bigint {
  const approx = Number(xf >> (PB - 64n)) / 2 ** 64;
  const k = Math.round(approx / LN2);
  const r = xf - BigInt(k) * LN2_F; // |r| <= 0.35
  let term = ONE;
  let sum = ONE;
  for (let n = 1n; term !== 0n; n++) {
    term = mulF(term, r) / n;
    sum += term;
  }
  return k >= 0 ? sum << BigInt(k) : sum >> BigInt(-k);
}

function refExpm1(xf: bigint): bigint {
  if (abs(xf) >= ONE / 2n) return refExp(xf) - ONE;
  // Direct series, so that tiny x keep their relative accuracy.
  let term = xf;
  let sum = xf;
  for (let n = 2n; term !== 0n; n++) {
    term = mulF(term, xf) / n;
    sum += term;
  }
  return sum;
}

function refLog(yf: bigint): bigint {
  // y = 2^k * m with m in [0.75, 1.5); log(m) = 2 atanh((m - 1)/(m + 1)).
  let k = bitLength(yf) - 1 - P;
  let m = k >= 0 ? yf >> BigInt(k) : yf << BigInt(-k);
  if (2n * m > 3n * ONE) {
    k += 1;
    m >>= 1n;
  }
  const s = divF(m - ONE, m + ONE);
  const s2 = mulF(s, s);
  let term = s;
  let sum = 0n;
  for (let n = 1n; term !== 0n; n += 2n) {
    sum += term / n;
    term = mulF(term, s2);
  }
  return 2n * sum + BigInt(k) * LN2_F;
}

function refTanh(xf: bigint): bigint {
  // Beyond 400, 1 - |tanh x| < 2^-1150: +-1 is exact to far below an ulp, and e^(2x) would need
  // an astronomically long BigInt.
  if (abs(xf) > 400n * ONE) return xf > 0n ? ONE : -ONE;
  const t = refExpm1(2n * xf); // tanh x = expm1(2x) / (expm1(2x) + 2)
  return divF(t, t + 2n * ONE);
}

/** erf(x) by its Taylor series, for |x| <= 6 (the alternating terms peak near 2^50 there). */
function refErfTaylor(xf: bigint): bigint {
  const x2 = mulF(xf, xf);
  let term = xf; // x^(2n+1) / n!
  let sum = 0n;
  for (let n = 0n; term !== 0n; n++) {
    sum += (n & 1n ? -term : term) / (2n * n + 1n);
    term = mulF(term, x2) / (n + 1n);
  }
  return mulF(sum, TWO_OVER_SQRT_PI_F);
}

/** erfc(x) for x >= 3 by Laplace's continued fraction e^(-x^2)/sqrt(pi) / (x + (1/2)/(x + (2/2)/(x + ...))). */
function refErfcContinuedFraction(xf: bigint): bigint {
  const x = Number(xf >> (PB - 32n)) / 2 ** 32;
  const terms = Math.ceil(40000 / (x * x)) + 200; // measured: relative error below 2^-800 for x >= 3
  let k = xf;
  for (let j = terms; j >= 1; j--) k = xf + divF(BigInt(j) << (PB - 1n), k);
  return divF(divF(refExp(-mulF(xf, xf)), k), SQRT_PI_F);
}

function refErf(x: number): bigint {
  const xf = toFixed(x);
  if (Math.abs(x) <= 6) return refErfTaylor(xf);
  const tail = refErfcContinuedFraction(abs(xf));
  return x > 0 ? ONE - tail : tail - ONE;
}

function refErfc(x: number): bigint {
  if (x >= 3) return refErfcContinuedFraction(toFixed(x));
  if (x <= -6) return 2n * ONE - refErfcContinuedFraction(toFixed(-x));
  return ONE - refErfTaylor(toFixed(x));
}

// ---------------------------------------------------------------------------------------------
// Tests

type Fn = (x: number) => number;

interface Case {
  name: string;
  ours: Fn;
  math: Fn;
  exact: (x: number) => bigint;
  regions: Region[];
  /** Bound on the error against the exact value, in ulps: fdlibm's documented one, or above the measured maximum. */
  maxUlpExact: number;
}

// fdlibm documents "always less than 1 ulp" for exp, expm1, log and log1p (measured maxima over
// 12000 arguments each: 0.77, 0.74, 0.79, 0.72). tanh adds a division and a subtraction to expm1's
// error: 1.93 ulp measured over 21000 arguments, worst for |x| < 1, where -t/(t + 2) is used.
const CASES: Case[] = [
  { name: 'exp', ours: exp, math: Math.exp, exact: (x) => refExp(toFixed(x)), regions: EXP_REGIONS, maxUlpExact: 1 },
  { name: 'expm1', ours: expm1, math: Math.expm1, exact: (x) => refExpm1(toFixed(x)), regions: EXPM1_REGIONS, maxUlpExact: 1 },
  { name: 'log', ours: log, math: Math.log, exact: (x) => refLog(toFixed(x)), regions: LOG_REGIONS, maxUlpExact: 1 },
  { name: 'log1p', ours: log1p, math: Math.log1p, exact: (x) => refLog(ONE + toFixed(x)), regions: LOG1P_REGIONS, maxUlpExact: 1 },
  { name: 'tanh', ours: tanh, math: Math.tanh, exact: (x) => refTanh(toFixed(x)), regions: TANH_REGIONS, maxUlpExact: 2.5 },
];

describe('detmath against V8 Math.*', () => {
  // V8's Math.exp/expm1/log/log1p/tanh in Node 20 (V8 11.3) are ports of the same fdlibm code, so
  // every argument here came out bit-identical when this was written (100.000%). The bar is 99%
  // because current V8 source takes log/log1p from llvm-libc and tanh from the C library, which
  // may legitimately differ from fdlibm in the last bit now and then; a wrong coefficient or
  // branch breaks far more than 1% (and the 1-ulp bound). Exact bit stability is pinned below.
  for (const c of CASES) {
    it(`${c.name}: within 1 ulp of Math.${c.name}, and almost always bit-identical`, () => {
      const args = sample(c.regions, 5000, 0x5eed + c.name.length);
      let identical = 0;
      let worst = { x: NaN, ulps: 0 };
      for (const { x } of args) {
        const u = ulpDistance(c.ours(x), c.math(x));
        if (u === 0) identical++;
        if (u > worst.ulps) worst = { x, ulps: u };
      }
      expect(worst.ulps, `worst at x = ${worst.x}`).toBeLessThanOrEqual(1);
      expect(identical / args.length).toBeGreaterThanOrEqual(0.99);
    });
  }

  it('does not call the engine Math functions it replaces', () => {
    const names = ['exp', 'expm1', 'log', 'log1p', 'tanh', 'pow', 'sinh', 'cosh', 'log2', 'log10', 'cbrt', 'atanh'] as const;
    const fns: Fn[] = [exp, expm1, log, log1p, tanh, erf, erfc];
    const args = sample(ERFC_REGIONS, 50, 7).map((a) => a.x);
    const before = fns.map((f) => args.map(f));
    const m = Math as unknown as Record<string, Fn>;
    const saved = names.map((n) => m[n]);
    let during: number[][];
    try {
      for (const n of names) m[n] = () => NaN;
      during = fns.map((f) => args.map(f));
    } finally {
      names.forEach((n, i) => (m[n] = saved[i]));
    }
    expect(during).toEqual(before);
  });
});

describe('detmath against exact values', () => {
  for (const c of CASES) {
    it(`${c.name}: error below ${c.maxUlpExact} ulp of the exact value`, () => {
      const args = sample(c.regions, 150, 0xacc + c.name.length);
      for (const { region, x } of args) {
        const y = c.ours(x);
        if (!Number.isFinite(y) || !Number.isFinite(x)) continue;
        expect(ulpError(y, c.exact(x)), `${c.name}(${x}) in ${region}`).toBeLessThan(c.maxUlpExact);
      }
    });
  }

  it('the reference itself: rounds to the constants every engine agrees on', () => {
    expect(nearestDouble(LN2_F)).toBe(Math.LN2);
    expect(nearestDouble(PI_F)).toBe(Math.PI);
    expect(nearestDouble(refExp(ONE))).toBe(Math.E);
    expect(nearestDouble(refLog(toFixed(10)))).toBe(Math.LN10);
    expect(nearestDouble(refLog(toFixed(2 ** -1074)))).toBe(-744.4400719213812);
    expect(nearestDouble(refTanh(toFixed(0.5)))).toBe(0.46211715726000974);
  });

  it('the reference itself: Taylor series and continued fraction agree on [3, 6]', () => {
    const g = generator(36);
    for (let i = 0; i < 40; i++) {
      const x = g.uniform(3, 6);
      const viaTaylor = ONE - refErfTaylor(toFixed(x));
      const viaFraction = refErfcContinuedFraction(toFixed(x));
      // Both are far more accurate than the 2^-53 that matters; require 700 bits of agreement.
      expect(abs(viaTaylor - viaFraction) < viaFraction >> 700n, `x = ${x}`).toBe(true);
    }
  });

  // Tabulated values; the test also confirms that each is the double nearest to the true value.
  const ERF_TABLE: [number, number][] = [
    [0.5, 0.5204998778130465],
    [1, 0.8427007929497149],
    [2, 0.9953222650189527],
  ];
  const ERFC_TABLE: [number, number][] = [
    [3, 2.209049699858544e-5],
    [5, 1.5374597944280349e-12],
    [10, 2.088487583762545e-45],
  ];

  it('erf and erfc: tabulated values', () => {
    for (const [x, v] of ERF_TABLE) {
      expect(nearestDouble(refErf(x)), `reference erf(${x})`).toBe(v);
      expect(ulpDistance(erf(x), v), `erf(${x})`).toBeLessThanOrEqual(1);
    }
    for (const [x, v] of ERFC_TABLE) {
      expect(nearestDouble(refErfc(x)), `reference erfc(${x})`).toBe(v);
      expect(ulpDistance(erfc(x), v), `erfc(${x})`).toBeLessThanOrEqual(1);
    }
  });

  // Measured maxima (3000 arguments per region for erf, 6000 for erfc): erf 0.84 ulp; erfc 2.34 ulp,
  // in the tail x > 1.25, where two exps, a product and a quotient each round once (this port is
  // bit-identical to fdlibm's C there). 3 ulp is a relative error below 6.7e-16. Subnormal results
  // (x > 26.55) are measured in ulps of the subnormal, i.e. absolutely.
  for (const [name, f, ref, regions, bound] of [
    ['erf', erf, refErf, ERF_REGIONS, 1],
    ['erfc', erfc, refErfc, ERFC_REGIONS, 3],
  ] as const) {
    it(`${name}: error below ${bound} ulp of the exact value, tails included`, () => {
      const args = sample(regions, 200, 0xe4f + name.length);
      let worst = { x: NaN, ulps: 0 };
      for (const { x } of args) {
        const u = ulpError(f(x), ref(x));
        if (u > worst.ulps) worst = { x, ulps: u };
      }
      expect(worst.ulps, `worst at x = ${worst.x}`).toBeLessThan(bound);
    });
  }
});

describe('detmath pinned outputs', () => {
  // The product promise is the same numbers for the same link in every engine and every release,
  // so every output bit over a fixed set of arguments is pinned here: a change that stays within
  // the accuracy bounds above (another valid formula, a reordered sum) still changes shared
  // results, and must be deliberate. When recorded, the outputs were bit-identical to V8's Math.*
  // (exp, expm1, log, log1p, tanh) and to fdlibm's C s_erf.c compiled with gcc (erf, erfc).
  const PINNED: Record<string, string> = {
    exp: 'eb45ee2b',
    expm1: 'dda1c5e4',
    log: '9b91ce4e',
    log1p: '9f9e7f67',
    tanh: '870e758f',
    erf: 'cdea971c',
    erfc: '8d5993d8',
  };
  const FNS: [string, Fn, Region[]][] = [
    ['exp', exp, EXP_REGIONS],
    ['expm1', expm1, EXPM1_REGIONS],
    ['log', log, LOG_REGIONS],
    ['log1p', log1p, LOG1P_REGIONS],
    ['tanh', tanh, TANH_REGIONS],
    ['erf', erf, ERF_REGIONS],
    ['erfc', erfc, ERFC_REGIONS],
  ];

  /** FNV-1a over the two 32-bit halves of every output (NaN as one fixed word: payloads may vary). */
  function digest(f: Fn, regions: Region[]): string {
    let h = 0x811c9dc5;
    for (const { x } of sample(regions, 2000, 0xd16e57)) {
      const y = f(x);
      const b = Number.isNaN(y) ? 0x7ff80000n << 32n : BigInt.asUintN(64, bitsOf(y));
      h = Math.imul(h ^ Number(b >> 32n), 0x01000193);
      h = Math.imul(h ^ Number(b & 0xffffffffn), 0x01000193);
    }
    return (h >>> 0).toString(16).padStart(8, '0');
  }

  for (const [name, f, regions] of FNS) {
    it(`${name}: the same bits as when pinned`, () => {
      expect(digest(f, regions)).toBe(PINNED[name]);
    });
  }
});

describe('detmath special values', () => {
  const same = (a: number, b: number) => expect(Object.is(a, b), `${a} vs ${b}`).toBe(true);

  it('NaN in, NaN out', () => {
    for (const f of [exp, expm1, log, log1p, tanh, erf, erfc]) {
      expect(f(NaN)).toBeNaN();
      expect(f(fromBits(0xfff8000000000001n))).toBeNaN(); // a NaN with the sign bit and a payload
    }
  });

  it('exp', () => {
    same(exp(0), 1);
    same(exp(-0), 1);
    same(exp(1), Math.E);
    same(exp(Infinity), Infinity);
    same(exp(-Infinity), 0);
    same(exp(710), Infinity);
    same(exp(O_THRESHOLD), 1.7976931348622732e308);
    same(exp(step(O_THRESHOLD, 1)), Infinity);
    same(exp(-746), 0);
    same(exp(U_THRESHOLD), 5e-324);
    same(exp(step(U_THRESHOLD, -1)), 0);
    same(exp(-708.3964185322641), 2.2250738585072626e-308); // about 2^-1022
    same(exp(5e-324), 1);
    same(exp(-5e-324), 1);
  });

  it('expm1', () => {
    same(expm1(0), 0);
    same(expm1(-0), -0);
    same(expm1(5e-324), 5e-324);
    same(expm1(-5e-324), -5e-324);
    same(expm1(Infinity), Infinity);
    same(expm1(-Infinity), -1);
    same(expm1(-40), -1);
    same(expm1(710), Infinity);
    same(expm1(O_THRESHOLD), Math.expm1(O_THRESHOLD));
    same(expm1(step(O_THRESHOLD, 1)), Infinity);
  });

  it('log', () => {
    same(log(1), 0);
    same(log(0), -Infinity);
    same(log(-0), -Infinity);
    expect(log(-1)).toBeNaN();
    expect(log(-5e-324)).toBeNaN();
    expect(log(-Infinity)).toBeNaN();
    same(log(Infinity), Infinity);
    same(log(2), Math.LN2);
    same(log(10), Math.LN10);
    same(log(Math.E), 1);
    same(log(5e-324), -744.4400719213812);
    same(log(Number.MAX_VALUE), 709.782712893384);
  });

  it('log1p', () => {
    same(log1p(0), 0);
    same(log1p(-0), -0);
    same(log1p(5e-324), 5e-324);
    same(log1p(-1), -Infinity);
    expect(log1p(step(-1, -1))).toBeNaN();
    expect(log1p(-2)).toBeNaN();
    expect(log1p(-Infinity)).toBeNaN();
    same(log1p(Infinity), Infinity);
    same(log1p(1), Math.LN2);
    same(log1p(Number.MAX_VALUE), 709.782712893384);
  });

  it('tanh', () => {
    same(tanh(0), 0);
    same(tanh(-0), -0);
    same(tanh(5e-324), 5e-324);
    same(tanh(Infinity), 1);
    same(tanh(-Infinity), -1);
    same(tanh(22), 1);
    same(tanh(-1e300), -1);
  });

  it('erf and erfc', () => {
    same(erf(0), 0);
    same(erf(-0), -0);
    same(erf(Infinity), 1);
    same(erf(-Infinity), -1);
    same(erf(6), 1);
    same(erf(-30), -1);
    same(erfc(0), 1);
    same(erfc(-0), 1);
    same(erfc(Infinity), 0);
    same(erfc(-Infinity), 2);
    same(erfc(28), 0);
    same(erfc(-6), 2);
    expect(erfc(26)).toBeGreaterThan(0);
    expect(erfc(26.6)).toBeGreaterThan(0); // subnormal, about 1e-309
    expect(erfc(26.6)).toBeLessThan(2.2250738585072014e-308);
  });
});

describe('detmath symmetry and monotonicity', () => {
  it('erf and tanh are odd, bit for bit', () => {
    const args = sample([...ERFC_REGIONS, ...TANH_REGIONS], 300, 99).map((a) => Math.abs(a.x));
    for (const x of args) {
      expect(Object.is(erf(-x), -erf(x)), `erf(${x})`).toBe(true);
      expect(Object.is(tanh(-x), -tanh(x)), `tanh(${x})`).toBe(true);
    }
  });

  it('erfc(-x) = 2 - erfc(x) to within an ulp of 2', () => {
    for (const { x } of sample(ERFC_REGIONS, 100, 5)) {
      expect(Math.abs(erfc(-x) + erfc(x) - 2), `x = ${x}`).toBeLessThanOrEqual(4.5e-16);
    }
  });

  // Each function switches formula at these points; a wrong branch or coefficient shows up as a
  // step in the wrong direction when walking across them one double at a time.
  const EDGES: [string, Fn, 1 | -1, number[]][] = [
    ['exp', exp, 1, [2 ** -28, 0.5 * LN2, 1.5 * LN2, 1, -0.5 * LN2, -1.5 * LN2, -708.3964185322641, U_THRESHOLD, O_THRESHOLD]],
    ['expm1', expm1, 1, [2 ** -54, -(2 ** -54), 0.5 * LN2, 1.5 * LN2, -0.5 * LN2, -1.5 * LN2, 20 * LN2, 56 * LN2, -56 * LN2]],
    ['log', log, 1, [1, 1 + 2 ** -20, 1 - 2 ** -20, Math.SQRT2, Math.SQRT1_2, 2.2250738585072014e-308, 1.1, 0.9]],
    ['log1p', log1p, 1, [2 ** -54, 2 ** -29, -(2 ** -29), Math.SQRT2 - 1, 1 - Math.SQRT1_2 - 1, -0.2929, 2 ** 53, -1 + 2 ** -30]],
    ['tanh', tanh, 1, [2 ** -28, 1, 22, -1, -22]],
    ['erf', erf, 1, [2 ** -28, 0.84375, 1.25, 2.857142857142857, 6, -0.84375, -1.25, -2.857142857142857, -6]],
    ['erfc', erfc, -1, [2 ** -56, 0.25, 0.84375, 1.25, 2.857142857142857, 6, 28, -0.84375, -1.25, -2.857142857142857, -6]],
  ];

  for (const [name, f, direction, edges] of EDGES) {
    it(`${name} is monotone across its branch boundaries`, () => {
      for (const edge of edges) {
        let prev = f(step(edge, -200));
        for (let i = -199; i <= 200; i++) {
          const x = step(edge, i);
          const y = f(x);
          expect(direction > 0 ? y >= prev : y <= prev, `${name} steps the wrong way at ${x}`).toBe(true);
          prev = y;
        }
      }
    });
  }

  it('all are monotone over sorted random arguments', () => {
    const regions = [...ERFC_REGIONS, ...LOG1P_REGIONS, ...EXPM1_REGIONS];
    const xs = sample(regions, 200, 3)
      .map((a) => a.x)
      .sort((a, b) => a - b);
    const check = (name: string, f: Fn, direction: number, inDomain: (x: number) => boolean) => {
      const pts = xs.filter(inDomain);
      for (let i = 1; i < pts.length; i++) {
        const [a, b] = [f(pts[i - 1]), f(pts[i])];
        expect(direction > 0 ? b >= a : b <= a, `${name} between ${pts[i - 1]} and ${pts[i]}`).toBe(true);
      }
    };
    check('exp', exp, 1, () => true);
    check('expm1', expm1, 1, () => true);
    check('log', log, 1, (x) => x > 0);
    check('log1p', log1p, 1, (x) => x > -1);
    check('tanh', tanh, 1, () => true);
    check('erf', erf, 1, () => true);
    check('erfc', erfc, -1, () => true);
  });
});
