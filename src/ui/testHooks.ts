/**
 * Test-only hooks for the end-to-end fault tests (issue 5). main.tsx installs them only in a build
 * of vite's `faults` mode, behind `import.meta.env.MODE === 'faults'`, a constant in every build: the
 * site people get (mode `production`) drops the call and this whole module as dead code.
 */
import type { StartedRunner } from '../state/runner';
import type { CrashMode } from '../worker/client';

/** The page's fault switch, `window.__initscopeFaults` in a `faults` build. */
export interface FaultHooks {
  /** Makes the live engine worker fail as a real fault would (see `EngineClient.crash`); false when there is none. */
  crash(mode: CrashMode): boolean;
}

declare global {
  interface Window {
    /** Only in a build of the `faults` mode; see testHooks.ts. */
    __initscopeFaults?: FaultHooks;
  }
}

/** Puts the fault switch of `runner` on `window.__initscopeFaults`. */
export function installFaultHooks(runner: StartedRunner): void {
  window.__initscopeFaults = { crash: (mode) => runner.crash(mode) };
}
