/**
 * Mean-field theory of a freshly initialized network: the layer-by-layer second moments the app
 * plots beside the measurement.
 *
 * Forward (He et al. 2015, eq. 8-10; Poole et al. 2016): Var[y_l] = fanIn Var[w_l] E[x_(l-1)^2] +
 * sigma_b^2 with E[y_l] = b (weights are zero-mean), and E[x_l^2] = E[phi(Y)^2], Y ~ N(b, Var[y_l]).
 * Backward (He eq. 11-14, Glorot and Bengio eq. 14): E[(dL/dx_(l-1))^2] = fanOut Var[w_l] E[g_l^2] and
 * E[g_(l-1)^2] = E[phi'(Y_(l-1))^2] E[(dL/dx_(l-1))^2], from E[g_L^2] = 1. Conv layers are done per
 * output position, because zero padding leaves the border outputs fewer valid taps.
 *
 * Numbers. Every per-position array is kept as float64 mantissas times one power of two per layer,
 * renormalized every layer: scaling by 2^k is exact, so wherever float64 would not overflow the
 * results are bit for bit what plain float64 arithmetic gives, and where it would (200 layers that
 * each multiply the variance by 1e3, or divide it) the recursion carries on and `logPreVariance`,
 * `logGradientMeanSquare` and `logWeightGradientMeanSquare` stay finite. Tap sums run along
 * rows, then columns, adding mirror-image taps in pairs, so mirror-image positions of a symmetric
 * geometry get identical bits and share one quadrature; the quadrature itself is interpolated
 * across the distinct variances of a layer (see momentsAt).
 */
import type { LayerShape } from './schema';
import { SELU_ALPHA, SELU_LAMBDA, type ActivationFn } from './activations';
import { gaussianMoments, normalCdf, normalPdf } from './gaussian';
import { exp, log } from './detmath';

/** One weight layer as the theory needs it: geometry, Var[w] from the initializer's formula, bias mean and variance, and for conv the kernel, stride and zero padding. */
export interface TheoryLayerInput {
  shape: LayerShape;
  /** Var[w] the initializer prescribes. */
  weightVariance: number;
  /** E[b], the constant part of every bias. */
  biasMean: number;
  /** Var[b] (sigma_b^2). */
  biasVariance: number;
  /** Conv only: square kernel size k. */
  kernel?: number;
  /** Conv only: stride s. */
  stride?: number;
  /** Conv only: zero padding p on every side. */
  pad?: number;
}

/** Statistics of one input element: E[x] and E[x^2] (only E[x^2] enters, as the weights are zero-mean). */
export interface TheoryInput {
  mean: number;
  meanSquare: number;
}

/** The theory's prediction for one layer (y_l the pre-activation, g_l = dL/dy_l). */
export interface TheoryLayer {
  /** E[y_l] = biasMean. */
  preMean: number;
  /** Var[y_l] pooled over units and positions. */
  preVariance: number;
  /** E[y_l^2] = preVariance + preMean^2 (the q_l of mean-field theory). */
  preMeanSquare: number;
  /** E[phi(y_l)^2]. */
  postMeanSquare: number;
  /** E[phi(y_l)]. */
  postMean: number;
  /** E[phi'(y_l)^2]. */
  derivativeMeanSquare: number;
  /** E[(dL/dy_l)^2], with dL/dy_L ~ N(0, 1) at the top layer L. */
  gradientMeanSquare: number;
  /** Per-sample E[(dL/dW_l)^2]: E[g_l^2] E[x_(l-1)^2] (dense); (1/k^2) sum_taps sum_p E[g_l(p)^2] E[x_(l-1)(q)^2] (conv). */
  weightGradientMeanSquare: number;
  /** log10 Var[y_l], finite where Var[y_l] over- or underflows float64; -Infinity only when Var[y_l] is exactly 0. */
  logPreVariance: number;
  /** log10 E[(dL/dy_l)^2], finite where gradientMeanSquare over- or underflows float64; -Infinity only when it is exactly 0. */
  logGradientMeanSquare: number;
  /** log10 of the per-sample E[(dL/dW_l)^2], finite where weightGradientMeanSquare over- or underflows; -Infinity only when it is exactly 0. */
  logWeightGradientMeanSquare: number;
  /** Conv only: Var[y_l] per output position, H x W row-major. */
  positionVariance?: Float64Array;
  /** Conv only: E[(dL/dy_l)^2] per output position, H x W row-major. */
  positionGradientMeanSquare?: Float64Array;
}

