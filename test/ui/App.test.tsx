// @vitest-environment jsdom
import { afterEach, describe, expect, it, vi } from 'vitest';
import { act, cleanup, fireEvent, render, screen } from '@testing-library/react';
import { createAppStore } from '../../src/state/store';
import { AppContext } from '../../src/ui/useApp';
import { App } from '../../src/ui/App';
import type { Runner } from '../../src/state/runner';

afterEach(cleanup);

function setup(link: string) {
  const store = createAppStore(link);
  const runner: Runner = { retry: vi.fn(), cancel: vi.fn(), dispose: vi.fn() };
  render(
    <AppContext.Provider value={{ store, runner }}>
      <App />
    </AppContext.Provider>,
  );
  return { store, runner };
}

describe('the page', () => {
  it('a bad link: the notice lists each bad key with the value used instead', () => {
    setup('v=1&depth=abc&act=relux&bogus=1');
    const notice = screen.getByRole('alert', { name: 'Problems with the configuration' });
    expect(notice.textContent).toContain('depth: "abc" is not a number');
    expect(notice.textContent).toContain('used 30');
    expect(notice.textContent).toContain('bogus: unknown key; ignored');
    fireEvent.click(screen.getByRole('button', { name: 'Dismiss' }));
    expect(screen.queryByRole('alert', { name: 'Problems with the configuration' })).toBeNull();
  });

  it('a failed run shows the error with Retry, which asks the runner again', () => {
    const { store, runner } = setup('v=1&depth=2&width=4&in=4&n=2');
    act(() => {
      store.getState().startRun(1);
      store.getState().receive({ type: 'error', id: 1, message: 'Engine error in A: out of memory' });
    });
    expect(screen.getByText(/The computation failed: Engine error in A: out of memory/)).toBeTruthy();
    fireEvent.click(screen.getByRole('button', { name: 'Retry' }));
    expect(runner.retry).toHaveBeenCalledTimes(1);
  });

  it('a running computation shows its progress and can be cancelled', () => {
    const { store, runner } = setup('v=1&depth=2&width=4&in=4&n=2');
    act(() => store.getState().startRun(1));
    expect(screen.getByRole('progressbar', { name: 'Computing layers' })).toBeTruthy();
    fireEvent.click(screen.getByRole('button', { name: 'Cancel' }));
    expect(runner.cancel).toHaveBeenCalledTimes(1);
  });

  it('a preset is recognised and its explanation shown; the preset menu loads another', () => {
    const { store } = setup('');
    fireEvent.change(screen.getByLabelText('Lesson preset'), { target: { value: 'relu-sqrt2' } });
    expect(screen.getByRole('heading', { name: /Why ReLU needs sqrt\(2\)/ })).toBeTruthy();
    expect(store.getState().config.a.init).toBe('lecun_normal');
    expect(store.getState().config.b).toEqual({ init: 'he_normal' });
  });
});
