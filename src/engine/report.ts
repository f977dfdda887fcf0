/**
 * The results in the shape `simulate` prints (and the app exports): plain JSON, with Inf and NaN as
 * null and typed arrays as arrays, and a readable per-layer table.
 */
import type { RunResult } from './simulate';
import type { RunConfig } from './schema';

/** One run of the JSON report. */
export interface RunReport {
  label: string;
  /** The canonical share link of this run alone. */
  link: string;
  config: RunConfig;
  cost: RunResult['cost'];
  input: RunResult['input'];
  layers: unknown[];
}

/** A value made JSON-safe: non-finite numbers become null, typed arrays become arrays. */
export function jsonSafe(value: unknown): unknown {
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (ArrayBuffer.isView(value)) return Array.from(value as unknown as ArrayLike<number>, (v) => (Number.isFinite(v) ? v : null));
  if (Array.isArray(value)) return value.map(jsonSafe);
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = jsonSafe(v);
    return out;
  }
  return value;
}

/** The report of one run, in the JSON schema of `simulate`. */
export function runReport(label: string, link: string, result: RunResult): RunReport {
  return jsonSafe({
    label,
    link,
    config: result.config,
    cost: result.cost,
    input: result.input,
    layers: result.layers.map((l) => ({
      ...l,
      theory: {
        ...l.theory,
        positionVariance: l.theory.positionVariance ? Array.from(l.theory.positionVariance) : undefined,
        positionGradientMeanSquare: l.theory.positionGradientMeanSquare ? Array.from(l.theory.positionGradientMeanSquare) : undefined,
      },
    })),
  }) as RunReport;
}

/**
 * A number with at least `digits` significant digits, in scientific notation when tiny or huge;
 * `-` for a missing value (NaN), `inf`/`-inf` for infinities.
 */
export function formatNumber(x: number | null | undefined, digits = 4): string {
  if (x === null || x === undefined || Number.isNaN(x)) return '-';
  if (x === Infinity) return 'inf';
  if (x === -Infinity) return '-inf';
  if (x === 0) return '0';
  const a = Math.abs(x);
  if (a >= 1e-3 && a < 1e5) return x.toPrecision(digits);
  return x.toExponential(digits - 1);
}

/** A per-layer text table of one run. */
export function formatTable(label: string, link: string, result: RunResult): string {
  const head = ['layer', 'kind', 'fan_in', 'fan_out', 'w std', 'expected', 'pre var', 'theory', 'post E[x^2]', 'zeros', 'nonfinite', 'grad E[g^2]', 'theory'];
  const rows = result.layers.map((l) => [
    String(l.index),
    l.kind,
    String(l.fanIn),
    String(l.fanOut),
    formatNumber(l.weight.std),
    formatNumber(l.weight.expectedStd),
    formatNumber(l.pre.variance),
    formatNumber(l.theory.preVariance),
    formatNumber(l.post.meanSquare),
    `${(100 * l.post.zeroFraction).toFixed(1)}%`,
    String(l.pre.nonFinite),
    formatNumber(l.gradient?.meanSquare),
    formatNumber(l.theory.gradientMeanSquare),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((v, i) => (i < 2 ? v.padEnd(widths[i]) : v.padStart(widths[i]))).join('  ');
  const m = result.cost.multiplyAdds;
  return [
    `${label}: ${link}`,
    `cost: ${formatNumber(m, 3)} multiply-adds, ${(result.cost.bytes / 2 ** 20).toFixed(1)} MiB`,
    line(head),
    ...rows.map(line),
  ].join('\n');
}