const INV_SQRT_2PI = 0.3989422804014327;
const LN10 = 2.302585092994046;
const LOG10_2 = 0.3010299956639812;
/** Beyond 2^+-SAFE_LOG2 the variance leaves the range where quadrature is safe: use the asymptotic moments. */
const SAFE_LOG2 = 900;

/**
 * The mean-field prediction for every layer: forward Var[y_l] = fanIn Var[w_l] E[x_(l-1)^2] + Var[b_l],
 * E[x_l^2] = E[phi(Y_l)^2]; backward E[g_(l-1)^2] = E[phi'(Y_(l-1))^2] fanOut Var[w_l] E[g_l^2], E[g_L^2] = 1;
 * conv layers exact per output position.
 */
export function theory(layers: TheoryLayerInput[], act: ActivationFn, input: TheoryInput): TheoryLayer[] {
  if (!(input.meanSquare >= 0) || !Number.isFinite(input.meanSquare)) {
    throw new Error(`theory: input meanSquare must be a finite number >= 0, got ${input.meanSquare}`);
  }
  const geometries = layers.map((layer, i) => geometry(layer, i === 0 ? null : layers[i - 1]));
  const traits = traitsOf(act);

  // Forward.
  const inPositions = layers.length ? geometries[0].inPositions : 1;
  let ms: Scaled = normalize({ mant: new Float64Array(inPositions).fill(input.meanSquare), exp: 0 });
  const meanSquares: Scaled[] = [ms];
  const tapSumsOf: Float64Array[] = [];
  const derivatives: Float64Array[] = [];
  const out: TheoryLayer[] = [];
  for (let l = 0; l < layers.length; l++) {
    const layer = layers[l];
    const g = geometries[l];
    const P = g.outPositions;
    const m = layer.biasMean;

    const taps = tapSums(g, ms.mant);
    tapSumsOf.push(taps);
    const variance = preActivation(g.forward, taps, ms.exp, layer.biasVariance);
    const varMant = variance.mant;
    const varExp = variance.exp;
    const post = postActivation(act, traits, m, variance);
    const next = post.meanSquare;
    const dms = post.derivativeMeanSquare;

    const meanVarMant = mean(varMant);
    const preVariance = ldexp(meanVarMant, varExp);
    const logPreVariance = log10Scaled(meanVarMant, varExp, preVariance);
    const result: TheoryLayer = {
      preMean: m,
      preVariance,
      preMeanSquare: preVariance + m * m,
      postMeanSquare: ldexp(mean(next.mant), next.exp),
      postMean: mean(post.mean),
      derivativeMeanSquare: mean(dms),
      gradientMeanSquare: 0,
      weightGradientMeanSquare: 0,
      logPreVariance,
      logGradientMeanSquare: 0,
      logWeightGradientMeanSquare: 0,
    };
    if (g.conv) {
      result.positionVariance = new Float64Array(P);
      for (let p = 0; p < P; p++) result.positionVariance[p] = ldexp(varMant[p], varExp);
    }
    out.push(result);
    ms = normalize(next);
    meanSquares.push(ms);
    derivatives.push(dms);
  }

  // Backward.
  if (!layers.length) return out;
  let grad: Scaled = { mant: new Float64Array(geometries[layers.length - 1].outPositions).fill(1), exp: 0 };
  for (let l = layers.length - 1; l >= 0; l--) {
    const g = geometries[l];
    const result = out[l];
    const meanGradMant = mean(grad.mant);
    result.gradientMeanSquare = ldexp(meanGradMant, grad.exp);
    result.logGradientMeanSquare = log10Scaled(meanGradMant, grad.exp, result.gradientMeanSquare);
    if (g.conv) {
      result.positionGradientMeanSquare = new Float64Array(g.outPositions);
      for (let p = 0; p < g.outPositions; p++) result.positionGradientMeanSquare[p] = ldexp(grad.mant[p], grad.exp);
    }
    // dL/dW[o,c,i,j] = sum_p g(o,p) x(c,q(p,i,j)): mean square sum_p E[g(p)^2] E[x(q)^2], averaged over taps.
    const taps = tapSumsOf[l];
    let weightSum = 0;
    for (let p = 0; p < g.outPositions; p++) weightSum += grad.mant[p] * taps[p];
    const weightMant = weightSum * g.weightFactor;
    const weightExp = grad.exp + meanSquares[l].exp;
    result.weightGradientMeanSquare = ldexp(weightMant, weightExp);
    result.logWeightGradientMeanSquare = log10Scaled(weightMant, weightExp, result.weightGradientMeanSquare);
    if (l === 0) break;
    // E[(dL/dx(q))^2] = bwd * (sum over the (p, tap) pairs that read q of E[g(p)^2]), times E[phi'^2] below.
    const d = derivatives[l - 1];
    const readers = readerSums(g, grad.mant);
    const below: Scaled = { mant: new Float64Array(g.inPositions), exp: grad.exp };
    for (let q = 0; q < g.inPositions; q++) below.mant[q] = d[q] * (g.backward * readers[q]);
    grad = normalize(below);
  }
  return out;
}

