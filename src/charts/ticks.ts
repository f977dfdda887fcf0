/**
 * Axis ticks whose labels fit: d3 proposes round values, and the densest proposal whose labels do not
 * overlap (at an estimated glyph width) is kept.
 */
import { formatNumber } from '../engine/report';

/** A tick label: integers below 1e5 as they are, else `formatNumber` with three significant digits and the mantissa's trailing zeros dropped (`0.5`, `1e+11`). */
export function tickLabel(value: number): string {
  if (Number.isInteger(value) && Math.abs(value) < 1e5) return String(value);
  const text = formatNumber(value, 3);
  return text.replace(/(\.\d*?)0+(?=e|$)/, '$1').replace(/\.(?=e|$)/, '');
}

/** One placed tick. */
export interface PlacedTick {
  value: number;
  x: number;
  label: string;
  anchor: 'start' | 'middle' | 'end';
}

/** Estimated width in px of one character of an 11-12 px sans-serif label (digits are about 0.6 em). */
export const CHAR_PX = 6.8;

/**
 * The most ticks (at most `count`) of a linear scale whose labels fit between `left` and `right`
 * without overlapping; a label at an edge is anchored inward.
 */
export function fittingTicks(
  scale: { ticks(count: number): number[]; (value: number): number },
  left: number,
  right: number,
  count = 5,
): PlacedTick[] {
  for (let n = count; n >= 1; n--) {
    const placed = scale.ticks(n).map((value): PlacedTick & { from: number; to: number } => {
      const x = scale(value);
      const label = tickLabel(value);
      const w = label.length * CHAR_PX;
      if (x - w / 2 < left) return { value, x, label, anchor: 'start', from: x, to: x + w };
      if (x + w / 2 > right) return { value, x, label, anchor: 'end', from: x - w, to: x };
      return { value, x, label, anchor: 'middle', from: x - w / 2, to: x + w / 2 };
    });
    const fits = placed.every((t, i) => i === 0 || t.from >= placed[i - 1].to + 6);
    if (fits || n === 1) return placed.slice(0, fits ? placed.length : 1).map(({ value, x, label, anchor }) => ({ value, x, label, anchor }));
  }
  return [];
}
