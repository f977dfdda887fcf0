/**
 * Per-layer statistics of float32 values, accumulated in float64 (so a variance of 1e-48 is still
 * reported, not 0). Values are pooled over all samples, units, positions and networks. A statistic
 * with no finite value to describe is NaN (printed as null in JSON).
 *
 * The values of a layer are held in cells (a few samples of one network each; see `CELL_SAMPLES`),
 * and possibly by several workers. Statistics are computed in two scans so that no worker needs
 * another's values: `scanMoments` sums each cell on its own (moments shifted by the cell's first
 * value, extremes, counts, a histogram of the float32 bit patterns), `mergeMoments` combines the
 * cells in their fixed order and decides the histogram range and where the quantiles lie, then
 * `scanDetail` counts the histogram and the exact bit patterns near each quantile, and
 * `finishStats` combines those. Float64 sums are combined cell by cell in cell order and counts are
 * integers, so the result is the same bits however the cells are split between workers.
 *
 * The scans' per-value loops run in WebAssembly (wasm/stats.ts) where it is available, else in
 * JavaScript (`jsScans`). Both add each float64 sum in the same order, one value after another, so
 * the statistics are the same bits either way.
 */
import { wasmScans } from './wasm/stats';

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

/** Samples of one network per cell: the unit of work that statistics are summed over and merged by. */
export const CELL_SAMPLES = 32;

/** The quantiles reported, in `Stats.quantiles` order. */
const QUANTILES = [0.01, 0.5, 0.99] as const;

/** Bins of the bit-pattern histogram: the top 16 bits of a float32's order key. */
const KEY_BINS = 65536;

/** Fields of one cell's moments in `MomentParts.cells` (the WebAssembly cell record starts with the same nine). */
const F = 9;
const F_COUNT = 0;
const F_FINITE = 1;
const F_SHIFT = 2; // the cell's first finite value
const F_SUM = 3; // sum of (v - shift)
const F_SQ = 4; // sum of (v - shift)^2
const F_RAW_SQ = 5; // sum of v^2
const F_MIN = 6;
const F_MAX = 7;
const F_ZEROS = 8;

/** Where one cell's values are: `values[start, end)` of network `net`. */
export interface CellRange {
  net: number;
  start: number;
  end: number;
}

/** What `scanMoments` reports for some consecutive cells. */
export interface MomentParts {
  /** F numbers per cell, in cell order. */
  cells: Float64Array;
  /** Values near an asymptote, over these cells (an integer). */
  saturated: number;
  /** Conv: per cell, the sum of each position's finite values (cells x P); empty otherwise. */
  positionSums: Float64Array;
  /** Conv: finite values per position over these cells (integers). */
  positionCounts: Float64Array;
  /**
   * Finite nonzero values by the top 16 bits of their order key, sparse (a layer's values fill a
   * few thousand of the 65536 bins).
   */
  keys: SparseKeys;
}

/** What the first scan's loops fill (`Scans.moments`), zeroed on entry. */
export type MomentScratch = Pick<MomentParts, 'cells' | 'positionSums' | 'positionCounts'>;

/** A key histogram, sparse: the bins holding any values, ascending, and their counts. */
export interface SparseKeys {
  bins: Uint16Array;
  counts: Uint32Array;
}

/** What the second scan needs to know, the same for every worker. */
export interface DetailParams {
  lo: number;
  hi: number;
  bins: number;
  /** Conv: the mean of each position; empty otherwise. */
  positionMeans: Float64Array;
  /** Top key bins holding a wanted order statistic (at most 6), with their total count of values. */
  targets: { bin: number; count: number }[];
}

/** Above this many values, a target bin is counted by the low 16 bits of its keys instead of listed. */
const LIST_LIMIT = 65536;