/** Var[y(p)] = forward * taps[p] * 2^tapExp + biasVariance, as mantissas times one power of two. */
function preActivation(forward: number, taps: Float64Array, tapExp: number, biasVariance: number): Scaled {
  const P = taps.length;
  let maxTap = 0;
  for (let p = 0; p < P; p++) maxTap = Math.max(maxTap, forward * taps[p]);
  let e = Math.max(maxTap > 0 ? tapExp + exponentOf(maxTap) : -Infinity, biasVariance > 0 ? exponentOf(biasVariance) : -Infinity);
  if (e === -Infinity) e = 0;
  const biasMant = ldexp(biasVariance, -e);
  const mant = new Float64Array(P);
  for (let p = 0; p < P; p++) mant[p] = ldexp(forward * taps[p], tapExp - e) + biasMant;
  return { mant, exp: e };
}

/** Per position, E[phi(Y)^2] (scaled), E[phi'(Y)^2] and E[phi(Y)] for Y ~ N(m, variance[p]). */
function postActivation(
  act: ActivationFn,
  traits: Traits,
  m: number,
  variance: Scaled,
): { meanSquare: Scaled; derivativeMeanSquare: Float64Array; mean: Float64Array } {
  const varMant = variance.mant;
  const varExp = variance.exp;
  const P = varMant.length;
  // E[phi^2] = msValue[p] 2^msExp[p] until all share one exponent below.
  const msValue = new Float64Array(P);
  const msExp = new Float64Array(P);
  const dms = new Float64Array(P);
  const postMean = new Float64Array(P);
  // Positions in the quadrature range wait for one evaluation per distinct variance.
  const distinct = new Map<number, number>();
  const waiting: number[] = [];
  // v = vm 2^varExp leaves [2^-SAFE_LOG2, 2^(SAFE_LOG2+1)) where vm crosses these.
  const hugeMant = ldexp(1, SAFE_LOG2 + 1 - varExp);
  const tinyMant = ldexp(1, -SAFE_LOG2 - varExp);
  for (let p = 0; p < P; p++) {
    const vm = varMant[p];
    const huge = vm >= hugeMant;
    const tiny = vm < tinyMant;
    if (vm === 0) {
      // Y = m exactly (zero weights, no bias noise): phi'(0) is the framework's, e.g. 0 for relu.
      const f = act.phi(m);
      const d = act.dphi(m);
      msValue[p] = f * f;
      dms[p] = d * d;
      postMean[p] = f;
    } else if (traits.linear) {
      // E[y^2] = v + m^2 in any range.
      msValue[p] = vm + ldexp(m * m, -varExp);
      msExp[p] = varExp;
      dms[p] = 1;
      postMean[p] = m;
    } else if ((traits.homogeneous && m === 0) || (tiny && m === 0 && traits.zeroAtZero)) {
      // phi(t y) = t phi(y) (relu, leaky) or the small-variance linearization: E[phi^2] = c0 v.
      msValue[p] = traits.c0 * vm;
      msExp[p] = varExp;
      dms[p] = traits.c0;
      postMean[p] = traits.meanSlope0 * sqrtScaled(vm, varExp);
    } else if (huge) {
      // |y| >> 1 almost surely: phi is linear on each side or saturated.
      if (traits.cInf > 0) {
        msValue[p] = traits.cInf * vm;
        msExp[p] = varExp;
      } else {
        msValue[p] = traits.bInf;
      }
      dms[p] = traits.dInf;
      postMean[p] = traits.meanSlopeInf * sqrtScaled(vm, varExp) + traits.meanConstInf;
    } else if (tiny) {
      const f = act.phi(m);
      const d = act.dphi(m);
      msValue[p] = f * f;
      dms[p] = d * d;
      postMean[p] = f;
    } else {
      const v = ldexp(vm, varExp);
      if (!distinct.has(v)) distinct.set(v, distinct.size);
      waiting.push(p);
    }
  }
  if (waiting.length) {
    const values = Float64Array.from(distinct.keys());
    const table = momentsAt(values, (v) => moments(act, traits, m, v), !traits.homogeneous);
    for (const p of waiting) {
      const at = 3 * distinct.get(ldexp(varMant[p], varExp))!;
      msValue[p] = table[at];
      dms[p] = table[at + 1];
      postMean[p] = table[at + 2];
    }
  }
  // msExp[p] is 0 or varExp: the largest value is the largest of the two groups.
  let max0 = 0;
  let maxV = 0;
  for (let p = 0; p < P; p++) {
    if (msExp[p] === 0) max0 = Math.max(max0, msValue[p]);
    else maxV = Math.max(maxV, msValue[p]);
  }
  let top = Math.max(max0 > 0 ? exponentOf(max0) : -Infinity, maxV > 0 ? varExp + exponentOf(maxV) : -Infinity);
  if (top === -Infinity) top = 0;
  const mant = new Float64Array(P);
  for (let p = 0; p < P; p++) mant[p] = ldexp(msValue[p], msExp[p] - top);
  return { meanSquare: { mant, exp: top }, derivativeMeanSquare: dms, mean: postMean };
}

