/** React access to the app store, provided by <AppProvider>. */
import { createContext, useContext } from 'react';
import { useStore } from 'zustand';
import type { StoreApi } from 'zustand/vanilla';
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

/** The runner (retry, cancel), or null in tests without a worker. */
export function useRunner(): Runner | null {
  return useContext(AppContext)?.runner ?? null;
}
