// @vitest-environment jsdom
import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanup, fireEvent, render, screen, within } from '@testing-library/react';
import { VarianceChart } from '../../src/charts/VarianceChart';
import { formatNumber } from '../../src/engine/report';
import { allText, jsonNull, tinyRun, tooltips, withStats } from './fixtures';

afterEach(cleanup);

const he = tinyRun();
const theoryA = he.layers.map((l) => l.theory);
const forwardOnly = he.layers.map((l) => withStats(l, (c) => (c.gradient = null)));
const variancePanel = () => screen.getByRole('group', { name: 'Var[y] (pre-activation) by layer' });
const gradientPanel = () => screen.getByRole('group', { name: 'E[(dL/dy)^2] by layer' });
const tickLabels = (panel: HTMLElement) => Array.from(panel.querySelectorAll('text')).map((t) => t.textContent ?? '');

describe('VarianceChart', () => {
  it('draws one point per computed layer, and gradients only once the backward pass delivered them', () => {
    const streaming = [...forwardOnly.slice(0, 4), undefined, undefined];
    render(<VarianceChart a={streaming} theoryA={theoryA} showTheory />);
    const points = tooltips(/^A, layer \d+: Var\[y\] = /);
    expect(points.map((p) => p.textContent)).toEqual(
      he.layers.slice(0, 4).map((l, i) => `A, layer ${i + 1}: Var[y] = ${formatNumber(l.pre.variance)} (theory 2.000)`),
    );
    expect(tooltips(/^A, layer \d+: E\[\(dL\/dy\)\^2\] = /)).toHaveLength(0);
    expect(screen.getByText(/4 of 6 layers measured/)).toBeTruthy();
    expect(screen.getByText(/Gradients of 0 of 6 layers/)).toBeTruthy();
    cleanup();
    render(<VarianceChart a={he.layers} theoryA={theoryA} showTheory />);
    expect(tooltips(/^A, layer \d+: Var\[y\] = /)).toHaveLength(6);
    expect(tooltips(/^A, layer \d+: E\[\(dL\/dy\)\^2\] = /)).toHaveLength(6);
  });

  it('labels the axes and names A and B in the legend, with B in its own marks', () => {
    const b = tinyRun({ init: 'wscale', scale: Math.SQRT2, chainer: '1.9' });
    render(<VarianceChart a={he.layers} b={b.layers} theoryA={theoryA} theoryB={b.layers.map((l) => l.theory)} showTheory labelA="He" labelB="wscale" />);
    expect(within(variancePanel()).getByText('layer')).toBeTruthy();
    expect(within(variancePanel()).getByText('Var[y] (pre-activation)')).toBeTruthy();
    expect(within(gradientPanel()).getByText('E[(dL/dy)^2]')).toBeTruthy();
    const legend = screen.getByRole('list', { name: 'Legend' });
    expect(within(legend).getAllByRole('listitem').map((li) => li.textContent)).toEqual(['He measured', 'wscale measured', 'He theory', 'wscale theory']);
    const bPoints = tooltips(/^wscale, layer \d+: Var\[y\] = /);
    expect(bPoints).toHaveLength(6);
    expect(bPoints.every((t) => t.parentElement!.tagName === 'rect')).toBe(true);
    expect(tooltips(/^He, layer \d+: Var\[y\] = /).every((t) => t.parentElement!.tagName === 'circle')).toBe(true);
  });

  it('draws theory lines only when asked', () => {
    const { rerender } = render(<VarianceChart a={he.layers} theoryA={theoryA} showTheory />);
    expect(tooltips('A: mean-field theory of Var[y]')).toHaveLength(1);
    expect(tooltips('A: mean-field theory of E[(dL/dy)^2]')).toHaveLength(1);
    rerender(<VarianceChart a={he.layers} theoryA={theoryA} showTheory={false} />);
    expect(tooltips('A: mean-field theory of Var[y]')).toHaveLength(0);
    expect(screen.queryByText('A theory')).toBeNull();
  });

  it('spans measurement and theory on the y axis: the 30-layer wscale story reaches from 1e-4 to 1', () => {
    const story = tinyRun({ depth: 30, width: 32, input: [32], init: 'wscale', scale: Math.SQRT2, chainer: '1.9' });
    // Theory: Var[y_l] = sqrt(2) (sqrt(2)/2)^(l-1): 1.41 at layer 1, 6.1e-5 at layer 30.
    const theory = story.layers.map((l) => l.theory);
    render(<VarianceChart a={[story.layers[0], ...Array(29).fill(undefined)]} theoryA={theory} showTheory />);
    const labels = tickLabels(variancePanel());
    expect(labels).toContain('1');
    expect(labels).toContain('1e-4');
  });

  it('puts a theory beyond float64 on the axis through logPreVariance', () => {
    const theory = theoryA.map((t, i) => (i === 5 ? { ...t, preVariance: Infinity, logPreVariance: 400 } : t));
    render(<VarianceChart a={he.layers} theoryA={theory} showTheory />);
    expect(tooltips(/^A, layer 6: Var\[y\] = .* \(theory 1\.000e\+400\)$/)).toHaveLength(1);
    expect(tickLabels(variancePanel()).some((t) => /^1e[34]\d\d$/.test(t))).toBe(true);
  });

  it('marks zero and non-finite values at the axis edges instead of dropping them', () => {
    const layers = he.layers.map((l, i) =>
      i === 2
        ? withStats(l, (c) => (c.pre.variance = 0))
        : i === 4
          ? withStats(l, (c) => ((c.pre.variance = jsonNull()), (c.gradient = { meanSquare: Infinity, weightMeanSquare: NaN })))
          : l,
    );
    const { container } = render(<VarianceChart a={layers} theoryA={theoryA} showTheory />);
    expect(tooltips(/^A, layer \d+: Var\[y\] = /)).toHaveLength(6);
    expect(tooltips(/^A, layer 3: Var\[y\] = 0 .*marked at the bottom edge/)).toHaveLength(1);
    expect(tooltips(/^A, layer 5: Var\[y\] = not finite .*marked at the top edge/)).toHaveLength(1);
    expect(tooltips(/^A, layer 5: E\[\(dL\/dy\)\^2\] = inf .*marked at the top edge/)).toHaveLength(1);
    expect(within(variancePanel()).getByText('0')).toBeTruthy();
    expect(within(variancePanel()).getByText('inf')).toBeTruthy();
    expect(within(gradientPanel()).getByText('inf')).toBeTruthy();
    expect(screen.getByText(/Measured Var\[y\] is 0 at layer 3, marked at the bottom edge/)).toBeTruthy();
    expect(screen.getByText(/0 or inf, pinned to the axis edge/)).toBeTruthy();
    expect(allText(container)).not.toMatch(/NaN|undefined|Infinity/);
    for (const el of container.querySelectorAll('path, rect, line, circle, text')) {
      for (const attr of ['d', 'x', 'y', 'cx', 'cy', 'x1', 'x2', 'y1', 'y2', 'width', 'height']) {
        expect(el.getAttribute(attr) ?? '').not.toMatch(/NaN|Infinity/);
      }
    }
  });

  it('shows the spread over networks as a band when there are several', () => {
    const several = tinyRun({ nets: 4 });
    render(<VarianceChart a={several.layers} theoryA={several.layers.map((l) => l.theory)} showTheory />);
    expect(tooltips('A: 10th to 90th percentile of Var[y] over the networks')).toHaveLength(1);
    cleanup();
    render(<VarianceChart a={he.layers} theoryA={theoryA} showTheory />);
    expect(tooltips(/percentile/)).toHaveLength(0);
  });

  it('moves between layers with the keyboard and reports the focused layer', () => {
    const onFocus = vi.fn();
    render(<VarianceChart a={he.layers} theoryA={theoryA} showTheory onFocus={onFocus} />);
    const first = within(variancePanel()).getByRole('img', { name: /^Layer 1: Var\[y\] / });
    expect(first.getAttribute('tabindex')).toBe('0');
    expect(within(variancePanel()).getByRole('img', { name: /^Layer 2: / }).getAttribute('tabindex')).toBe('-1');
    fireEvent.focus(first);
    expect(onFocus).toHaveBeenLastCalledWith(0);
    fireEvent.keyDown(first, { key: 'ArrowRight' });
    expect(onFocus).toHaveBeenLastCalledWith(1);
    expect(screen.getByText(new RegExp(`^Layer 2: Var\\[y\\] ${formatNumber(he.layers[1].pre.variance).replace('.', '\\.')} \\(theory 2\\.000\\)`), { selector: 'p' })).toBeTruthy();
    fireEvent.keyDown(within(variancePanel()).getByRole('img', { name: /^Layer 2: / }), { key: 'End' });
    expect(onFocus).toHaveBeenLastCalledWith(5);
  });
});
