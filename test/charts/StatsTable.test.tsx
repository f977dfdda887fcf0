// @vitest-environment jsdom
import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, render, screen, within } from '@testing-library/react';
import { StatsTable } from '../../src/charts/StatsTable';
import { formatNumber } from '../../src/engine/report';
import { allText, jsonNull, tinyRun, withStats } from './fixtures';

afterEach(cleanup);

const runA = tinyRun();
const runB = tinyRun({ init: 'wscale', scale: Math.SQRT2, chainer: '1.9' });
const theoryA = runA.layers.map((l) => l.theory);
const theoryB = runB.layers.map((l) => l.theory);

const table = () => screen.getByRole('table', { name: 'Per-layer statistics' });
const bodyRows = () => within(table()).getAllByRole('row').filter((r) => within(r).queryAllByRole('rowheader').length > 0);

describe('StatsTable', () => {
  it('has one row per layer with the formatted numbers of that layer', () => {
    render(<StatsTable a={runA.layers} theoryA={theoryA} />);
    const headers = within(table()).getAllByRole('columnheader').map((h) => h.textContent);
    expect(headers).toEqual(['layer', 'fan-in', 'weight std', 'pre-activation variance', 'theory', 'zero fraction', 'gradient mean square']);
    const rows = bodyRows();
    expect(rows).toHaveLength(6);
    runA.layers.forEach((l, i) => {
      const cells = within(rows[i]).getAllByRole('cell').map((c) => c.textContent);
      expect(within(rows[i]).getByRole('rowheader').textContent).toBe(String(i + 1));
      expect(cells).toEqual([
        '16',
        formatNumber(l.weight.std),
        formatNumber(l.pre.variance),
        formatNumber(l.theory.preVariance),
        `${formatNumber(100 * l.post.zeroFraction, 3)}%`,
        formatNumber(l.gradient!.meanSquare),
      ]);
    });
    // He ReLU: the theory of every layer is exactly 2, printed with four significant digits.
    expect(within(rows[5]).getAllByRole('cell')[3].textContent).toBe('2.000');
  });

  it('shows A and B column groups only in a comparison', () => {
    const { rerender } = render(<StatsTable a={runA.layers} theoryA={theoryA} />);
    expect(within(table()).queryByRole('columnheader', { name: 'A' })).toBeNull();
    rerender(<StatsTable a={runA.layers} b={runB.layers} theoryA={theoryA} theoryB={theoryB} labelA="HeNormal()" labelB="wscale=sqrt(2)" />);
    const groupA = within(table()).getByRole('columnheader', { name: 'A: HeNormal()' });
    const groupB = within(table()).getByRole('columnheader', { name: 'B: wscale=sqrt(2)' });
    expect(groupA.getAttribute('colspan')).toBe('6');
    expect(groupB.getAttribute('colspan')).toBe('6');
    expect(within(table()).getAllByRole('columnheader', { name: 'pre-activation variance' })).toHaveLength(2);
    const cells = within(bodyRows()[5]).getAllByRole('cell').map((c) => c.textContent);
    expect(cells).toHaveLength(12);
    expect(cells[2]).toBe(formatNumber(runA.layers[5].pre.variance));
    expect(cells[8]).toBe(formatNumber(runB.layers[5].pre.variance));
    // wscale=sqrt(2) under the v1.9 rule: Var[y_6] = sqrt(2) (sqrt(2)/2)^5 = 0.25.
    expect(cells[9]).toBe('0.2500');
  });

  it('shows an ellipsis for layers and gradients not computed yet, theory up front, never NaN', () => {
    const forwardOnly = runA.layers.map((l) => withStats(l, (c) => (c.gradient = null)));
    const streaming = [forwardOnly[0], forwardOnly[1], undefined, undefined, undefined, undefined];
    render(<StatsTable a={streaming} theoryA={theoryA} />);
    const rows = bodyRows();
    expect(rows).toHaveLength(6);
    expect(within(rows[0]).getAllByRole('cell')[5].textContent).toBe('…');
    expect(within(rows[4]).getAllByRole('cell').map((c) => c.textContent)).toEqual(['…', '…', '…', '2.000', '…', '…']);
    expect(allText(table())).not.toMatch(/NaN|undefined/);
    expect(screen.getByText(/… marks a value not computed yet/)).toBeTruthy();
  });

  it('prints zero, huge, tiny and JSON-null statistics readably', () => {
    const l = runA.layers[0];
    const extremes = [
      withStats(l, (c) => ((c.pre.variance = 0), (c.post.zeroFraction = 1))),
      withStats(l, (c) => (c.pre.variance = 1e30)),
      withStats(l, (c) => (c.pre.variance = 1e-40)),
      withStats(l, (c) => ((c.pre.variance = jsonNull()), (c.weight.std = jsonNull()), (c.gradient = { meanSquare: Infinity, weightMeanSquare: NaN }))),
    ];
    const theory = [
      l.theory,
      { ...l.theory, preVariance: Infinity, logPreVariance: 400 },
      { ...l.theory, preVariance: 0, logPreVariance: -500.25 },
      { ...l.theory, preVariance: jsonNull<number>(), logPreVariance: jsonNull<number>() },
    ];
    render(<StatsTable a={extremes} theoryA={theory} />);
    const text = bodyRows().map((r) => within(r).getAllByRole('cell').map((c) => c.textContent));
    expect(text[0].slice(2, 5)).toEqual(['0', '2.000', '100%']);
    expect(text[1].slice(2, 4)).toEqual(['1.000e+30', '1.000e+400']);
    expect(text[2].slice(2, 4)).toEqual(['1.000e-40', '5.623e-501']);
    expect(text[3]).toEqual(['16', 'n/a', 'n/a', 'n/a', text[3][4], 'inf']);
    expect(allText(table())).not.toMatch(/NaN|undefined/);
  });
});
