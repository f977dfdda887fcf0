/**
 * Which layers a small-multiples view shows when the network is deeper than the view has room for.
 */

/**
 * At most `max` (at least 2) evenly spaced 0-based layer positions out of `depth`, always including the
 * first and the last: round(i (depth - 1) / (max - 1)) for i = 0 .. max - 1.
 */
export function sampleLayers(depth: number, max: number): number[] {
  const n = Math.max(0, Math.floor(depth));
  const m = Math.max(2, Math.floor(max));
  if (n <= m) return Array.from({ length: n }, (_, i) => i);
  const out: number[] = [];
  for (let i = 0; i < m; i++) {
    const k = Math.round((i * (n - 1)) / (m - 1));
    if (out[out.length - 1] !== k) out.push(k);
  }
  return out;
}