/** What `scanDetail` reports for some consecutive cells. */
export interface DetailParts {
  /** bins counts, then below and above (integers). */
  histogram: Float64Array;
  /** Conv: per cell, the sum of squared deviations from each position's mean (cells x P). */
  positionM2: Float64Array;
  /**
   * Per target: its values (in no particular order), or for a bin of more than LIST_LIMIT values
   * the count of each low 16 bits of their order key.
   */
  low: (Float32Array | Uint32Array)[];
}

/** The merged moments of a layer, with what `finishStats` needs besides the detail. */
export interface Moments {
  count: number;
  finite: number;
  mean: number;
  variance: number;
  meanSquare: number;
  min: number;
  max: number;
  zeros: number;
  saturated: number;
  netVariance: Float64Array;
  positionCounts: Float64Array;
  /** The ranks wanted per quantile: [i, i + 1, fraction], and where they are. */
  ranks: { rank: number; target: number; within: number }[];
  params: DetailParams;
}

// The bits of float32 values, as signed integers.
function intView(a: Float32Array): Int32Array {
  return new Int32Array(a.buffer, a.byteOffset, a.length);
}

/**
 * The per-value loops of the two scans, filling parts that `scanMoments` and `scanDetail` allocate
 * (zeroed): in WebAssembly (wasm/stats.ts) or in JavaScript (`jsScans`), with the same bits.
 */
export interface Scans {
  /** Fills `parts` for `cells` and returns their key histogram. */
  moments(values: Float32Array[], cells: CellRange[], P: number, parts: MomentScratch): SparseKeys;
  /**
   * Fills `parts` for `cells`; a listed target's `low` has room for the target's whole count, and
   * `filled[t]` is set to the number of its values met (at most that count, for consistent params).
   */
  detail(values: Float32Array[], cells: CellRange[], P: number, params: DetailParams, parts: DetailParts, filled: Int32Array): void;
}

/** The first scan's loop in JavaScript: the cell records, position sums and the full key histogram `keys`. */
function jsMoments(values: Float32Array[], cells: CellRange[], P: number, out: Float64Array, positionSums: Float64Array, positionCounts: Float64Array, keys: Uint32Array): void {
  for (let c = 0; c < cells.length; c++) {
    const { net, start, end } = cells[c];
    const a = values[net];
    const bits = intView(a);
    let f = 0;
    let shift = NaN;
    let s = 0;
    let sq = 0;
    let raw = 0;
    let min = Infinity;
    let max = -Infinity;
    let zeros = 0;
    let i = start;
    // The shift: the cell's first finite value, so the sums stay small where the mean is far from 0.
    for (; i < end; i++) {
      const v = a[i];
      if (v - v === 0) {
        shift = v;
        break;
      }
    }
    const k = Number.isNaN(shift) ? 0 : shift;
    for (; i < end; i++) {
      const v = a[i];
      if (v - v !== 0) continue; // Inf or NaN
      f++;
      const d = v - k;
      s += d;
      sq += d * d;
      raw += v * v;
      if (v < min) min = v;
      if (v > max) max = v;
      if (v === 0) zeros++;
      else {
        const u = bits[i];
        keys[(u ^ ((u >> 31) | 0x80000000)) >>> 16]++;
      }
    }
    if (P) {
      const sums = positionSums.subarray(c * P, (c + 1) * P);
      for (let j = start; j < end; j += P)
        for (let p = 0; p < P; p++) {
          const v = a[j + p];
          if (v - v !== 0) continue;
          sums[p] += v;
          positionCounts[p]++;
        }
    }
    const o = c * F;
    out[o + F_COUNT] = end - start;
    out[o + F_FINITE] = f;
    out[o + F_SHIFT] = k;
    out[o + F_SUM] = s;
    out[o + F_SQ] = sq;
    out[o + F_RAW_SQ] = raw;
    out[o + F_MIN] = min;
    out[o + F_MAX] = max;
    out[o + F_ZEROS] = zeros;
  }
}

/** The full key histogram the JavaScript scan fills and `addKeys` sums into, reused: `withKeys` leaves it zeroed. */
let keyScratch: Uint32Array | undefined;

