// @vitest-environment jsdom
import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanup, render, screen } from '@testing-library/react';
import { tinyRun } from './fixtures';

// Counting the flag computations counts the cells that rendered: each cell computes its layer's flags once per render.
vi.mock('../../src/charts/flags', async (importOriginal) => {
  const original = await importOriginal<typeof import('../../src/charts/flags')>();
  return { ...original, layerFlags: vi.fn(original.layerFlags) };
});
const { layerFlags } = await import('../../src/charts/flags');
const { HistogramGrid } = await import('../../src/charts/HistogramGrid');

afterEach(cleanup);

describe('HistogramGrid cells', () => {
  it('redraw only the cell whose layer arrived (each cell on its own axis)', () => {
    const run = tinyRun();
    const props = { depth: 6, which: 'pre', logCounts: false, sharedAxis: false, act: 'relu' } as const;
    const { rerender } = render(<HistogramGrid {...props} a={[run.layers[0], run.layers[1], undefined, undefined, undefined, undefined]} />);
    const calls = vi.mocked(layerFlags);
    calls.mockClear();
    rerender(<HistogramGrid {...props} a={[run.layers[0], run.layers[1], run.layers[2], undefined, undefined, undefined]} />);
    expect(calls.mock.calls.map((c) => c[0].index)).toEqual([3]);
    expect(screen.getByRole('img', { name: /^Layer 3 pre-activation: std/ })).toBeTruthy();
  });
});
