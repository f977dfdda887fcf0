import { describe, expect, it } from 'vitest';
import { finishStats, interpolate, mergeMoments, scanDetail, scanMoments, summarize, type CellRange } from '../../src/engine/stats';
import { Stream } from '../../src/engine/rng';

const normals = (n: number, seed: string, scale = 1, shift = 0) => {
  const r = new Stream(seed);
  return Float32Array.from({ length: n }, () => shift + scale * r.normal());
};

describe('summarize', () => {
  it('moments, extremes and quantiles agree with a direct computation', () => {
    const a = normals(5000, 'a', 2, 1);
    const b = normals(3001, 'b', 0.5, -1);
    const { stats } = summarize([a, b]);
    const all = [...a, ...b];
    const mean = all.reduce((s, v) => s + v, 0) / all.length;
    const variance = all.reduce((s, v) => s + (v - mean) ** 2, 0) / all.length;
    expect(stats.count).toBe(8001);
    expect(stats.mean).toBeCloseTo(mean, 12);
    expect(stats.variance).toBeCloseTo(variance, 12);
    expect(stats.meanSquare).toBeCloseTo(all.reduce((s, v) => s + v * v, 0) / all.length, 12);
    expect(stats.std).toBeCloseTo(Math.sqrt(variance), 12);
    const sorted = [...all].sort((x, y) => x - y);
    expect(stats.min).toBe(sorted[0]);
    expect(stats.max).toBe(sorted[sorted.length - 1]);
    expect(stats.quantiles.p01).toBeCloseTo(interpolate(sorted, 0.01), 12);
    expect(stats.quantiles.p50).toBeCloseTo(interpolate(sorted, 0.5), 12);
    expect(stats.quantiles.p99).toBeCloseTo(interpolate(sorted, 0.99), 12);
    const h = stats.histogram;
    expect(h.edges.length).toBe(h.counts.length + 1);
    expect(h.counts.reduce((s, v) => s + v, 0) + h.below + h.above).toBe(8001);
    expect(h.edges[0]).toBeCloseTo(Math.max(sorted[0], mean - 4 * Math.sqrt(variance)), 10);
    // Spread of the two networks' own variances (about 4 and 0.25), interpolated between them.
    const own = (x: Float32Array) => {
      const m = x.reduce((s, v) => s + v, 0) / x.length;
      return x.reduce((s, v) => s + (v - m) ** 2, 0) / x.length;
    };
    const [va, vb] = [own(a), own(b)];
    expect(stats.spread!.p10).toBeCloseTo(vb + 0.1 * (va - vb), 10);
    expect(stats.spread!.p50).toBeCloseTo((va + vb) / 2, 10);
    expect(stats.spread!.p90).toBeCloseTo(vb + 0.9 * (va - vb), 10);
  });

  it('tiny values: a variance of 1e-48 is reported, not 0', () => {
    const { stats } = summarize([normals(10000, 't', 1e-24)]);
    expect(stats.variance).toBeGreaterThan(0.9e-48);
    expect(stats.variance).toBeLessThan(1.1e-48);
    expect(stats.histogram.counts.reduce((s, v) => s + v, 0) + stats.histogram.below + stats.histogram.above).toBe(10000);
  });

  it('a large mean does not cancel the variance away', () => {
    const { stats } = summarize([normals(10000, 'm', 1e-3, 1000)]);
    // float32 spacing at 1000 is 6e-5, so the values carry the 1e-3 spread to about 3%.
    expect(stats.std / 1e-3).toBeGreaterThan(0.95);
    expect(stats.std / 1e-3).toBeLessThan(1.05);
  });

  it('counts Inf and NaN apart and leaves them out of every other statistic', () => {
    const a = Float32Array.from([1, 2, Infinity, NaN, -Infinity, 3, 0]);
    const { stats } = summarize([a]);
    expect(stats.nonFinite).toBe(3);
    expect(stats.mean).toBeCloseTo(1.5, 12);
    expect(stats.zeroFraction).toBeCloseTo(1 / 7, 12);
    expect(stats.max).toBe(3);
    const none = summarize([Float32Array.from([NaN, Infinity])]).stats;
    expect(none.nonFinite).toBe(2);
    expect(Number.isNaN(none.mean)).toBe(true);
    expect(Number.isNaN(none.quantiles.p50)).toBe(true);
  });

  it('all zeros: exact-zero fraction 1, a finite histogram holding every value', () => {
    const { stats } = summarize([new Float32Array(100)]);
    expect(stats.zeroFraction).toBe(1);
    expect(stats.variance).toBe(0);
    expect(stats.histogram.edges.every(Number.isFinite)).toBe(true);
    expect(stats.histogram.counts.reduce((s, v) => s + v, 0)).toBe(100);
  });

  it('per-position variance of [n, C, P] layouts and the saturation count', () => {
    // Position 0 always 0, position 1 alternates -1, 1: variances 0 and 1.
    const a = new Float32Array(2 * 3 * 2);
    for (let i = 0; i < a.length; i += 2) a[i + 1] = (i / 2) % 2 ? 1 : -1;
    const { stats, positionVariance } = summarize([a], { positions: 2, saturated: (v) => Math.abs(v) > 0.99 });
    expect(Array.from(positionVariance!)).toEqual([0, 1]);
    expect(stats.saturatedFraction).toBe(0.5);
  });

  it('quantiles are exact order statistics, also among many duplicates, zeros, negatives and a spike', () => {
    const r = new Stream('s');
    const cases: Float32Array[] = [
      Float32Array.from({ length: 2001 }, () => (r.uniform() < 0.5 ? 0 : r.normal())),
      Float32Array.from({ length: 999 }, () => (r.uniform() < 0.4 ? 1 : Math.tanh(3 * r.normal()))),
      Float32Array.from({ length: 1000 }, () => -Math.abs(r.normal()) * 1e-30),
      Float32Array.from({ length: 7 }, () => r.normal() * 1e20),
      Float32Array.from([5]),
      Float32Array.from([-0, 0, -0, 2, NaN]),
      // A spike of more than 65536 equal values in one bin (tanh saturating at exactly 1), plus neighbours in that bin.
      Float32Array.from({ length: 100_001 }, (_, i) => (i % 10 < 8 ? 1 : i % 10 === 8 ? 1 + (i % 7) * 2 ** -20 : r.normal())),
    ];
    for (const a of cases) {
      const sorted = Float64Array.from(a.filter((v) => !Number.isNaN(v))).sort();
      const { quantiles } = summarize([a]).stats;
      expect(quantiles.p01).toBe(interpolate(sorted, 0.01));
      expect(quantiles.p50).toBe(interpolate(sorted, 0.5));
      expect(quantiles.p99).toBe(interpolate(sorted, 0.99));
    }
  });

  it('the same values cut into cells, held by 1, 2 or 5 workers: bit-identical statistics', () => {
    const r = new Stream('cells');
    const P = 6;
    const nets = [0, 1].map(() => Float32Array.from({ length: 40 * 3 * P }, () => (r.uniform() < 0.1 ? 0 : 3 + r.normal())));
    nets[1][17] = Infinity;
    // Cells of 4 samples (3 x P values each), network by network.
    const cells: CellRange[] = [];
    for (let net = 0; net < 2; net++) for (let s = 0; s < 40; s += 4) cells.push({ net, start: s * 3 * P, end: (s + 4) * 3 * P });
    const cellNets = cells.map((c) => c.net);
    const run = (workers: number) => {
      const bounds = Array.from({ length: workers + 1 }, (_, w) => Math.round((w * cells.length) / workers));
      const groups = bounds.slice(1).map((end, w) => cells.slice(bounds[w], end));
      const m = mergeMoments(groups.map((g) => scanMoments(nets, g, P)), cellNets, 2, P);
      return finishStats(m, groups.map((g) => scanDetail(nets, g, P, m.params)), P);
    };
    const one = run(1);
    expect(one.stats.nonFinite).toBe(1);
    for (const w of [2, 5]) {
      const other = run(w);
      expect(other.stats).toEqual(one.stats);
      expect(Array.from(other.positionVariance!)).toEqual(Array.from(one.positionVariance!));
    }
  });
});