/** The nonzero bins of a full key histogram and their counts, ascending; the histogram is zeroed. */
function sparseKeys(keys: Uint32Array): SparseKeys {
  let n = 0;
  for (let b = 0; b < KEY_BINS; b++) if (keys[b] !== 0) n++;
  const bins = new Uint16Array(n);
  const counts = new Uint32Array(n);
  for (let b = 0, j = 0; j < n; b++) {
    const k = keys[b];
    if (k === 0) continue;
    bins[j] = b;
    counts[j++] = k;
    keys[b] = 0;
  }
  return { bins, counts };
}

/** Fills the reused full key histogram with `fill` and returns it sparse, leaving it zeroed (also when `fill` throws). */
function withKeys(fill: (keys: Uint32Array) => void): SparseKeys {
  const keys = (keyScratch ??= new Uint32Array(KEY_BINS));
  try {
    fill(keys);
  } catch (error) {
    keys.fill(0); // the next scan starts from zero
    throw error;
  }
  return sparseKeys(keys);
}

/** The scans in JavaScript: where WebAssembly is unavailable, and the oracle of the WebAssembly ones. */
export const jsScans: Scans = {
  moments(values, cells, P, { cells: out, positionSums, positionCounts }) {
    return withKeys((keys) => jsMoments(values, cells, P, out, positionSums, positionCounts, keys));
  },

  detail(values, cells, P, params, { histogram, positionM2, low }, filled) {
    const { lo, hi, bins, positionMeans, targets } = params;
    // 255: not a target (64 KB, so the lookup mostly hits the cache).
    const targetOf = new Uint8Array(KEY_BINS).fill(255);
    targets.forEach(({ bin }, t) => (targetOf[bin] = t));
    const scale = bins / (hi - lo);
    const last = bins - 1;
    let below = 0;
    let above = 0;
    for (let c = 0; c < cells.length; c++) {
      const { net, start, end } = cells[c];
      const a = values[net];
      const bits = intView(a);
      for (let i = start; i < end; i++) {
        const v = a[i];
        if (v - v !== 0) continue;
        if (v < lo) below++;
        else if (v > hi) above++;
        else {
          const b = Math.floor((v - lo) * scale);
          histogram[b < last ? b : last]++;
        }
        if (v !== 0) {
          const key = bits[i] ^ ((bits[i] >> 31) | 0x80000000);
          const t = targetOf[key >>> 16];
          if (t !== 255) {
            const list = low[t];
            if (list instanceof Float32Array) list[filled[t]++] = v;
            else list[key & 0xffff]++;
          }
        }
      }
      if (P) {
        const m2 = positionM2.subarray(c * P, (c + 1) * P);
        for (let j = start; j < end; j += P)
          for (let p = 0; p < P; p++) {
            const v = a[j + p];
            if (v - v !== 0) continue;
            const d = v - positionMeans[p];
            m2[p] += d * d;
          }
      }
    }
    histogram[bins] = below;
    histogram[bins + 1] = above;
  },
};

let scans: Scans | undefined;

/** The scans in use: the WebAssembly ones once they compile, else `jsScans`. */
export function statsScans(): Scans {
  return (scans ??= wasmScans() ?? jsScans);
}

/**
 * First scan over some consecutive cells of one layer. `P` > 0 for conv layers ([samples, C, P]
 * layout, each cell starting at a sample). `saturated` is tested on every value, finite or not.
 */
export function scanMoments(
  values: Float32Array[],
  cells: CellRange[],
  P: number,
  saturated?: (v: number) => boolean,
): MomentParts {
  const scratch: MomentScratch = {
    cells: new Float64Array(cells.length * F),
    positionSums: new Float64Array(P ? cells.length * P : 0),
    positionCounts: new Float64Array(P),
  };
  const parts: MomentParts = { ...scratch, saturated: 0, keys: statsScans().moments(values, cells, P, scratch) };
  // A callback per value, so it stays in JavaScript; only tanh and sigmoid have one.
  if (saturated) {
    let count = 0;
    for (const { net, start, end } of cells) {
      const a = values[net];
      for (let j = start; j < end; j++) if (saturated(a[j])) count++;
    }
    parts.saturated = count;
  }
  return parts;
}

