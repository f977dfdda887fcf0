/**
 * Keeps the URL hash and the store's configuration in step: the only code that touches
 * `location` and `history`. Edits replace the hash (no history spam); a pasted hash, back and
 * forward load the configuration they name.
 */
import type { StoreApi } from 'zustand/vanilla';
import type { AppState } from './store';

/** The link part of a hash: without the leading '#'. */
export function hashLink(hash: string): string {
  return hash.startsWith('#') ? hash.slice(1) : hash;
}

/** Starts syncing; returns a function that stops it. */
export function syncUrl(store: StoreApi<AppState>, win: Window = window): () => void {
  const write = (link: string) => {
    if (hashLink(win.location.hash) !== link) win.history.replaceState(win.history.state, '', `#${link}`);
  };
  write(store.getState().link);
  const unsubscribe = store.subscribe((state, previous) => {
    if (state.link !== previous.link) write(state.link);
  });
  const onHash = () => {
    const link = hashLink(win.location.hash);
    if (link !== store.getState().link) store.getState().loadLink(link);
  };
  win.addEventListener('hashchange', onHash);
  win.addEventListener('popstate', onHash);
  return () => {
    unsubscribe();
    win.removeEventListener('hashchange', onHash);
    win.removeEventListener('popstate', onHash);
  };
}

/** The full share URL of a link: this page's address with the link as its hash. */
export function shareUrl(link: string, win: Window = window): string {
  const { origin, pathname, search } = win.location;
  return `${origin}${pathname}${search}#${link}`;
}

/** The link the page was opened with (the hash without '#'). */
export function initialLink(win: Window = window): string {
  return hashLink(win.location.hash);
}
