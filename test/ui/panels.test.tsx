// @vitest-environment jsdom
import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, fireEvent, render, screen, within } from '@testing-library/react';
import { createAppStore } from '../../src/state/store';
import { AppContext } from '../../src/ui/useApp';
import { ActivationPanel, ComparePanel, DataPanel, InitPanel, NetworkPanel, ViewPanel } from '../../src/ui/panels';

afterEach(cleanup);

function setup(link = 'v=1&depth=30&width=512') {
  const store = createAppStore(link);
  render(
    <AppContext.Provider value={{ store, runner: null }}>
      <NetworkPanel />
      <ActivationPanel />
      <InitPanel side="a" />
      <ComparePanel />
      <DataPanel />
      <ViewPanel />
    </AppContext.Provider>,
  );
  return store;
}

describe('the panels', () => {
  it('network: depth, width and the CNN controls', () => {
    const store = setup();
    fireEvent.change(screen.getByRole('slider', { name: /Depth/ }), { target: { value: '12' } });
    expect(store.getState().config.a.depth).toBe(12);
    fireEvent.change(screen.getByLabelText('Width (units per layer)'), { target: { value: '256' } });
    expect(store.getState().config.a.width).toBe(256);
    fireEvent.click(screen.getByLabelText('CNN'));
    expect(store.getState().config.a.net).toBe('cnn');
    fireEvent.change(screen.getByLabelText('Kernel'), { target: { value: '5' } });
    fireEvent.change(screen.getByLabelText('Padding'), { target: { value: '2' } });
    expect([store.getState().config.a.kernel, store.getState().config.a.pad]).toEqual([5, 2]);
    expect((screen.getByLabelText('Input C x H x W') as HTMLInputElement).value).toBe('3x32x32');
  });

  it('initialization: the grouped menu, the wscale rule switch and the live first-layer std', () => {
    const store = setup();
    expect(screen.getAllByText('std = sqrt(2/512) = 0.0625')).toHaveLength(1);
    const menu = screen.getByLabelText('Initializer');
    expect(within(menu).getByRole('group', { name: 'Chainer' })).toBeTruthy();
    expect(within(menu).getByRole('group', { name: 'PyTorch' })).toBeTruthy();
    expect(within(menu).getByRole('group', { name: 'Keras' })).toBeTruthy();
    fireEvent.change(menu, { target: { value: 'chainer-wscale' } });
    expect(store.getState().config.a.init).toBe('wscale');
    fireEvent.click(screen.getByRole('button', { name: 'sqrt(2)' }));
    expect(store.getState().config.a.scale).toBe(Math.SQRT2);
    fireEvent.click(screen.getByLabelText(/v1.0-v1.8.2/));
    expect(store.getState().config.a.chainer).toBe('1.8');
    expect(screen.getByText(/std = wscale\/sqrt\(fan_in\) = 1.414\/sqrt\(512\) = 0.0625/)).toBeTruthy();
    fireEvent.click(screen.getByLabelText(/v1.9.0-v1.24.0/));
    expect(screen.getByText(/= 0.05256/)).toBeTruthy();
    fireEvent.change(menu, { target: { value: 'keras-he-normal' } });
    expect([store.getState().config.a.init, store.getState().config.a.dist]).toEqual(['he_normal', 'truncated']);
    fireEvent.change(menu, { target: { value: 'torch-default' } });
    expect([store.getState().config.a.init, store.getState().config.a.biasInit]).toEqual(['torch_default', 'torch']);
  });

  it('leaky ReLU shows its slope control', () => {
    const store = setup();
    expect(screen.queryByLabelText('Negative slope')).toBeNull();
    fireEvent.change(screen.getByLabelText('Activation'), { target: { value: 'leaky_relu' } });
    fireEvent.change(screen.getByLabelText('Negative slope'), { target: { value: '0.2' } });
    expect(store.getState().config.a.slope).toBe(0.2);
  });

  it('data: samples, networks, seed, and a new seed apart from reset', () => {
    const store = setup();
    fireEvent.change(screen.getByLabelText('Samples n'), { target: { value: '64' } });
    fireEvent.change(screen.getByLabelText('Networks'), { target: { value: '4' } });
    expect([store.getState().config.a.n, store.getState().config.a.nets]).toEqual([64, 4]);
    const seed = store.getState().config.a.seed;
    fireEvent.click(screen.getByRole('button', { name: 'New seed' }));
    expect(store.getState().config.a.seed).not.toBe(seed);
    expect(store.getState().config.a.n).toBe(64);
    fireEvent.click(screen.getByRole('button', { name: 'Reset all' }));
    expect(store.getState().config.b).not.toBeNull();
    expect(store.getState().config.a.n).toBe(64);
  });

  it('an out-of-range number is not applied; the field says it is invalid', () => {
    const store = setup();
    const n = screen.getByLabelText('Samples n');
    fireEvent.change(n, { target: { value: '' } });
    expect(n.getAttribute('aria-invalid')).toBe('true');
    expect(store.getState().config.a.n).toBe(256);
    fireEvent.change(n, { target: { value: '999999' } });
    expect(store.getState().config.a.n).toBe(256);
    expect(store.getState().problems[0].key).toBe('n');
  });

  it('comparison: a checkbox turns B on with its own initializer panel', () => {
    const store = setup();
    fireEvent.click(screen.getByLabelText(/Compare with B/));
    expect(store.getState().config.b).toEqual({ init: 'lecun_normal' });
    fireEvent.change(screen.getByLabelText('Initializer (B)'), { target: { value: 'chainer-orthogonal' } });
    expect(store.getState().config.b).toEqual({ init: 'orthogonal', scale: 1.1 });
  });

  it('view options', () => {
    const store = setup();
    fireEvent.click(screen.getByLabelText('post-activation phi(y)'));
    fireEvent.click(screen.getByLabelText('Log counts'));
    fireEvent.click(screen.getByLabelText('One x-axis for all layers'));
    fireEvent.click(screen.getByLabelText('Show theory'));
    expect(store.getState().view).toEqual(expect.objectContaining({ which: 'post', logCounts: true, sharedAxis: true, showTheory: false }));
  });
});