/** E[phi(Y)^2], E[phi'(Y)^2], E[phi(Y)] for Y ~ N(m, v), v > 0 a normal float64: closed forms for relu and leaky relu, quadrature otherwise. */
function moments(act: ActivationFn, traits: Traits, m: number, v: number): [number, number, number] {
  const s = Math.sqrt(v);
  const t = m / s;
  // For t << 0 the closed form below cancels (relative error ~1e-16 t^4): quadrature is exact there.
  if (traits.homogeneous && t > -4) {
    // phi = relu(y) - a relu(-y); E[relu(Y)^2] = (m^2+v) Phi(t) + m s phi(t), E[relu(Y)] = m Phi(t) + s phi(t), t = m/s.
    const a = traits.slope;
    const up = normalCdf(t);
    const down = normalCdf(-t);
    const density = normalPdf(t);
    const dms = up + a * a * down;
    return [(m * m + v) * dms + (1 - a * a) * m * s * density, dms, m * (up + a * down) + (1 - a) * s * density];
  }
  const r = gaussianMoments(act.phi, act.dphi, m, v);
  return [r.meanSquare, r.derivativeMeanSquare, r.mean];
}

/** cos(pi k / 64), k = 0..32, as literals (Math.cos is implementation-approximated). */
const COS64 = [
  1.0, 0.9987954562051724, 0.9951847266721969, 0.989176509964781, 0.9807852804032304, 0.970031253194544, 0.9569403357322088,
  0.9415440651830208, 0.9238795325112867, 0.9039892931234433, 0.881921264348355, 0.8577286100002721, 0.8314696123025452,
  0.8032075314806449, 0.773010453362737, 0.7409511253549591, 0.7071067811865476, 0.6715589548470184, 0.6343932841636455,
  0.5956993044924334, 0.5555702330196022, 0.5141027441932218, 0.47139673682599764, 0.4275550934302821, 0.3826834323650898,
  0.33688985339222005, 0.2902846772544624, 0.2429801799032639, 0.19509032201612828, 0.14673047445536175, 0.0980171403295606,
  0.049067674327418015, 0.0,
];
/** Chebyshev-Lobatto node k of 64 intervals on [-1, 1]. */
function lobatto(k: number): number {
  return k <= 32 ? COS64[k] : -COS64[64 - k];
}
/** cos(pi n / 64) for any integer n >= 0. */
function cos64(n: number): number {
  const r = n % 128;
  return r <= 64 ? lobatto(r) : lobatto(128 - r);
}
/** An interpolant is accepted when its last two Chebyshev coefficients are below this, relative to the moments (the quadrature itself is good to ~1e-13). */
const INTERPOLATION_TOLERANCE = 1e-12;

/**
 * The moments at each of `values` (distinct variances, all with the same mean), as [E phi^2, E phi'^2, E phi]
 * triples. With `interpolate` and many values, the moments are Chebyshev-interpolated in log v: they
 * are analytic for Re v > 0, a strip of half-width pi/2 in log v, so a few Chebyshev-Lobatto nodes
 * serve a whole layer of positions (a 32x32 map has up to 256 distinct variances). The node count
 * doubles from 17 until the last two Chebyshev coefficients fall below INTERPOLATION_TOLERANCE (a
 * bound on the interpolation error for geometrically decaying coefficients); if that would take as
 * many evaluations as there are values, each value is evaluated directly.
 */
