// @vitest-environment jsdom
import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanup, render, screen } from '@testing-library/react';
import { tinyRun, withStats } from './fixtures';

// Counting the axis computations counts the cells that rendered: a cell with a layer places its x ticks once per
// render, on an x scale over its own histogram's range, which tells the cells apart.
vi.mock('../../src/charts/ticks', async (importOriginal) => {
  const original = await importOriginal<typeof import('../../src/charts/ticks')>();
  return { ...original, fittingTicks: vi.fn(original.fittingTicks) };
});
const { fittingTicks } = await import('../../src/charts/ticks');
const { HistogramGrid } = await import('../../src/charts/HistogramGrid');

afterEach(cleanup);

const run = tinyRun();
const props = { depth: 6, which: 'pre', logCounts: false, sharedAxis: false, act: 'relu' } as const;
/** The 1-based layers whose cells rendered since the last call, by the histogram range of their x axis. */
function rendered(): number[] {
  const calls = vi.mocked(fittingTicks).mock.calls.map((c) => (c[0] as unknown as { domain(): number[] }).domain());
  vi.mocked(fittingTicks).mockClear();
  return calls.map(([lo, hi]) => {
    const i = run.layers.findIndex((l) => l.pre.histogram.edges[0] === lo && l.pre.histogram.edges[l.pre.histogram.edges.length - 1] === hi);
    return i + 1;
  });
}

describe('HistogramGrid cells', () => {
  it('redraw only the cell whose layer arrived (each cell on its own axis)', () => {
    const { rerender } = render(<HistogramGrid {...props} a={[run.layers[0], run.layers[1], undefined, undefined, undefined, undefined]} />);
    expect(rendered()).toEqual([1, 2]);
    rerender(<HistogramGrid {...props} a={[run.layers[0], run.layers[1], run.layers[2], undefined, undefined, undefined]} />);
    expect(rendered()).toEqual([3]);
    expect(screen.getByRole('img', { name: /^Layer 3 pre-activation: std/ })).toBeTruthy();
  });

  it('redraw no cell when only gradients arrive: the backward pass makes new layer objects with the same statistics', () => {
    const forward = run.layers.map((l) => ({ ...l, gradient: null }));
    const { rerender } = render(<HistogramGrid {...props} a={forward} />);
    rendered();
    rerender(<HistogramGrid {...props} a={forward.map((l, i) => (i === 4 ? { ...l, gradient: run.layers[4].gradient } : l))} />);
    expect(rendered()).toEqual([]);
  });

  it('redraw only the first cell when a new first layer leaves the other layers\' flags as they were', () => {
    const { rerender } = render(<HistogramGrid {...props} a={run.layers} />);
    rendered();
    // The first layer's variance is the reference of every layer's relative vanishing flag: 5% more changes none of them.
    const first = withStats(run.layers[0], (c) => (c.pre.variance *= 1.05));
    rerender(<HistogramGrid {...props} a={[first, ...run.layers.slice(1)]} />);
    expect(rendered()).toEqual([1]);
    // A first layer 1e5 times larger makes every other layer vanished by comparison: all cells redraw, with the flag.
    const huge = withStats(run.layers[0], (c) => (c.pre.variance *= 1e5));
    rerender(<HistogramGrid {...props} a={[huge, ...run.layers.slice(1)]} />);
    expect(rendered()).toEqual([1, 2, 3, 4, 5, 6]);
    expect(screen.getByRole('img', { name: /^Layer 2 pre-activation: .*flags: vanished/ })).toBeTruthy();
  });
});
