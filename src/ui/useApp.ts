/** React access to the app store, provided by <AppProvider>. */
import { createContext, useContext, useRef } from 'react';
import { useStore } from 'zustand';
import type { StoreApi } from 'zustand/vanilla';
import { sameValue } from '../link/codec';
import type { AppState } from '../state/store';
import type { Runner } from '../state/runner';

/** The store and the runner the components use. */
export interface AppContextValue {
  store: StoreApi<AppState>;
  runner: Runner | null;
}

/** Context holding the store; the tests provide their own. */
export const AppContext = createContext<AppContextValue | null>(null);

/** Selects from the app store and re-renders when the selection changes. */
export function useApp<T>(select: (s: AppState) => T): T {
  const ctx = useContext(AppContext);
  if (!ctx) throw new Error('useApp outside <AppContext.Provider>');
  return useStore(ctx.store, select);
}

/** Equal objects key by key, by `sameValue`. */
export function sameFields<T extends object>(a: T, b: T): boolean {
  const keys = Object.keys(a) as (keyof T)[];
  return keys.length === Object.keys(b).length && keys.every((k) => sameValue(a[k], b[k]));
}

/**
 * Selects a value that may be a new object on every call (picked fields, say) and re-renders only
 * when `equal` says it changed: the previous object is returned while it is equal to the new one.
 */
export function useAppEqual<T>(select: (s: AppState) => T, equal: (a: T, b: T) => boolean): T {
  const last = useRef<{ value: T } | null>(null);
  return useApp((s) => {
    const next = select(s);
    if (last.current && equal(last.current.value, next)) return last.current.value;
    last.current = { value: next };
    return next;
  });
}

/** The store itself, to read the current state in an event handler without subscribing to it. */
export function useAppStore(): StoreApi<AppState> {
  const ctx = useContext(AppContext);
  if (!ctx) throw new Error('useAppStore outside <AppContext.Provider>');
  return ctx.store;
}

/** The runner (retry, cancel), or null in tests without a worker. */
export function useRunner(): Runner | null {
  return useContext(AppContext)?.runner ?? null;
}
