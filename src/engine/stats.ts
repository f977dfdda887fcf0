/**
 * Per-layer statistics of float32 values, accumulated in float64 (so a variance of 1e-48 is still
 * reported, not 0). Values are pooled over all samples, units, positions and networks. A statistic
 * with no finite value to describe is NaN (printed as null in JSON).
 */

/** A histogram: `counts[i]` values in [edges[i], edges[i+1]) (the last bin includes its right edge). */
export interface Histogram {
  edges: number[];
  counts: number[];
  /** Finite values below edges[0] and above the last edge. */
  below: number;
  above: number;
}

/** The 10/50/90% quantiles of the per-network variance (present when nets > 1). */
export interface Spread {
  p10: number;
  p50: number;
  p90: number;
}

/** Statistics of the values of one layer. */
export interface Stats {
  /** Number of values (finite or not). */
  count: number;
  mean: number;
  variance: number;
  /** E[x^2], He et al.'s measure of what the next layer receives. */
  meanSquare: number;
  std: number;
  min: number;
  max: number;
  /** Fraction of values exactly 0. */
  zeroFraction: number;
  /** Fraction of values the activation holds near an asymptote (tanh, sigmoid), else 0. */
  saturatedFraction: number;
  /** Count of Inf and NaN values; they are left out of every other statistic. */
  nonFinite: number;
  /** Quantiles of the finite values (linear interpolation between order statistics). */
  quantiles: { p01: number; p50: number; p99: number };
  histogram: Histogram;
  /** Spread of the per-network variance over networks, or null with one network. */
  spread: Spread | null;
}

/** How to summarize a layer's values. */
export interface SummaryOptions {
  /** True for a value near the activation's asymptote. */
  saturated?: (v: number) => boolean;
  /** Number of histogram bins. */
  bins?: number;
  /** For [n, C, P] layouts (conv): P positions per channel, to report the variance of each position. */
  positions?: number;
}

/** Number of histogram bins by default. */
export const DEFAULT_BINS = 48;

/** Half-width of the histogram range in standard deviations around the mean, clipped to [min, max]. */
export const HISTOGRAM_STDS = 4;

/**
 * Summarizes one layer: `chunks[k]` holds the values of network k. Returns the statistics and, with
 * `positions`, the variance of each spatial position pooled over samples, channels and networks.
 */
export function summarize(chunks: Float32Array[], options: SummaryOptions = {}): { stats: Stats; positionVariance: Float64Array | null } {
  const bins = options.bins ?? DEFAULT_BINS;
  const P = options.positions ?? 0;
  const saturated = options.saturated;
  let count = 0;
  let finite = 0;
  let sum = 0;
  let min = Infinity;
  let max = -Infinity;
  let zeros = 0;
  let sat = 0;
  const netSums = new Float64Array(chunks.length);
  const netFinite = new Float64Array(chunks.length);
  const posSum = P ? new Float64Array(P) : null;
  const posCount = P ? new Float64Array(P) : null;

  // Pass 1: counts, sum, extremes.
  for (let k = 0; k < chunks.length; k++) {
    const a = chunks[k];
    let s = 0;
    let f = 0;
    for (let i = 0; i < a.length; i++) {
      const v = a[i];
      if (v - v !== 0) continue; // Inf or NaN
      f++;
      s += v;
      if (v < min) min = v;
      if (v > max) max = v;
      if (v === 0) zeros++;
      if (posSum) {
        const p = i % P;
        posSum[p] += v;
        posCount![p]++;
      }
    }
    if (saturated) for (let i = 0; i < a.length; i++) if (saturated(a[i])) sat++;
    count += a.length;
    finite += f;
    sum += s;
    netSums[k] = s;
    netFinite[k] = f;
  }
  const mean = finite ? sum / finite : NaN;

  // Pass 2: centered second moments (no cancellation when the mean is far from 0), per network and per position.
  let m2 = 0;
  let sq = 0;
  const netVar = new Float64Array(chunks.length);
  const posMean = posSum ? posSum.map((s, p) => s / posCount![p]) : null;
  const posM2 = P ? new Float64Array(P) : null;
  for (let k = 0; k < chunks.length; k++) {
    const a = chunks[k];
    const nm = netFinite[k] ? netSums[k] / netFinite[k] : 0;
    let d2 = 0;
    let nd2 = 0;
    let s2 = 0;
    for (let i = 0; i < a.length; i++) {
      const v = a[i];
      if (v - v !== 0) continue;
      const d = v - mean;
      d2 += d * d;
      const e = v - nm;
      nd2 += e * e;
      s2 += v * v;
      if (posM2) {
        const p = i % P;
        const q = v - posMean![p];
        posM2[p] += q * q;
      }
    }
    m2 += d2;
    sq += s2;
    netVar[k] = netFinite[k] ? nd2 / netFinite[k] : NaN;
  }
  const variance = finite ? m2 / finite : NaN;
  const std = Math.sqrt(variance);

  // Pass 3: histogram over mean +- 4 std, clipped to the observed range.
  let lo = Math.max(min, mean - HISTOGRAM_STDS * std);
  let hi = Math.min(max, mean + HISTOGRAM_STDS * std);
  if (!(hi > lo) || !Number.isFinite(bins / (hi - lo))) {
    // All finite values equal (or none): a unit-wide range around the value.
    const c = finite ? min : 0;
    const half = c === 0 ? 1 : Math.abs(c) * 1e-3;
    lo = c - half;
    hi = c + half;
  }
  const counts = new Array<number>(bins).fill(0);
  let below = 0;
  let above = 0;
  const scale = bins / (hi - lo);
  for (const a of chunks)
    for (let i = 0; i < a.length; i++) {
      const v = a[i];
      if (v - v !== 0) continue;
      if (v < lo) below++;
      else if (v > hi) above++;
      else counts[Math.min(bins - 1, Math.floor((v - lo) * scale))]++;
    }
  const edges = Array.from({ length: bins + 1 }, (_, i) => (i === bins ? hi : lo + (i * (hi - lo)) / bins));

  const stats: Stats = {
    count,
    mean,
    variance,
    meanSquare: finite ? sq / finite : NaN,
    std,
    min: finite ? min : NaN,
    max: finite ? max : NaN,
    zeroFraction: count ? zeros / count : NaN,
    saturatedFraction: count ? sat / count : NaN,
    nonFinite: count - finite,
    quantiles: finiteQuantiles(chunks, finite, [0.01, 0.5, 0.99]),
    histogram: { edges, counts, below, above },
    spread: chunks.length > 1 ? spreadOf(netVar) : null,
  };
  let positionVariance: Float64Array | null = null;
  if (posM2) positionVariance = posM2.map((m, p) => (posCount![p] ? m / posCount![p] : NaN));
  return { stats, positionVariance };
}

