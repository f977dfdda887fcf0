import { describe, expect, it } from 'vitest';
import { createAppStore, applyEdit } from '../../src/state/store';
import { defaultRun } from '../../src/engine/schema';
import { runsOf } from '../../src/state/runner';

describe('the app store', () => {
  it('starts from a link, keeping every good key and reporting the bad ones', () => {
    const store = createAppStore('v=1&depth=5&act=relux');
    const s = store.getState();
    expect(s.config.a.depth).toBe(5);
    expect(s.config.a.act).toBe('relu');
    expect(s.problems.map((p) => p.key)).toEqual(['act']);
    expect(s.link).toContain('depth=5');
  });

  it('an edit of A keeps B as "A with its overrides"', () => {
    const store = createAppStore('v=1&init=lecun_normal&b.init=he_normal');
    store.getState().edit('a', { depth: 7 });
    const s = store.getState();
    expect(s.config.a.depth).toBe(7);
    expect(s.config.b).toEqual({ init: 'he_normal' });
    expect(runsOf(s).map((r) => [r.side, r.config.depth, r.config.init])).toEqual([
      ['a', 7, 'lecun_normal'],
      ['b', 7, 'he_normal'],
    ]);
  });

  it('an edit that validation rejects keeps what the user had and says why', () => {
    const store = createAppStore('v=1&depth=12');
    store.getState().edit('a', { depth: 5000 });
    const s = store.getState();
    expect(s.config.a.depth).toBe(12);
    expect(s.problems).toEqual([expect.objectContaining({ key: 'depth', used: '12' })]);
  });

  it('a new initializer takes its own default scale; a new network family its own input and width', () => {
    const a = applyEdit({ ...defaultRun(), init: 'normal', scale: 0.01 }, { init: 'he_normal' }).config;
    expect(a.scale).toBe(1);
    const c = applyEdit(defaultRun(), { net: 'cnn' }).config;
    expect([c.input, c.width]).toEqual([[3, 32, 32], 16]);
  });

  it('B edits become overrides; switching comparison off drops them', () => {
    const store = createAppStore('');
    store.getState().setComparison({ init: 'lecun_normal' });
    expect(store.getState().config.b).toEqual({ init: 'lecun_normal' });
    store.getState().edit('b', { scale: 2 });
    expect(store.getState().config.b).toEqual({ init: 'lecun_normal', scale: 2 });
    expect(store.getState().link).toContain('b.scale=2');
    store.getState().setComparison(null);
    expect(store.getState().config.b).toBeNull();
  });

  it('applies only the current run, keeps the previous layers as stale until recomputed', () => {
    const store = createAppStore('v=1&depth=2&width=4&in=4&n=2');
    const config = store.getState().config.a;
    const fakeLayer = (index: number, v: number) => ({ index, pre: { variance: v } }) as never;
    store.getState().startRun(1);
    store.getState().receive({ type: 'start', id: 1, side: 'a', config, cost: { multiplyAdds: 1, bytes: 1 }, shapes: [{}, {}] as never, theory: [], input: null as never });
    store.getState().receive({ type: 'forward', id: 1, side: 'a', layer: fakeLayer(1, 1) });
    store.getState().receive({ type: 'forward', id: 1, side: 'a', layer: fakeLayer(2, 2) });
    store.getState().receive({ type: 'done', id: 1, ms: 5 });
    expect(store.getState().run.state).toBe('done');
    store.getState().startRun(2);
    // A late reply of run 1 is ignored.
    store.getState().receive({ type: 'forward', id: 1, side: 'a', layer: fakeLayer(1, 99) });
    expect(store.getState().results.a!.layers[0]).toEqual(fakeLayer(1, 1));
    store.getState().receive({ type: 'start', id: 2, side: 'a', config, cost: { multiplyAdds: 1, bytes: 1 }, shapes: [{}, {}] as never, theory: [], input: null as never });
    expect(store.getState().results.a!.stale).toEqual([true, true]);
    store.getState().receive({ type: 'forward', id: 2, side: 'a', layer: fakeLayer(1, 3) });
    expect(store.getState().results.a!.stale).toEqual([false, true]);
    expect(store.getState().run.progress).toBeCloseTo(1 / 4, 12);
    store.getState().receive({ type: 'error', id: 2, message: 'boom' });
    expect(store.getState().run).toEqual(expect.objectContaining({ state: 'error', message: 'boom' }));
    expect(store.getState().results.a!.layers[1]).toEqual(fakeLayer(2, 2));
  });
});

describe('the per-run budget', () => {
  it('an edit over the budget is refused: nothing the user had changes, and the message says what to lower', () => {
    const store = createAppStore('v=1&depth=30&width=512&n=256');
    store.getState().edit('a', { width: 4096 });
    const s = store.getState();
    expect(s.config.a.width).toBe(512);
    expect(s.config.a.n).toBe(256);
    expect(s.problems.length).toBeGreaterThan(0);
    expect(s.problems[0].message).toMatch(/^not changed: width=4096 would cost .* multiply-adds .* over the per-run budget; lower n to \d+ or less/);
    expect(s.problems[0].used).toBe('256');
  });
});
