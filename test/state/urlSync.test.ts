// @vitest-environment jsdom
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createAppStore } from '../../src/state/store';
import { initialLink, shareUrl, syncUrl } from '../../src/state/urlSync';

afterEach(() => window.history.replaceState(null, '', '/'));

describe('URL sync', () => {
  it('writes the canonical link with replaceState, never pushing history entries', () => {
    const store = createAppStore('v=1&depth=4');
    const push = vi.spyOn(window.history, 'pushState');
    const before = window.history.length;
    const stop = syncUrl(store);
    expect(window.location.hash).toBe(`#${store.getState().link}`);
    store.getState().edit('a', { depth: 6 });
    store.getState().edit('a', { depth: 7 });
    expect(window.location.hash).toContain('depth=7');
    expect(window.history.length).toBe(before);
    expect(push).not.toHaveBeenCalled();
    stop();
  });

  it('a pasted hash loads the configuration it names, with its problems', () => {
    const store = createAppStore('');
    const stop = syncUrl(store);
    window.location.hash = '#v=1&depth=9&act=nope';
    window.dispatchEvent(new HashChangeEvent('hashchange'));
    expect(store.getState().config.a.depth).toBe(9);
    expect(store.getState().problems.map((p) => p.key)).toEqual(['act']);
    // The bad key is replaced in the address bar by the canonical link.
    expect(window.location.hash).not.toContain('nope');
    stop();
  });

  it('the share URL is this page with the link as its hash', () => {
    window.history.replaceState(null, '', '/initscope/?x=1#old');
    expect(shareUrl('v=1&depth=3')).toBe(`${window.location.origin}/initscope/?x=1#v=1&depth=3`);
    expect(initialLink()).toBe('old');
  });
});
