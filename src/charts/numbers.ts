/**
 * Reading statistics that may have passed through JSON, where Inf and NaN arrive as null.
 */
import { formatNumber } from '../engine/report';

/** A statistic as a number: null and undefined (JSON's Inf and NaN) become NaN. */
export function toNumber(x: number | null | undefined): number {
  return typeof x === 'number' ? x : NaN;
}

/** What a chart prints for a statistic that has no value (NaN, or null from JSON). */
export const NOT_AVAILABLE = 'n/a';

/** A statistic via `formatNumber` (at least three significant digits, scientific when tiny or huge), `n/a` when missing. */
export function formatValue(x: number | null | undefined, digits = 4): string {
  const v = toNumber(x);
  return Number.isNaN(v) ? NOT_AVAILABLE : formatNumber(v, Math.max(3, digits));
}

/** A fraction as a percentage with at least three significant digits, e.g. 0.482 -> `48.2%`; `n/a` when missing. */
export function formatPercent(fraction: number | null | undefined): string {
  const f = toNumber(fraction);
  if (Number.isNaN(f)) return NOT_AVAILABLE;
  return `${formatNumber(100 * f, 3)}%`;
}

/** Where a value sits on a log axis: its log10, or the edge it is pinned to (`zero` for <= 0, `inf` for Inf or NaN). */
export type LogPlace = { kind: 'log'; log: number } | { kind: 'zero' } | { kind: 'inf' };

/** log10 of a positive finite value; 0 and negatives go to the `zero` edge, Inf, NaN and null to the `inf` edge. */
export function logPlace(x: number | null | undefined): LogPlace {
  const v = toNumber(x);
  if (v > 0 && Number.isFinite(v)) return { kind: 'log', log: Math.log10(v) };
  if (v <= 0) return { kind: 'zero' };
  return { kind: 'inf' };
}

/** 10^log10 written like `formatNumber` writes scientific numbers (`5.623e-501`), for values beyond float64's range. */
export function formatPowerOfTen(log10: number, digits = 4): string {
  if (log10 === Infinity) return 'inf';
  if (log10 === -Infinity) return '0';
  if (!Number.isFinite(log10)) return NOT_AVAILABLE;
  let e = Math.floor(log10);
  const m = 10 ** (log10 - e);
  let text = m.toFixed(digits - 1);
  if (Number(text) >= 10) {
    e += 1;
    text = (m / 10).toFixed(digits - 1);
  }
  return `${text}e${e < 0 ? '-' : '+'}${Math.abs(e)}`;
}
