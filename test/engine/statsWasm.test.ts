/**
 * The statistics' WebAssembly loops (src/engine/wasm/stats.ts) against the JavaScript ones, which
 * are the oracle: the same bits in every part and in the final statistics, on inputs chosen to hit
 * every path of the module (Inf and NaN, signed zeros, denormals, huge values, spikes of equal
 * values, cells longer than a piece, odd lengths, conv layouts).
 */
import { beforeAll, describe, expect, it, vi } from 'vitest';
import * as wasmStats from '../../src/engine/stats';
import type { CellRange, DetailParams } from '../../src/engine/stats';
import { Stream } from '../../src/engine/rng';
import { wasmScans } from '../../src/engine/wasm/stats';

type StatsModule = typeof wasmStats;

/** A second instance of the module, loaded with WebAssembly missing: it scans in JavaScript. */
let jsStats: StatsModule;
/** What that instance found: whether wasmScans() gave scans, and whether the module uses the JavaScript ones. */
let withoutWasm: { loaded: boolean; javascript: boolean };

beforeAll(async () => {
  vi.stubGlobal('WebAssembly', undefined);
  vi.resetModules();
  try {
    jsStats = await import('../../src/engine/stats');
    const loader = await import('../../src/engine/wasm/stats');
    // The first call picks the scans for good.
    withoutWasm = { loaded: loader.wasmScans() !== null, javascript: jsStats.statsScans() === jsStats.jsScans };
  } finally {
    vi.unstubAllGlobals();
    vi.resetModules();
  }
});

/** Where two results differ: numbers by Object.is (so -0 is not 0, and NaN is NaN), typed arrays by type too. */
function differences(a: unknown, b: unknown, path = ''): string[] {
  if (typeof a === 'number' && typeof b === 'number') return Object.is(a, b) ? [] : [`${path}: ${show(a)} vs ${show(b)}`];
  if (ArrayBuffer.isView(a) || ArrayBuffer.isView(b) || Array.isArray(a) || Array.isArray(b)) {
    const x = a as ArrayLike<number> & object;
    const y = b as ArrayLike<number> & object;
    if (x?.constructor !== y?.constructor) return [`${path}: ${x?.constructor?.name} vs ${y?.constructor?.name}`];
    if (x.length !== y.length) return [`${path}: length ${x.length} vs ${y.length}`];
    for (let i = 0; i < x.length; i++) {
      const d = differences(x[i], y[i], `${path}[${i}]`);
      if (d.length) return d;
    }
    return [];
  }
  if (a && b && typeof a === 'object' && typeof b === 'object') {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
    return keys.flatMap((k) => differences((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], `${path}.${k}`));
  }
  return Object.is(a, b) ? [] : [`${path}: ${String(a)} vs ${String(b)}`];
}

const show = (v: number) => (Object.is(v, -0) ? '-0' : String(v));

/** One layer: its values by network, its cells in order, P, and the summary's options. */
interface Layer {
  name: string;
  values: Float32Array[];
  cells: CellRange[];
  P: number;
  saturated?: (v: number) => boolean;
  bins?: number;
}

const F32 = new Float32Array(1);
const U32 = new Uint32Array(F32.buffer);
/** The float32 with these bits. */
const fromBits = (bits: number) => ((U32[0] = bits >>> 0), F32[0]);

/** Value makers: each returns the next value of a kind of layer. */
function maker(kind: string, r: Stream): () => number {
  const scale = 2 ** (8 * r.uniform() - 4);
  const shift = r.uniform() < 0.3 ? 100 * r.normal() : 0;
  switch (kind) {
    case 'normal':
      return () => shift + scale * r.normal();
    case 'relu':
      return () => Math.max(0, r.normal());
    case 'signed zeros':
      // Zeros of both signs, often first and often the extremes.
      return () => {
        const u = r.uniform();
        return u < 0.3 ? 0 : u < 0.6 ? -0 : u < 0.8 ? Math.abs(r.normal()) : -Math.abs(r.normal());
      };
    case 'non-positive':
      return () => (r.uniform() < 0.3 ? (r.uniform() < 0.5 ? -0 : 0) : -Math.abs(r.normal()));
    case 'non-finite':
      return () => {
        const u = r.uniform();
        return u < 0.02 ? NaN : u < 0.03 ? Infinity : u < 0.04 ? -Infinity : u < 0.1 ? 0 : shift + scale * r.normal();
      };
    case 'denormal':
      // Float32 denormals and zeros (values below 2^-126 round to them).
      return () => (r.uniform() < 0.2 ? 0 : r.normal() * 1e-41);
    case 'huge':
      return () => (r.uniform() < 0.01 ? (r.uniform() < 0.5 ? 3.4e38 : -3.4e38) : r.normal() * 1e37);
    case 'spike':
      // tanh saturating at exactly 1: most values in one key bin, with neighbours in that bin.
      return () => {
        const u = r.uniform();
        return u < 0.75 ? 1 : u < 0.85 ? 1 + Math.floor(8 * r.uniform()) * 2 ** -20 : Math.tanh(3 * r.normal());
      };
    case 'wide range':
      // Magnitudes from 2^-60 to 2^60: float32 values summed in float64 are mostly exact, these are
      // not, so only here would a changed order of addition show.
      return () => r.normal() * 2 ** (120 * r.uniform() - 60);
    case 'outliers':
      return () => (r.uniform() < 0.01 ? 50 * r.normal() : r.normal());
    case 'tiny keys':
      // Zeros and denormals sharing the zeros' key bins (0x7fff, 0x8000), so that a quantile lies there.
      return () => {
        const u = r.uniform();
        const tiny = fromBits(1 + Math.floor(r.uniform() * 0xfffe));
        return u < 0.3 ? 0 : u < 0.4 ? -0 : u < 0.8 ? tiny : -tiny;
      };
    default:
      throw new Error(`unknown kind: ${kind}`);
  }
}