function momentsAt(values: Float64Array, evaluate: (v: number) => [number, number, number], interpolate: boolean): Float64Array {
  const n = values.length;
  const out = new Float64Array(3 * n);
  const direct = () => {
    for (let i = 0; i < n; i++) out.set(evaluate(values[i]), 3 * i);
    return out;
  };
  if (!interpolate || n <= 17) return direct();
  let uMin = Infinity;
  let uMax = -Infinity;
  const u = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    u[i] = log(values[i]);
    uMin = Math.min(uMin, u[i]);
    uMax = Math.max(uMax, u[i]);
  }
  const mid = 0.5 * (uMin + uMax);
  const half = 0.5 * (uMax - uMin);
  if (!(half > 0)) return direct();
  // f[3K..3K+2]: the moments at Lobatto node K of 64 (filled for the nodes in use).
  const f = new Float64Array(3 * 65);
  const done = new Uint8Array(65);
  for (let intervals = 16; intervals <= 64 && intervals + 1 < n; intervals *= 2) {
    const step = 64 / intervals;
    for (let K = 0; K <= 64; K += step) {
      if (done[K]) continue;
      // The end nodes are the extreme values themselves, not exp(log v) with its rounding.
      const v = K === 0 ? values[indexOfMax(u)] : K === 64 ? values[indexOfMin(u)] : exp(mid + half * lobatto(K));
      f.set(evaluate(v), 3 * K);
      done[K] = 1;
    }
    if (converged(f, step)) {
      for (let i = 0; i < n; i++) out.set(barycentric(f, step, (u[i] - mid) / half), 3 * i);
      return out;
    }
  }
  return direct();
}

/** True when the last two Chebyshev coefficients of each moment, through nodes 0, step, ..., 64, are below INTERPOLATION_TOLERANCE times its size. */
function converged(f: Float64Array, step: number): boolean {
  const M = 64 / step;
  for (let c = 0; c < 3; c++) {
    let scale = 0;
    for (let K = 0; K <= 64; K += step) scale = Math.max(scale, Math.abs(f[3 * K + c]), c === 2 ? Math.sqrt(Math.abs(f[3 * K])) : 0);
    for (let j = M - 1; j <= M; j++) {
      // c_j = (2/M) sum'' f(x_k) cos(j k pi / M), the ends halved (and c_M halved once more).
      let sum = 0;
      for (let k = 0; k <= M; k++) {
        const w = k === 0 || k === M ? 0.5 : 1;
        sum += w * f[3 * k * step + c] * cos64(j * k * step);
      }
      const coefficient = ((j === M ? 1 : 2) / M) * sum;
      if (Math.abs(coefficient) > INTERPOLATION_TOLERANCE * scale) return false;
    }
  }
  return true;
}

function indexOfMax(a: Float64Array): number {
  let best = 0;
  for (let i = 1; i < a.length; i++) if (a[i] > a[best]) best = i;
  return best;
}

function indexOfMin(a: Float64Array): number {
  let best = 0;
  for (let i = 1; i < a.length; i++) if (a[i] < a[best]) best = i;
  return best;
}

/** The Chebyshev-Lobatto interpolant through nodes k = 0, step, ..., 64 of f, at x in [-1, 1] (barycentric, weights (-1)^j halved at the ends). */
function barycentric(f: Float64Array, step: number, x: number): [number, number, number] {
  let num0 = 0;
  let num1 = 0;
  let num2 = 0;
  let den = 0;
  for (let k = 0, j = 0; k <= 64; k += step, j++) {
    const d = x - lobatto(k);
    if (d === 0) return [f[3 * k], f[3 * k + 1], f[3 * k + 2]];
    let w = (j % 2 === 0 ? 1 : -1) / d;
    if (k === 0 || k === 64) w *= 0.5;
    num0 += w * f[3 * k];
    num1 += w * f[3 * k + 1];
    num2 += w * f[3 * k + 2];
    den += w;
  }
  return [num0 / den, num1 / den, num2 / den];
}

/** What the recursion needs to know about an activation beyond phi and phi'. */
interface Traits {
  linear: boolean;
  /** phi(t y) = t phi(y) for t > 0 (relu, leaky relu): phi = relu(y) - slope relu(-y). */
  homogeneous: boolean;
  slope: number;
  /** phi(0) = 0, so a tiny zero-mean variance is linearized: E[phi^2] = c0 v, E[phi'^2] = c0. */
  zeroAtZero: boolean;
  /** (phi'(0+)^2 + phi'(0-)^2)/2. */
  c0: number;
  /** (phi'(0+) - phi'(0-))/sqrt(2 pi): E[phi(Y)] = meanSlope0 sd for tiny zero-mean Y. */
  meanSlope0: number;
  /** Huge variance: E[phi^2] ~ cInf v (unbounded phi) or bInf (bounded), E[phi'^2] ~ dInf, E[phi] ~ meanSlopeInf sd + meanConstInf. */
  cInf: number;
  bInf: number;
  dInf: number;
  meanSlopeInf: number;
  meanConstInf: number;
}