/** The sum of sparse key histograms (each ascending): the union of their bins, ascending, and the summed counts. */
function addKeys(parts: MomentParts[]): SparseKeys {
  if (parts.length === 1) return parts[0].keys;
  // Into the full histogram and out again: O(bins held), the walk over 65536 bins is a few
  // microseconds of typed-array reads.
  return withKeys((keys) => {
    for (const { keys: part } of parts) for (let j = 0; j < part.bins.length; j++) keys[part.bins[j]] += part.counts[j];
  });
}

/** The value of a float32 order key. */
function fromKey(key: number): number {
  const bits = key & 0x80000000 ? key ^ 0x80000000 : ~key;
  KEY_INT[0] = bits;
  return KEY_FLOAT[0];
}
const KEY_INT = new Int32Array(1);
const KEY_FLOAT = new Float32Array(KEY_INT.buffer);

/**
 * Combines the first scan's parts (in cell order: `parts[0]` holds the first cells) of a layer whose
 * cells belong to `nets` networks (`cellNets[c]` for cell c).
 */
export function mergeMoments(parts: MomentParts[], cellNets: ArrayLike<number>, nets: number, P: number, bins = DEFAULT_BINS): Moments {
  let count = 0;
  let finite = 0;
  let mean = 0;
  let m2 = 0;
  let rawSq = 0;
  let min = Infinity;
  let max = -Infinity;
  let zeros = 0;
  let saturated = 0;
  const netFinite = new Float64Array(nets);
  const netMean = new Float64Array(nets);
  const netM2 = new Float64Array(nets);
  const positionSums = new Float64Array(P);
  const positionCounts = new Float64Array(P);
  // One part's keys are taken as they are (they are not changed here); several are added up.
  const { bins: keyBins, counts: keyCounts } = addKeys(parts);
  let c = 0;
  for (const part of parts) {
    saturated += part.saturated;
    for (let p = 0; p < P; p++) positionCounts[p] += part.positionCounts[p];
    const cells = part.cells;
    for (let j = 0; j < cells.length; j += F, c++) {
      count += cells[j + F_COUNT];
      const f = cells[j + F_FINITE];
      if (P) for (let p = 0, q = (j / F) * P; p < P; p++) positionSums[p] += part.positionSums[q + p];
      if (f === 0) continue;
      // The cell's own mean and centred sum of squares, then Chan et al.'s pairwise update.
      const s = cells[j + F_SUM];
      const cellMean = cells[j + F_SHIFT] + s / f;
      const cellM2 = Math.max(0, cells[j + F_SQ] - (s * s) / f);
      rawSq += cells[j + F_RAW_SQ];
      if (cells[j + F_MIN] < min) min = cells[j + F_MIN];
      if (cells[j + F_MAX] > max) max = cells[j + F_MAX];
      zeros += cells[j + F_ZEROS];
      if (finite === 0) {
        mean = cellMean;
        m2 = cellM2;
      } else {
        const total = finite + f;
        const delta = cellMean - mean;
        mean += (delta * f) / total;
        m2 += cellM2 + (delta * delta * finite * f) / total;
      }
      finite += f;
      const k = cellNets[c];
      if (netFinite[k] === 0) {
        netMean[k] = cellMean;
        netM2[k] = cellM2;
      } else {
        const total = netFinite[k] + f;
        const delta = cellMean - netMean[k];
        netMean[k] += (delta * f) / total;
        netM2[k] += cellM2 + (delta * delta * netFinite[k] * f) / total;
      }
      netFinite[k] += f;
    }
  }
  if (finite === 0) mean = NaN;
  const variance = finite ? m2 / finite : NaN;
  const std = Math.sqrt(variance);
  const netVariance = netM2.map((m, k) => (netFinite[k] ? m / netFinite[k] : NaN));

  // The histogram over mean +- 4 std, clipped to the observed range.
  let lo = Math.max(min, mean - HISTOGRAM_STDS * std);
  let hi = Math.min(max, mean + HISTOGRAM_STDS * std);
  if (!(hi > lo) || !Number.isFinite(bins / (hi - lo))) {
    // All finite values equal (or none): a unit-wide range around the value.
    const v = finite ? min : 0;
    const half = v === 0 ? 1 : Math.abs(v) * 1e-3;
    lo = v - half;
    hi = v + half;
  }

  // The order statistics each quantile needs: ranks i and i + 1 of h = (finite - 1) p.
  const ranks: Moments['ranks'] = [];
  const targets: DetailParams['targets'] = [];
  if (finite > 0) {
    const wanted = QUANTILES.flatMap((p) => {
      const h = (finite - 1) * p;
      const i = Math.floor(h);
      return [i, Math.min(finite - 1, i + 1)];
    });
    for (const [r, { bin, count, within }] of locate(keyBins, keyCounts, zeros, wanted).entries()) {
      let target = -1;
      if (bin >= 0) {
        target = targets.findIndex((t) => t.bin === bin);
        if (target < 0) target = targets.push({ bin, count }) - 1;
      }
      ranks.push({ rank: wanted[r], target, within });
    }
  }
  const positionMeans = positionSums.map((s, p) => s / positionCounts[p]);
  return {
    count,
    finite,
    mean,
    variance,
    meanSquare: finite ? rawSq / finite : NaN,
    min,
    max,
    zeros,
    saturated,
    netVariance,
    positionCounts,
    ranks,
    params: { lo, hi, bins, positionMeans, targets },
  };
}

