/** Layer fixtures for the chart tests: tiny real runs of the engine, and hand-made extremes built from them. */
import { runAll, type LayerResult, type RunResult } from '../../src/engine/simulate';
import { defaultRun, validateRun, type RunConfig } from '../../src/engine/schema';

/** A small validated run: an MLP of depth 6, width 16, 8 samples unless overridden. */
export function tinyRun(over: Partial<RunConfig> = {}): RunResult {
  const { config, problems } = validateRun({ ...defaultRun(), depth: 6, width: 16, input: [16], n: 8, ...over });
  if (problems.length) throw new Error(`fixture config has problems: ${JSON.stringify(problems)}`);
  return runAll(config);
}

/** A deep copy of a layer with some fields replaced (statistics may be set to null, as JSON delivers Inf and NaN). */
export function withStats(layer: LayerResult, patch: (copy: LayerResult) => void): LayerResult {
  const copy = structuredClone(layer);
  patch(copy);
  return copy;
}

/** Sets a field to null the way a JSON round trip does for Inf and NaN. */
export function jsonNull<T>(): T {
  return null as unknown as T;
}

/** Text of every node under `root`, for asserting that no "NaN" or "undefined" is printed anywhere. */
export function allText(root: Element): string {
  const attrs: string[] = [];
  root.querySelectorAll('*').forEach((el) => {
    for (const name of ['aria-label', 'title']) {
      const v = el.getAttribute(name);
      if (v) attrs.push(v);
    }
  });
  return `${root.textContent ?? ''}\n${attrs.join('\n')}`;
}

/**
 * The SVG tooltips (<title> elements) whose text matches, i.e. what a reader sees on hovering a mark.
 * testing-library's *ByTitle finds only a <title> directly under <svg>, not one inside a <circle> or <path>.
 */
export function tooltips(match: RegExp | string, root: ParentNode = document): Element[] {
  return Array.from(root.querySelectorAll<Element>('title')).filter((t) =>
    typeof match === 'string' ? t.textContent === match : match.test(t.textContent ?? ''),
  );
}