function traitsOf(act: ActivationFn): Traits {
  const base = { linear: false, homogeneous: false, slope: 0, zeroAtZero: true, bInf: 0, meanConstInf: 0 };
  const half = { cInf: 0.5, dInf: 0.5, meanSlopeInf: INV_SQRT_2PI };
  switch (act.name) {
    case 'linear':
      return { ...base, linear: true, homogeneous: true, slope: 1, c0: 1, meanSlope0: 0, cInf: 1, dInf: 1, meanSlopeInf: 0 };
    case 'relu':
      return { ...base, ...half, homogeneous: true, c0: 0.5, meanSlope0: INV_SQRT_2PI };
    case 'leaky_relu': {
      const a = act.slope;
      const c = (1 + a * a) / 2;
      const k = (1 - a) * INV_SQRT_2PI;
      return { ...base, homogeneous: true, slope: a, c0: c, meanSlope0: k, cInf: c, dInf: c, meanSlopeInf: k };
    }
    case 'elu':
      return { ...base, ...half, c0: 1, meanSlope0: 0, meanConstInf: -0.5 };
    case 'selu': {
      const l2 = SELU_LAMBDA * SELU_LAMBDA;
      return {
        ...base,
        c0: (l2 * (1 + SELU_ALPHA * SELU_ALPHA)) / 2,
        meanSlope0: SELU_LAMBDA * (1 - SELU_ALPHA) * INV_SQRT_2PI,
        cInf: l2 / 2,
        dInf: l2 / 2,
        meanSlopeInf: SELU_LAMBDA * INV_SQRT_2PI,
        meanConstInf: (-SELU_LAMBDA * SELU_ALPHA) / 2,
      };
    }
    case 'tanh':
      return { ...base, c0: 1, meanSlope0: 0, cInf: 0, bInf: 1, dInf: 0, meanSlopeInf: 0 };
    case 'sigmoid':
      return { ...base, zeroAtZero: false, c0: 0, meanSlope0: 0, cInf: 0, bInf: 0.5, dInf: 0, meanSlopeInf: 0, meanConstInf: 0.5 };
    case 'softplus':
      return { ...base, ...half, zeroAtZero: false, c0: 0, meanSlope0: 0 };
    case 'gelu':
    case 'swish':
      return { ...base, ...half, c0: 0.25, meanSlope0: 0 };
    default:
      throw new Error(`theory: unknown activation: ${String(act.name)}`);
  }
}

/**
 * One spatial axis of a layer: which input index each output index reads at each tap, and which
 * outputs read each input. Sums along an axis add the taps in mirror-image pairs (first + last, then
 * inwards), so a geometry that is symmetric under reflection gives bit-identical sums at mirror-image
 * positions.
 */
interface Axis {
  inSize: number;
  outSize: number;
  kernel: number;
  /** taps[o * kernel + j]: the input index output o reads at tap j, or -1 in the zero padding. */
  taps: Int32Array;
  /** The outputs that read input q: readers[readerStart[q] .. readerStart[q+1]), ascending. */
  readerStart: Int32Array;
  readers: Int32Array;
}

/** The two axes of a layer (1 x 1 with one tap for dense) and the multipliers of the recursion. */
interface Geometry {
  conv: boolean;
  rows: Axis;
  cols: Axis;
  inPositions: number;
  outPositions: number;
  /** fanIn Var[w] (dense), C Var[w] (conv). */
  forward: number;
  /** fanOut Var[w] (dense), C' Var[w] (conv). */
  backward: number;
  /** 1 (dense), 1/k^2 (conv). */
  weightFactor: number;
}