/**
 * For each rank (ascending), the top key bin holding that order statistic (-1: it is one of the
 * exact zeros), the bin's count and the statistic's rank within the bin, in one walk over the
 * sparse histogram (bins ascending, counts).
 */
function locate(bins: Uint16Array, counts: Uint32Array, zeros: number, ranks: number[]): { bin: number; count: number; within: number }[] {
  // Negative values have keys below 0x8000_0000, positive ones above; the zeros sit between.
  const out: { bin: number; count: number; within: number }[] = [];
  const HALF = KEY_BINS / 2;
  let before = 0;
  let r = 0;
  let zerosPlaced = false;
  const placeZeros = () => {
    for (; r < ranks.length && ranks[r] < before + zeros; r++) out.push({ bin: -1, count: 0, within: 0 });
    before += zeros;
    zerosPlaced = true;
  };
  for (let j = 0; j < bins.length && r < ranks.length; j++) {
    const b = bins[j];
    if (!zerosPlaced && b >= HALF) placeZeros();
    const n = counts[j];
    for (; r < ranks.length && ranks[r] < before + n; r++) out.push({ bin: b, count: n, within: ranks[r] - before });
    before += n;
  }
  if (!zerosPlaced) placeZeros();
  for (; r < ranks.length; r++) out.push({ bin: -1, count: 0, within: 0 }); // every value was a zero
  return out;
}

/** Second scan over the same cells as `scanMoments`, with the merged `params`. */
export function scanDetail(values: Float32Array[], cells: CellRange[], P: number, params: DetailParams): DetailParts {
  const parts: DetailParts = {
    histogram: new Float64Array(params.bins + 2),
    positionM2: new Float64Array(P ? cells.length * P : 0),
    // A target bin's values are listed, or counted by their low key bits when there are many.
    low: params.targets.map(({ count }) => (count > LIST_LIMIT ? new Uint32Array(65536) : new Float32Array(count))),
  };
  const filled = new Int32Array(params.targets.length);
  statsScans().detail(values, cells, P, params, parts, filled);
  parts.low = parts.low.map((list, t) => (list instanceof Float32Array ? list.slice(0, filled[t]) : list));
  return parts;
}