const KINDS = ['normal', 'wide range', 'relu', 'signed zeros', 'non-positive', 'non-finite', 'denormal', 'huge', 'spike', 'outliers', 'tiny keys'];

/** A layer of `nets` networks of `samples` samples of `size` values, cut into cells of whole samples. */
function layer(name: string, r: Stream, kind: string, nets: number, samples: number, size: number, P: number): Layer {
  const next = maker(kind, r);
  const values = Array.from({ length: nets }, () => Float32Array.from({ length: samples * size }, next));
  const cells: CellRange[] = [];
  for (let net = 0; net < nets; net++) {
    let s = 0;
    while (s < samples) {
      // Mostly a few samples, sometimes none (an empty cell) or many.
      const u = r.uniform();
      const take = u < 0.05 ? 0 : u < 0.8 ? 1 + Math.floor(4 * r.uniform()) : Math.floor(samples * r.uniform());
      const end = Math.min(samples, s + take);
      cells.push({ net, start: s * size, end: end * size });
      s = end;
    }
  }
  return { name, values, cells, P };
}

/** Runs the two scans, split over `groups` consecutive groups of cells as workers would, and returns every part and the statistics. */
function run(m: StatsModule, l: Layer, groups: number) {
  const bounds = Array.from({ length: groups + 1 }, (_, g) => Math.round((g * l.cells.length) / groups));
  const parts = bounds.slice(1).map((end, g) => l.cells.slice(bounds[g], end));
  const moments = parts.map((cells) => m.scanMoments(l.values, cells, l.P, l.saturated));
  const merged = m.mergeMoments(moments, l.cells.map((c) => c.net), l.values.length, l.P, l.bins);
  const details = parts.map((cells) => m.scanDetail(l.values, cells, l.P, merged.params));
  return { moments, merged, details, ...m.finishStats(merged, details, l.P) };
}

function expectSame(l: Layer, groups = 1) {
  const got = run(wasmStats, l, groups);
  const want = run(jsStats, l, groups);
  expect(differences(got, want), l.name).toEqual([]);
  return want;
}