function axis(inSize: number, outSize: number, kernel: number, stride: number, pad: number): Axis {
  const taps = new Int32Array(outSize * kernel);
  const counts = new Int32Array(inSize + 1);
  for (let o = 0; o < outSize; o++) {
    for (let j = 0; j < kernel; j++) {
      const q = o * stride + j - pad;
      const valid = q >= 0 && q < inSize;
      taps[o * kernel + j] = valid ? q : -1;
      if (valid) counts[q + 1]++;
    }
  }
  const readerStart = new Int32Array(inSize + 1);
  for (let q = 0; q < inSize; q++) readerStart[q + 1] = readerStart[q] + counts[q + 1];
  const fill = readerStart.slice(0, inSize);
  const readers = new Int32Array(readerStart[inSize]);
  for (let o = 0; o < outSize; o++) {
    for (let j = 0; j < kernel; j++) {
      const q = taps[o * kernel + j];
      if (q >= 0) readers[fill[q]++] = o;
    }
  }
  return { inSize, outSize, kernel, taps, readerStart, readers };
}

const POINT: Axis = axis(1, 1, 1, 1, 0);

/** For each output position, the sum of `values` (input positions) over its valid taps: a row pass, then a column pass. */
function tapSums(g: Geometry, values: Float64Array): Float64Array {
  const { rows, cols } = g;
  const k = cols.kernel;
  const across = new Float64Array(rows.inSize * cols.outSize);
  for (let r = 0; r < rows.inSize; r++) {
    for (let o = 0; o < cols.outSize; o++) {
      let acc = 0;
      for (let j = 0, e = k - 1; j <= e; j++, e--) {
        const a = cols.taps[o * k + j];
        const b = cols.taps[o * k + e];
        const va = a < 0 ? 0 : values[r * cols.inSize + a];
        acc += j === e ? va : va + (b < 0 ? 0 : values[r * cols.inSize + b]);
      }
      across[r * cols.outSize + o] = acc;
    }
  }
  const out = new Float64Array(rows.outSize * cols.outSize);
  const kr = rows.kernel;
  for (let o = 0; o < rows.outSize; o++) {
    for (let c = 0; c < cols.outSize; c++) {
      let acc = 0;
      for (let i = 0, e = kr - 1; i <= e; i++, e--) {
        const a = rows.taps[o * kr + i];
        const b = rows.taps[o * kr + e];
        const va = a < 0 ? 0 : across[a * cols.outSize + c];
        acc += i === e ? va : va + (b < 0 ? 0 : across[b * cols.outSize + c]);
      }
      out[o * cols.outSize + c] = acc;
    }
  }
  return out;
}

/** For each input position, the sum of `values` (output positions) over the (output, tap) pairs that read it. */
function readerSums(g: Geometry, values: Float64Array): Float64Array {
  const { rows, cols } = g;
  const across = new Float64Array(rows.outSize * cols.inSize);
  for (let r = 0; r < rows.outSize; r++) {
    for (let q = 0; q < cols.inSize; q++) {
      let acc = 0;
      for (let i = cols.readerStart[q], e = cols.readerStart[q + 1] - 1; i <= e; i++, e--) {
        const va = values[r * cols.outSize + cols.readers[i]];
        acc += i === e ? va : va + values[r * cols.outSize + cols.readers[e]];
      }
      across[r * cols.inSize + q] = acc;
    }
  }
  const out = new Float64Array(rows.inSize * cols.inSize);
  for (let q = 0; q < rows.inSize; q++) {
    for (let c = 0; c < cols.inSize; c++) {
      let acc = 0;
      for (let i = rows.readerStart[q], e = rows.readerStart[q + 1] - 1; i <= e; i++, e--) {
        const va = across[rows.readers[i] * cols.inSize + c];
        acc += i === e ? va : va + across[rows.readers[e] * cols.inSize + c];
      }
      out[q * cols.inSize + c] = acc;
    }
  }
  return out;
}

