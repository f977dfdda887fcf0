// @vitest-environment jsdom
import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, fireEvent, render, screen } from '@testing-library/react';
import { createAppStore } from '../../src/state/store';
import { AppContext } from '../../src/ui/useApp';
import { CodePanel } from '../../src/ui/CodePanel';

afterEach(cleanup);

describe('the code panel', () => {
  it('shows the snippet of the chosen framework for A or B, and says when it is not exact', () => {
    const store = createAppStore('v=1&depth=3&width=64&in=64&init=wscale&scale=sqrt(2)&chainer=1.9&b.init=he_normal&b.dist=truncated');
    render(
      <AppContext.Provider value={{ store, runner: null }}>
        <CodePanel />
      </AppContext.Provider>,
    );
    fireEvent.change(screen.getByLabelText('Framework'), { target: { value: 'chainer1' } });
    const code = () => screen.getByLabelText(/code$/).textContent ?? '';
    expect(code()).toContain('wscale=');
    expect(code()).toMatch(/v1\.9\.0/);
    fireEvent.change(screen.getByLabelText('Configuration'), { target: { value: 'b' } });
    fireEvent.change(screen.getByLabelText('Framework'), { target: { value: 'pytorch' } });
    expect(code()).toContain('trunc_normal_');
    fireEvent.change(screen.getByLabelText('Framework'), { target: { value: 'chainer7' } });
    expect(screen.getByRole('note').textContent).toMatch(/Not exact in Chainer v7/);
    expect(screen.getByRole('button', { name: 'Copy code' })).toBeTruthy();
  });
});