describe('statistics in WebAssembly', () => {
  it('the module compiles and is the one in use (else the comparisons below would compare JavaScript with itself)', () => {
    expect(wasmScans()).not.toBeNull();
    expect(wasmStats.statsScans()).not.toBe(wasmStats.jsScans);
  });

  it('without WebAssembly the loader gives nothing and the statistics are scanned in JavaScript', () => {
    expect(withoutWasm).toEqual({ loaded: false, javascript: true });
  });

  it('many random layers: every part and the statistics are the same bits as in JavaScript', () => {
    const r = new Stream('wasm stats');
    let count = 0;
    for (const kind of KINDS)
      for (let k = 0; k < 6; k++) {
        const nets = 1 + Math.floor(3 * r.uniform());
        const samples = 1 + Math.floor(40 * r.uniform());
        // Odd sizes, sizes not a multiple of 4, and a few large enough for a cell to span pieces.
        const size = k === 5 ? 4099 + Math.floor(100 * r.uniform()) : 1 + Math.floor(300 * r.uniform());
        const l = layer(`${kind} #${k}`, r, kind, nets, samples, size, 0);
        const want = expectSame(l, 1 + Math.floor(3 * r.uniform()));
        count += want.stats.count;
      }
    expect(count).toBeGreaterThan(1e6);
  });

  it('conv layouts: per-position sums and squares, odd P, Inf and NaN among the positions', () => {
    const r = new Stream('wasm conv stats');
    for (const kind of ['normal', 'wide range', 'relu', 'non-finite', 'signed zeros'])
      for (const [channels, P] of [
        [1, 1],
        [3, 2],
        [2, 7],
        [4, 64],
        [5, 37],
        [1, 70001], // one row longer than a piece
        [3, 9000], // pieces of whole rows
      ]) {
        const l = layer(`${kind} C=${channels} P=${P}`, r, kind, 2, 1 + Math.floor(6 * r.uniform()), channels * P, P);
        const want = expectSame(l, 2);
        expect(want.positionVariance!.length).toBe(P);
      }
  });

  it('cells longer than a piece, with the shift found only in a later piece', () => {
    const r = new Stream('long cells');
    const a = Float32Array.from({ length: 200_003 }, (_, i) => (i < 70_000 ? NaN : i % 9 === 0 ? 0 : 3 + r.normal()));
    const b = Float32Array.from({ length: 131_075 }, (_, i) => (i === 65_536 || i === 100_000 ? -Infinity : i < 5 ? -0 : r.normal()));
    const c = new Float32Array(70_001).fill(NaN);
    const l: Layer = {
      name: 'long cells',
      values: [a, b, c],
      cells: [
        { net: 0, start: 0, end: a.length },
        { net: 1, start: 0, end: 65_537 },
        { net: 1, start: 65_537, end: b.length },
        { net: 2, start: 0, end: c.length },
      ],
      P: 0,
    };
    const want = expectSame(l);
    expect(want.stats.nonFinite).toBe(70_000 + 2 + 70_001);
  });

  it('spikes of more than 65536 equal values: target bins counted by their low key bits', () => {
    const r = new Stream('spikes');
    for (const total of [90_000, 150_001]) {
      const next = maker('spike', r);
      const l: Layer = { name: `spike of ${total}`, values: [Float32Array.from({ length: total }, next)], cells: [], P: 0 };
      l.cells = [
        { net: 0, start: 0, end: 40_000 },
        { net: 0, start: 40_000, end: total },
      ];
      l.saturated = (v) => Math.abs(v) > 0.99;
      expectSame(l, 2);
      const merged = jsStats.mergeMoments([jsStats.scanMoments(l.values, l.cells, 0)], [0, 0], 1, 0);
      expect(merged.params.targets.some((t) => t.count > 65536)).toBe(true);
    }
  });

  it('other bin counts, all values equal, no values, one value', () => {
    const r = new Stream('bins');
    const cases: [string, Float32Array, number?][] = [
      ['one bin', Float32Array.from({ length: 999 }, () => r.normal()), 1],
      ['7 bins', Float32Array.from({ length: 1001 }, () => r.normal()), 7],
      ['300 bins', Float32Array.from({ length: 5003 }, () => Math.max(0, r.normal())), 300],
      ['all equal', new Float32Array(1003).fill(-2.5)],
      ['all zero', new Float32Array(17)],
      ['all -0', new Float32Array(17).fill(-0)],
      ['empty', new Float32Array(0)],
      ['one value', Float32Array.from([7])],
      ['only NaN', new Float32Array(9).fill(NaN)],
    ];
    for (const [name, a, bins] of cases) expectSame({ name, values: [a], cells: [{ net: 0, start: 0, end: a.length }], P: 0, bins });
  });

  it('display bins at and around lo and hi, whatever lo and hi are (exact float64 comparisons)', () => {
    const r = new Stream('edges');
    const next = (x: number, up: boolean) => {
      F32[0] = x;
      U32[0] += (x > 0) === up ? 1 : -1;
      return F32[0];
    };
    for (let k = 0; k < 40; k++) {
      const lo32 = Math.fround(r.normal() * 2 ** (20 * r.uniform() - 10));
      const hi32 = Math.fround(lo32 + Math.abs(r.normal()) * 2 ** (20 * r.uniform() - 10) + 1e-30);
      // lo and hi as float32 values, just off them, and halfway between two float32 values.
      const pick = (x: number) => [x, x * (1 + 2 ** -40), x * (1 - 2 ** -40), (x + next(x, true)) / 2][Math.floor(4 * r.uniform())];
      const lo = pick(lo32);
      const hi = Math.max(pick(hi32), lo + Math.abs(lo) * 1e-6 + 1e-300);
      const around = (x: number) => [x, next(x, true), next(x, false), next(next(x, true), true), next(next(x, false), false)];
      const values = Float32Array.from({ length: 4096 }, (_, i) => {
        const u = r.uniform();
        if (i % 7 === 0) return around(Math.fround(lo))[Math.floor(5 * r.uniform())];
        if (i % 7 === 1) return around(Math.fround(hi))[Math.floor(5 * r.uniform())];
        return u < 0.5 ? lo + (hi - lo) * r.uniform() : lo + (hi - lo) * 3 * r.normal();
      });
      const params: DetailParams = { lo, hi, bins: 1 + Math.floor(60 * r.uniform()), positionMeans: new Float64Array(0), targets: [] };
      const cells = [{ net: 0, start: 0, end: values.length }];
      const got = wasmStats.scanDetail([values], cells, 0, params);
      const want = jsStats.scanDetail([values], cells, 0, params);
      expect(differences(got, want), `lo ${lo} hi ${hi}`).toEqual([]);
    }
  });
});
