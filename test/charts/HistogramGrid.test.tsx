// @vitest-environment jsdom
import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanup, fireEvent, render, screen, within } from '@testing-library/react';
import { HistogramGrid } from '../../src/charts/HistogramGrid';
import { formatPercent } from '../../src/charts/numbers';
import type { LayerResult } from '../../src/engine/simulate';
import { allText, jsonNull, tinyRun, withStats } from './fixtures';

afterEach(cleanup);

const relu = tinyRun();
const cells = () => screen.getAllByRole('img', { name: /^Layer \d+/ });
const cellNumbers = () => cells().map((c) => Number(/^Layer (\d+)/.exec(c.getAttribute('aria-label')!)![1]));

/** A copy of a layer with its values multiplied by `k` (histogram edges and the spread statistics). */
function scaled(layer: LayerResult, k: number): LayerResult {
  return withStats(layer, (l) => {
    for (const s of [l.pre, l.post]) {
      s.histogram.edges = s.histogram.edges.map((e) => e * k);
      s.mean *= k;
      s.std *= Math.abs(k);
      s.variance *= k * k;
      s.min *= k;
      s.max *= k;
    }
  });
}

describe('HistogramGrid', () => {
  it('draws one cell per layer, with its number and std, when the network fits', () => {
    render(<HistogramGrid a={relu.layers} depth={6} which="pre" logCounts={false} sharedAxis act="relu" />);
    expect(cellNumbers()).toEqual([1, 2, 3, 4, 5, 6]);
    expect(screen.queryByRole('button', { name: /show all/i })).toBeNull();
    expect(screen.getByText('Showing all 6 layers.', { exact: false })).toBeTruthy();
    const third = screen.getByRole('img', { name: /^Layer 3 / });
    expect(within(third).getByText(`std ${relu.layers[2].pre.std.toPrecision(3)}`)).toBeTruthy();
  });

  it('shows at most maxCells evenly spaced layers of a deep network, first and last included, and all on request', () => {
    const deep = tinyRun({ depth: 200, width: 8, input: [8], n: 4 });
    render(<HistogramGrid a={deep.layers} depth={200} which="post" logCounts sharedAxis={false} act="relu" />);
    const sampled = cellNumbers();
    expect(sampled).toHaveLength(30);
    expect(sampled[0]).toBe(1);
    expect(sampled[29]).toBe(200);
    // Evenly spaced: gaps of 6 or 7 layers (199 / 29 = 6.86).
    for (let i = 1; i < 30; i++) expect([6, 7]).toContain(sampled[i] - sampled[i - 1]);
    expect(screen.getByText(/Showing 30 of 200 layers, evenly spaced, the first and the last included: 1, 8, /)).toBeTruthy();

    fireEvent.click(screen.getByRole('button', { name: 'Show all 200 layers' }));
    const region = screen.getByRole('region', { name: 'All 200 layers' });
    expect(within(region).getAllByRole('img', { name: /^Layer \d+/ })).toHaveLength(200);
    fireEvent.click(screen.getByRole('button', { name: 'Show 30 evenly spaced layers' }));
    expect(cells()).toHaveLength(30);
  });

  it('respects a smaller maxCells', () => {
    render(<HistogramGrid a={relu.layers} depth={6} which="pre" logCounts={false} sharedAxis act="relu" maxCells={3} />);
    expect(cellNumbers()).toEqual([1, 4, 6]);
  });

  it('shows a placeholder for layers not computed yet', () => {
    const streaming = [relu.layers[0], relu.layers[1], undefined, undefined, undefined, undefined];
    render(<HistogramGrid a={streaming} depth={6} which="pre" logCounts={false} sharedAxis act="relu" />);
    expect(screen.getByRole('img', { name: 'Layer 4: computing…' })).toBeTruthy();
    expect(within(screen.getByRole('img', { name: 'Layer 6: computing…' })).getByText('computing…')).toBeTruthy();
    expect(screen.getByText(/2 of 6 layers computed/)).toBeTruthy();
  });

  it('a stopped run\'s missing layers say what the page passes instead of "computing…"', () => {
    const stopped = [relu.layers[0], relu.layers[1], undefined, undefined, undefined, undefined];
    render(<HistogramGrid a={stopped} depth={6} which="pre" logCounts={false} sharedAxis act="relu" pending="not computed (stopped)" />);
    expect(within(screen.getByRole('img', { name: 'Layer 4: not computed (stopped)' })).getByText('not computed (stopped)')).toBeTruthy();
    expect(screen.queryByText('computing…')).toBeNull();
  });

  it('caps the ReLU spike at zero and says how much sits there', () => {
    render(<HistogramGrid a={relu.layers} depth={6} which="post" logCounts={false} sharedAxis={false} act="relu" />);
    for (const [i, layer] of relu.layers.entries()) {
      const cell = screen.getByRole('img', { name: new RegExp(`^Layer ${i + 1} `) });
      expect(within(cell).getByText(`${formatPercent(layer.post.zeroFraction)} at 0`)).toBeTruthy();
    }
  });

  it('labels no spike in a pre-activation histogram', () => {
    const { container } = render(<HistogramGrid a={relu.layers} depth={6} which="pre" logCounts={false} sharedAxis act="relu" />);
    expect(container.textContent).not.toMatch(/at 0|in one bin/);
  });

  it('says when a layer is too narrow to see on the shared axis, and draws it on its own axis', () => {
    const layers = relu.layers.map((l, i) => (i === 3 ? scaled(l, 1e-12) : l));
    const { rerender } = render(<HistogramGrid a={layers} depth={6} which="pre" logCounts={false} sharedAxis act="relu" />);
    const tiny = screen.getByRole('img', { name: /^Layer 4 / });
    expect(within(tiny).getByText(/^range \d\.\d\de-12: too narrow$/)).toBeTruthy();
    expect(tiny.getAttribute('aria-label')).toMatch(/range \d\.\d\de-12, too narrow to see on the shared axis$/);
    expect(screen.getAllByText(/too narrow$/)).toHaveLength(1);
    expect(screen.getByText(/"too narrow" marks a histogram whose whole range is under 2 px on the shared axis/)).toBeTruthy();
    rerender(<HistogramGrid a={layers} depth={6} which="pre" logCounts={false} sharedAxis={false} act="relu" />);
    expect(screen.queryAllByText(/too narrow/)).toHaveLength(0);
    expect(screen.getByRole('img', { name: /^Layer 4 / }).getAttribute('aria-label')).not.toMatch(/too narrow/);
    // On its own axis the cell's ticks are of the order of 1e-12.
    expect(within(screen.getByRole('img', { name: /^Layer 4 / })).getAllByText(/e-12$/).length).toBeGreaterThan(0);
  });

  it('draws zero, huge and non-finite layers without printing NaN', () => {
    const l = relu.layers[0];
    const allInf = withStats(l, (c) => {
      c.pre.nonFinite = c.pre.count;
      c.pre.histogram.counts = c.pre.histogram.counts.map(() => 0);
      c.pre.mean = jsonNull();
      c.pre.std = jsonNull();
      c.pre.variance = jsonNull();
      c.pre.min = jsonNull();
      c.pre.max = jsonNull();
      c.pre.quantiles = { p01: NaN, p50: NaN, p99: NaN };
    });
    const zero = withStats(l, (c) => {
      c.pre.variance = 0;
      c.pre.std = 0;
      c.pre.mean = 0;
      c.pre.min = 0;
      c.pre.max = 0;
      c.pre.zeroFraction = 1;
      c.pre.histogram = { edges: Array.from({ length: 49 }, (_, i) => -1 + i / 24), counts: Array.from({ length: 48 }, (_, i) => (i === 24 ? c.pre.count : 0)), below: 0, above: 0 };
    });
    const huge = scaled(l, 1e30);
    const layers = [allInf, zero, huge, l, l, l];
    const { container } = render(<HistogramGrid a={layers} depth={6} which="pre" logCounts={false} sharedAxis act="relu" />);
    const first = screen.getByRole('img', { name: /^Layer 1 / });
    expect(within(first).getByText('no finite values to draw')).toBeTruthy();
    expect(within(first).getByText(`${l.pre.count} non-finite not drawn`)).toBeTruthy();
    expect(within(first).getByText(/exploded, non-finite/)).toBeTruthy();
    expect(within(screen.getByRole('img', { name: /^Layer 2 / })).getByText('vanished')).toBeTruthy();
    expect(within(screen.getByRole('img', { name: /^Layer 3 / })).getByText('exploded')).toBeTruthy();
    expect(allText(container)).not.toMatch(/NaN|undefined|Infinity/);
    for (const path of container.querySelectorAll('path, rect, line, text')) {
      for (const attr of ['d', 'x', 'y', 'x1', 'x2', 'y1', 'y2', 'width', 'height']) {
        expect(path.getAttribute(attr) ?? '').not.toMatch(/NaN|Infinity/);
      }
    }
  });

  it('reports hover and focus, and shows the exact numbers of the focused layer', () => {
    const onFocus = vi.fn();
    render(<HistogramGrid a={relu.layers} depth={6} which="pre" logCounts={false} sharedAxis act="relu" onFocus={onFocus} />);
    const third = screen.getByRole('img', { name: /^Layer 3 / });
    expect(third.getAttribute('tabindex')).toBe('0');
    fireEvent.focus(third);
    expect(onFocus).toHaveBeenLastCalledWith(2);
    const s = relu.layers[2].pre;
    const detail = screen.getByText(/^Layer 3 \(pre-activation\): mean/);
    expect(detail.textContent).toContain(`std ${s.std.toPrecision(4)}`);
    expect(detail.textContent).toContain(`p50 `);
    expect(detail.textContent).toContain(`zero fraction ${formatPercent(s.zeroFraction)}`);
    fireEvent.blur(third);
    expect(onFocus).toHaveBeenLastCalledWith(null);
    fireEvent.mouseEnter(screen.getByRole('img', { name: /^Layer 5 / }));
    expect(onFocus).toHaveBeenLastCalledWith(4);
  });

  it('follows a focus set by another view', () => {
    render(<HistogramGrid a={relu.layers} depth={6} which="post" logCounts={false} sharedAxis act="relu" focused={5} />);
    expect(screen.getByText(/^Layer 6 \(post-activation\): mean/)).toBeTruthy();
  });

  it('overlays B with its own legend entry and numbers', () => {
    const b = tinyRun({ init: 'wscale', scale: Math.SQRT2, chainer: '1.9' });
    render(
      <HistogramGrid a={relu.layers} b={[b.layers[0], undefined, ...b.layers.slice(2)]} depth={6} which="pre" logCounts={false} sharedAxis act="relu" labelA="He" labelB="wscale" />,
    );
    expect(screen.getByText('A: He (filled bars)')).toBeTruthy();
    expect(screen.getByText('B: wscale (dashed outline)')).toBeTruthy();
    const cell = screen.getByRole('img', { name: /^Layer 1 / });
    expect(cell.getAttribute('aria-label')).toMatch(/A std .*; B std /);
    expect(within(screen.getByRole('img', { name: /^Layer 2 / })).getByText('B: computing…')).toBeTruthy();
    expect(screen.getByRole('img', { name: /^Layer 2 / }).getAttribute('aria-label')).toMatch(/; B computing…$/);
  });
});