/** Combines the second scan's parts (in cell order) with the merged moments into the layer's statistics. */
export function finishStats(m: Moments, parts: DetailParts[], P: number): { stats: Stats; positionVariance: Float64Array | null } {
  const { lo, hi, bins, targets } = m.params;
  const histogram = new Float64Array(bins + 2);
  const positionM2 = new Float64Array(P);
  for (const part of parts) {
    for (let b = 0; b < bins + 2; b++) histogram[b] += part.histogram[b];
    for (let j = 0; j < part.positionM2.length; j += P) for (let p = 0; p < P; p++) positionM2[p] += part.positionM2[j + p];
  }
  // Each target bin's values in order: the parts' lists sorted together, or the low-bit counts added.
  const inBin = targets.map(({ bin, count }, t) => {
    if (count > LIST_LIMIT) {
      const counts = new Uint32Array(65536);
      for (const part of parts) {
        const c = part.low[t];
        for (let b = 0; b < 65536; b++) counts[b] += c[b];
      }
      return { bin, counts, sorted: null };
    }
    const sorted = new Float32Array(count);
    let k = 0;
    for (const part of parts) {
      sorted.set(part.low[t], k);
      k += part.low[t].length;
    }
    return { bin, counts: null, sorted: sorted.sort() };
  });
  const order = m.ranks.map(({ target, within }) => {
    if (target < 0) return 0;
    const { bin, counts, sorted } = inBin[target];
    if (sorted) return sorted[within];
    let before = 0;
    for (let b = 0; b < 65536; b++) {
      before += counts![b];
      if (within < before) return fromKey(bin * 65536 + b);
    }
    return NaN; // unreachable: the bin holds `within + 1` values or more
  });
  const quantile = (q: number) => {
    if (!m.finite) return NaN;
    const h = (m.finite - 1) * QUANTILES[q];
    const a = order[2 * q];
    const b = order[2 * q + 1];
    return a + (h - Math.floor(h)) * (b - a);
  };
  const edges = Array.from({ length: bins + 1 }, (_, i) => (i === bins ? hi : lo + (i * (hi - lo)) / bins));
  const { count, finite } = m;
  const stats: Stats = {
    count,
    mean: m.mean,
    variance: m.variance,
    meanSquare: m.meanSquare,
    std: Math.sqrt(m.variance),
    min: finite ? m.min : NaN,
    max: finite ? m.max : NaN,
    zeroFraction: count ? m.zeros / count : NaN,
    saturatedFraction: count ? m.saturated / count : NaN,
    nonFinite: count - finite,
    quantiles: { p01: quantile(0), p50: quantile(1), p99: quantile(2) },
    histogram: { edges, counts: Array.from(histogram.subarray(0, bins)), below: histogram[bins], above: histogram[bins + 1] },
    spread: m.netVariance.length > 1 ? spreadOf(m.netVariance) : null,
  };
  const positionVariance = P ? positionM2.map((v, p) => (m.positionCounts[p] ? v / m.positionCounts[p] : NaN)) : null;
  return { stats, positionVariance };
}

/**
 * Summarizes one layer held in one place: `chunks[k]` holds the values of network k, each one cell.
 * Returns the statistics and, with `positions`, the variance of each spatial position pooled over
 * samples, channels and networks.
 */
export function summarize(chunks: Float32Array[], options: SummaryOptions = {}): { stats: Stats; positionVariance: Float64Array | null } {
  const P = options.positions ?? 0;
  const cells = chunks.map((a, net) => ({ net, start: 0, end: a.length }));
  const moments = mergeMoments([scanMoments(chunks, cells, P, options.saturated)], cells.map((c) => c.net), chunks.length, P, options.bins);
  return finishStats(moments, [scanDetail(chunks, cells, P, moments.params)], P);
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