function spreadOf(values: Float64Array): Spread {
  const sorted = Array.from(values).filter((v) => !Number.isNaN(v)).sort((a, b) => a - b);
  return { p10: interpolate(sorted, 0.1), p50: interpolate(sorted, 0.5), p90: interpolate(sorted, 0.9) };
}

/** The p-quantile of sorted values, linearly interpolated (numpy's default, Hyndman-Fan type 7). */
export function interpolate(sorted: ArrayLike<number>, p: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  const h = (n - 1) * p;
  const i = Math.floor(h);
  const j = Math.min(n - 1, i + 1);
  return sorted[i] + (h - i) * (sorted[j] - sorted[i]);
}

function finiteQuantiles(chunks: Float32Array[], finite: number, ps: [number, number, number]): { p01: number; p50: number; p99: number } {
  if (finite === 0) return { p01: NaN, p50: NaN, p99: NaN };
  const all = new Float32Array(finite);
  let k = 0;
  for (const a of chunks)
    for (let i = 0; i < a.length; i++) {
      const v = a[i];
      if (v - v === 0) all[k++] = v;
    }
  const q = ps.map((p) => {
    const h = (finite - 1) * p;
    const i = Math.floor(h);
    const lo = select(all, i);
    if (h === i) return lo;
    // The next order statistic is the minimum of the part right of position i after selection.
    let next = Infinity;
    for (let t = i + 1; t < finite; t++) if (all[t] < next) next = all[t];
    return lo + (h - i) * (next - lo);
  });
  return { p01: q[0], p50: q[1], p99: q[2] };
}

/** Rearranges `a` so that a[k] is the k-th smallest, smaller ones left of it, larger right (Hoare quickselect). */
export function select(a: Float32Array, k: number): number {
  let left = 0;
  let right = a.length - 1;
  while (right > left) {
    // Median of three as the pivot keeps sorted and constant inputs linear.
    const mid = (left + right) >>> 1;
    const x = a[left];
    const y = a[mid];
    const z = a[right];
    const pivot = x < y ? (y < z ? y : x < z ? z : x) : x < z ? x : y < z ? z : y;
    let i = left;
    let j = right;
    while (i <= j) {
      while (a[i] < pivot) i++;
      while (a[j] > pivot) j--;
      if (i <= j) {
        const t = a[i];
        a[i] = a[j];
        a[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) right = j;
    else if (k >= i) left = i;
    else return a[k];
  }
  return a[k];
}
