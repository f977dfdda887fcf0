/**
 * Connects the store to the engine worker: every configuration change starts a run (after a short
 * debounce, so a slider drag sends the settled value, not every pixel), replies flow into the store,
 * and only the latest run's replies are applied.
 */
import type { StoreApi } from 'zustand/vanilla';
import { resolveB } from '../link/codec';
import { createEngineClient, type CrashMode, type EngineClient, type RunList } from '../worker/client';
import type { AppState } from './store';
import type { Reply } from '../worker/protocol';

/** Delay between the last configuration change and the run, in ms. */
export const DEBOUNCE_MS = 120;

/**
 * While a run is in progress, the least time between two store updates, in ms. Each update redraws
 * every chart: tens of ms of script, style, layout and paint on the page's thread, which on a
 * two-core machine is time taken from the pool's workers (at one update per frame the page kept a
 * core 85% busy and the default run took 0.45 s instead of 0.3). A run's start, the first layer of
 * each side and its end are still applied at the next frame.
 */
export const PROGRESS_MS = 100;

/** Replies the page should see at once: a run's start and end, and the first layer of a side. */
function urgent(reply: Reply): boolean {
  return reply.type !== 'backward' && (reply.type !== 'forward' || reply.layer.index === 1);
}

/** The runner's controls for the UI. */
export interface Runner {
  retry(): void;
  cancel(): void;
  dispose(): void;
}

/** What `startRunner` returns: the UI's controls, and a fault switch for tests, not for the UI. */
export interface StartedRunner extends Runner {
  /** Test only (issue 5): makes the live worker fail; see `EngineClient.crash`. False without a live worker. */
  crash(mode: CrashMode): boolean;
}

/** The runs of the store's current configuration: A, then B in comparison mode. */
export function runsOf(state: AppState): RunList {
  const b = resolveB(state.config);
  return [{ side: 'a', config: state.config.a }, ...(b ? [{ side: 'b' as const, config: b }] : [])];
}

/** Starts running the store's configuration now and after every change. */
export function startRunner(store: StoreApi<AppState>, makeWorker: () => Worker, debounceMs = DEBOUNCE_MS, progressMs = PROGRESS_MS): StartedRunner {
  // Replies are applied in batches, in order, at most once per frame and, while a run is in
  // progress, at most once per progressMs: a fast worker can answer hundreds of times a second,
  // and one store update (one redraw) per reply would keep the page from responding.
  let queue: Reply[] = [];
  let framed = false;
  let waiting: ReturnType<typeof setTimeout> | null = null;
  let flushedAt = -Infinity;
  let disposed = false;
  const flush = () => {
    framed = false;
    if (waiting) clearTimeout(waiting);
    waiting = null;
    const batch = queue;
    queue = [];
    if (!batch.length || disposed) return;
    flushedAt = performance.now();
    store.getState().receiveAll(batch);
  };
  const frame = typeof requestAnimationFrame === 'function' ? (f: () => void) => requestAnimationFrame(f) : (f: () => void) => setTimeout(f, 16);
  const inFrame = () => {
    if (framed) return;
    framed = true;
    frame(flush);
  };
  const client: EngineClient = createEngineClient(makeWorker, (reply) => {
    queue.push(reply);
    // A frame or a timer already due takes this reply with the others.
    if (framed) return;
    if (urgent(reply)) return inFrame();
    if (waiting) return;
    const wait = flushedAt + progressMs - performance.now();
    if (wait <= 0) inFrame();
    else
      waiting = setTimeout(() => {
        waiting = null;
        inFrame();
      }, wait);
  });
  let timer: ReturnType<typeof setTimeout> | null = null;
  const go = () => {
    timer = null;
    // Replies still queued belong to the run being replaced: apply them first, in order.
    flush();
    const id = client.run(runsOf(store.getState()));
    store.getState().startRun(id);
  };
  go();
  const unsubscribe = store.subscribe((state, previous) => {
    // A new configuration object is a new run; view and classroom flags are not.
    if (state.config === previous.config) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(go, debounceMs);
  });
  return {
    retry() {
      flush();
      const id = client.retry();
      if (id !== null) store.getState().startRun(id);
      else go();
    },
    cancel() {
      client.cancel();
    },
    crash(mode) {
      return client.crash(mode);
    },
    dispose() {
      disposed = true;
      if (timer) clearTimeout(timer);
      if (waiting) clearTimeout(waiting);
      unsubscribe();
      client.dispose();
    },
  };
}
