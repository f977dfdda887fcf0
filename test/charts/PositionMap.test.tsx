// @vitest-environment jsdom
import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, render, screen } from '@testing-library/react';
import { interpolateViridis } from 'd3';
import { PositionMap } from '../../src/charts/PositionMap';
import { formatNumber } from '../../src/engine/report';
import { allText, tinyRun, tooltips, withStats } from './fixtures';

afterEach(cleanup);

// A 3x3 convolution with zero padding 1 on 6x6 inputs: corners see 4 of the 9 taps, other border positions 6.
const cnn = tinyRun({ net: 'cnn', input: [1, 6, 6], width: 2, depth: 2, n: 8, kernel: 3, pad: 1, stride: 1 });
const layer = cnn.layers[0];

describe('PositionMap', () => {
  it('shows measured and theory maps with the exact number of every position', () => {
    render(<PositionMap layer={layer} label="A" />);
    expect(screen.getByRole('img', { name: /^A, layer 1: pre-activation variance Var\[y\] at each of the 6 x 6 output positions/ })).toBeTruthy();
    const measured = tooltips(/^measured, row \d, column \d: Var\[y\] = /);
    const theory = tooltips(/^theory, row \d, column \d: Var\[y\] = /);
    expect(measured).toHaveLength(36);
    expect(theory).toHaveLength(36);
    expect(measured[7].textContent).toBe(`measured, row 2, column 2: Var[y] = ${formatNumber(layer.positionVariance![7])}`);
    expect(theory[0].textContent).toBe(`theory, row 1, column 1: Var[y] = ${formatNumber(layer.theory.positionVariance![0])}`);
  });

  it('states the border effect of zero padding', () => {
    render(<PositionMap layer={layer} />);
    // Theory with E[x^2] = 1 everywhere: corner/centre = 4/9; border/interior = (4 x 4 + 16 x 6) / 20 / 9 = 0.622.
    const caption = screen.getByText(/Zero padding gives the border outputs fewer real inputs/);
    expect(caption.textContent).toMatch(/the border averages \d\.\d+ times the interior's variance \(theory 0\.622\)/);
    expect(caption.textContent).toMatch(/the corner has \d\.\d+ times the centre's \(theory 0\.444\)/);
  });

  it('colours both maps on one scale, with a legend that has ticks', () => {
    const { container } = render(<PositionMap layer={layer} />);
    const values = [...layer.positionVariance!, ...Array.from(layer.theory.positionVariance!)];
    const max = Math.max(...values);
    const min = Math.min(...values);
    const fills = tooltips(/Var\[y\] = /).map((t) => t.parentElement!.getAttribute('fill'));
    // One scale: the darkest and the brightest colour each appear only where the overall extreme is,
    // not once per map as two separate scales would give.
    expect(fills.filter((f) => f === interpolateViridis(1))).toHaveLength(values.filter((v) => v === max).length);
    expect(fills.filter((f) => f === interpolateViridis(0))).toHaveLength(values.filter((v) => v === min).length);
    // The numbers printed along the colour bar (the only numbers drawn as text).
    const legendTicks = Array.from(container.querySelectorAll('svg text'))
      .map((t) => t.textContent!)
      .filter((t) => /^-?[\d.]+(e[-+]\d+)?$/.test(t));
    expect(legendTicks.length).toBeGreaterThanOrEqual(2);
    for (const t of legendTicks) {
      expect(Number(t)).toBeGreaterThanOrEqual(min);
      expect(Number(t)).toBeLessThanOrEqual(max);
    }
  });

  it('says what is missing: a layer being computed, a dense layer, non-finite positions', () => {
    const { rerender, container } = render(<PositionMap layer={undefined} label="A" />);
    expect(screen.getByText('A, variance by position: computing…')).toBeTruthy();
    rerender(<PositionMap layer={tinyRun().layers[0]} />);
    expect(screen.getByText(/layer 1 is a dense layer: it has no spatial positions to map/)).toBeTruthy();
    const broken = withStats(layer, (l) => {
      l.positionVariance![0] = Infinity;
      l.positionVariance![1] = null as unknown as number;
    });
    rerender(<PositionMap layer={broken} />);
    expect(tooltips('measured, row 1, column 1: Var[y] = not finite')).toHaveLength(1);
    expect(tooltips('measured, row 1, column 2: Var[y] = not finite')).toHaveLength(1);
    expect(allText(container)).not.toMatch(/NaN|undefined|Infinity/);
  });
});