function geometry(layer: TheoryLayerInput, previous: TheoryLayerInput | null): Geometry {
  const { shape, weightVariance, biasMean, biasVariance } = layer;
  const name = `theory: layer ${shape.index}`;
  if (!(weightVariance >= 0) || !Number.isFinite(weightVariance)) throw new Error(`${name}: weightVariance ${weightVariance} is not a finite number >= 0`);
  if (!(biasVariance >= 0) || !Number.isFinite(biasVariance)) throw new Error(`${name}: biasVariance ${biasVariance} is not a finite number >= 0`);
  if (!Number.isFinite(biasMean)) throw new Error(`${name}: biasMean ${biasMean} is not finite`);
  if (previous && previous.shape.outShape.join('x') !== shape.inShape.join('x')) {
    throw new Error(`${name}: inShape ${shape.inShape.join('x')} is not the previous layer's outShape ${previous.shape.outShape.join('x')}`);
  }
  if (previous && previous.shape.kind !== shape.kind) throw new Error(`${name}: a ${shape.kind} layer after a ${previous.shape.kind} layer is not supported`);
  if (shape.kind === 'dense') {
    return {
      conv: false,
      rows: POINT,
      cols: POINT,
      inPositions: 1,
      outPositions: 1,
      forward: shape.fanIn * weightVariance,
      backward: shape.fanOut * weightVariance,
      weightFactor: 1,
    };
  }
  const { kernel: k, stride: s, pad } = layer;
  if (!isCount(k, 1) || !isCount(s, 1) || !isCount(pad, 0)) {
    throw new Error(`${name}: a conv layer needs integer kernel >= 1, stride >= 1 and pad >= 0, got ${k}, ${s}, ${pad}`);
  }
  const [c, h, w] = shape.inShape;
  const [cOut, oh, ow] = shape.outShape;
  if (oh !== Math.floor((h + 2 * pad - k) / s) + 1 || ow !== Math.floor((w + 2 * pad - k) / s) + 1) {
    throw new Error(`${name}: outShape ${shape.outShape.join('x')} does not follow from inShape ${shape.inShape.join('x')} with kernel ${k}, stride ${s}, pad ${pad}`);
  }
  return {
    conv: true,
    rows: axis(h, oh, k, s, pad),
    cols: axis(w, ow, k, s, pad),
    inPositions: h * w,
    outPositions: oh * ow,
    forward: c * weightVariance,
    backward: cOut * weightVariance,
    weightFactor: 1 / (k * k),
  };
}

function isCount(x: number | undefined, min: number): x is number {
  return typeof x === 'number' && Number.isInteger(x) && x >= min;
}

/** Values mant[i] * 2^exp. */
interface Scaled {
  mant: Float64Array;
  exp: number;
}

const bits = new DataView(new ArrayBuffer(8));

/** POW2[k + 1022] = 2^k for -1022 <= k <= 1023, built from the bits (exact on every engine). */
const POW2 = new Float64Array(2046);
for (let k = -1022; k <= 1023; k++) {
  bits.setUint32(0, (k + 1023) << 20);
  bits.setUint32(4, 0);
  POW2[k + 1022] = bits.getFloat64(0);
}

/** x 2^k, exact unless the result is subnormal, over- or underflows. */
function ldexp(x: number, k: number): number {
  if (k >= -1022 && k <= 1023) return x * POW2[k + 1022];
  while (k > 1000 && x !== 0 && Number.isFinite(x)) {
    x *= POW2[1000 + 1022];
    k -= 1000;
  }
  while (k < -1000 && x !== 0 && Number.isFinite(x)) {
    x *= POW2[-1000 + 1022];
    k += 1000;
  }
  return x * POW2[Math.max(-1022, Math.min(1023, k)) + 1022];
}

/** floor(log2 |x|) for finite x != 0. */
function exponentOf(x: number): number {
  bits.setFloat64(0, x);
  const e = (bits.getUint32(0) >>> 20) & 0x7ff;
  return e === 0 ? exponentOf(x * POW2[64 + 1022]) - 64 : e - 1023;
}

/** The same values with the largest mantissa in [1, 2). */
function normalize(a: Scaled): Scaled {
  let max = 0;
  for (let i = 0; i < a.mant.length; i++) max = Math.max(max, Math.abs(a.mant[i]));
  if (max === 0 || !Number.isFinite(max)) return a;
  const k = exponentOf(max);
  if (k === 0) return a;
  for (let i = 0; i < a.mant.length; i++) a.mant[i] = ldexp(a.mant[i], -k);
  return { mant: a.mant, exp: a.exp + k };
}

/**
 * log10(mant 2^e) for mant >= 0, given value = ldexp(mant, e): from the float64 value where it is a
 * normal number, else from the mantissa and exponent, so it stays finite where the value over- or
 * underflows; -Infinity only when mant is 0.
 */
function log10Scaled(mant: number, e: number, value: number): number {
  if (value > 1e-300 && value < 1e300) return log(value) / LN10;
  return mant === 0 ? -Infinity : log(mant) / LN10 + e * LOG10_2;
}

/** sqrt(mant 2^e) as a float64. */
function sqrtScaled(mant: number, e: number): number {
  return e % 2 === 0 ? ldexp(Math.sqrt(mant), e / 2) : ldexp(Math.sqrt(2 * mant), (e - 1) / 2);
}

/** The mean of an array. */
function mean(a: Float64Array): number {
  let total = 0;
  for (let i = 0; i < a.length; i++) total += a[i];
  return total / a.length;
}
