// @vitest-environment jsdom
import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanup, fireEvent, render, screen, within } from '@testing-library/react';
import { VarianceChart } from '../../src/charts/VarianceChart';
import { formatNumber } from '../../src/engine/report';
import { formatPowerOfTen } from '../../src/charts/numbers';
import { defaultRun, validateRun } from '../../src/engine/schema';
import { configTheory } from '../../src/engine/simulate';
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

  // Depth 200, relu, width 128: normal std 0.01 multiplies E[g^2] by 1/2 x 128 x 1e-4 = 0.0064 per layer going down
  // (0.0064^199 = 10^-436.4 at layer 1), He normal scale 8 by 1/2 x 128 x 2 x 64/128 = 64 (64^199 = 10^359.4).
  for (const [story, over, log10First] of [
    ['vanishing (normal std 0.01)', { init: 'normal', scale: 0.01 }, 199 * Math.log10(0.0064)],
    ['exploding (He normal scale 8)', { init: 'he_normal', scale: 8 }, 199 * Math.log10(64)],
  ] as const) {
    it(`draws a depth-200 ${story} gradient theory beyond float64 through logGradientMeanSquare, never a bare NaN`, () => {
      const { config } = validateRun({ ...defaultRun(), depth: 200, width: 128, input: [128], act: 'relu', ...over });
      const theory = configTheory(config);
      // The float64 value has left its range; the log field has not.
      expect(theory[0].gradientMeanSquare).toBe(log10First < 0 ? 0 : Infinity);
      const { container } = render(<VarianceChart a={Array(200).fill(undefined)} theoryA={theory} showTheory />);
      const first = within(gradientPanel()).getByRole('img', { name: /^Layer 1: / });
      expect(first.getAttribute('aria-label')).toBe(`Layer 1: E[(dL/dy)^2] not computed yet (theory ${formatPowerOfTen(log10First)})`);
      // On the axis, not pinned to an edge: the axis spans the powers of ten from layer 200's 1 to layer 1's.
      expect(screen.queryByText(/Theory E\[\(dL\/dy\)\^2\] is (0|not finite) at layer/)).toBeNull();
      expect(within(gradientPanel()).queryByText('inf')).toBeNull();
      expect(within(gradientPanel()).queryByText('0')).toBeNull();
      const powers = tickLabels(gradientPanel()).flatMap((t) => (/^1e-?\d+$/.test(t) ? [Number(t.slice(2))] : []));
      expect(Math.min(...powers, 0)).toBeLessThanOrEqual(log10First < 0 ? Math.ceil(log10First) + 60 : 0);
      expect(Math.max(...powers, 0)).toBeGreaterThanOrEqual(log10First > 0 ? Math.floor(log10First) - 60 : 0);
      const line = tooltips('A: mean-field theory of E[(dL/dy)^2]')[0].parentElement!;
      // One unbroken line through all 200 layers: one move, 199 line segments.
      expect(line.getAttribute('d')!.match(/[ML]/g)).toHaveLength(200);
      expect(line.getAttribute('d')!.match(/M/g)).toHaveLength(1);
      expect(allText(container)).not.toMatch(/NaN|undefined|Infinity/);
      for (const el of container.querySelectorAll('path, rect, line, circle, text')) {
        for (const attr of ['d', 'x', 'y', 'cx', 'cy', 'x1', 'x2', 'y1', 'y2', 'width', 'height']) expect(el.getAttribute(attr) ?? '').not.toMatch(/NaN|Infinity/);
      }
    });
  }

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
