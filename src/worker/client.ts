/**
 * The page's side of the engine worker, without React: numbers each run, passes on only the replies
 * of the latest one, cancels, retries, and replaces a worker that fails or stops answering.
 */
import { layerShapes, sizeOf } from '../engine/schema';
import type { Reply, Request } from './protocol';

/** The configurations of one run request: A, then B if present. */
export type RunList = Extract<Request, { type: 'run' }>['runs'];

/** Options of `createEngineClient`. */
export interface EngineClientOptions {
  /**
   * Longest wait in ms for the next reply of a running run before its worker counts as dead (a
   * worker that `close()`d itself fires no event). A number, or a function of the run;
   * `stallBudget` by default. `Infinity` turns the watchdog off.
   */
  stallMs?: number | ((runs: RunList) => number);
}

/** A handle on the engine worker. */
export interface EngineClient {
  /** Starts a run with a new id and returns the id; every older run is superseded and reports nothing more. */
  run(runs: RunList): number;
  /** Stops the current run: the listener gets `cancelled` for it and nothing else of it. */
  cancel(): void;
  /** Runs the last configurations again with a new id; null when there has been no run. */
  retry(): number | null;
  /** Terminates the worker; the listener is never called again and `run` throws. */
  dispose(): void;
  /** True from `run` until its `done`, `cancelled` or `error` reaches the listener. */
  readonly busy: boolean;
  /** The id of the latest run, or null before the first. */
  readonly currentId: number | null;
}

/** Makes the engine worker as the app does; Vite bundles `engine.worker.ts` from this exact expression. */
export function defaultWorkerFactory(): Worker {
  return new Worker(new URL('./engine.worker.ts', import.meta.url), { type: 'module' });
}

/** Worker startup, the `start` event and scheduling noise. */
const STALL_BASE_MS = 15_000;
/**
 * A floor on the reference kernels' speed, in multiply-adds per ms: 1e7 per second. On a loaded
 * two-core machine they reached 1e8-5e8 per second, so a slow layer is not taken for a dead worker.
 */
const SLOWEST_MULTIPLY_ADDS_PER_MS = 1e4;
/**
 * The per-element work of a layer (activation, statistics, histograms) in multiply-adds: measured
 * about 25 per output element (a 3-channel first conv layer), doubled.
 */
const MULTIPLY_ADDS_PER_ELEMENT = 50;

/**
 * The default stall limit of a run in ms: 15 s plus its largest single engine event at 1e7
 * multiply-adds per second. An event is counted as twice the layer's multiply-adds (a conv
 * backward pass computes input and per-sample weight gradients) plus 50 per output element, times
 * n times nets.
 */
export function stallBudget(runs: RunList): number {
  let largest = 0;
  for (const { config } of runs) {
    for (const shape of layerShapes(config)) {
      const work = (2 * shape.multiplyAdds + MULTIPLY_ADDS_PER_ELEMENT * sizeOf(shape.outShape)) * config.n * config.nets;
      largest = Math.max(largest, work);
    }
  }
  return STALL_BASE_MS + largest / SLOWEST_MULTIPLY_ADDS_PER_MS;
}

function isTerminal(reply: Reply): boolean {
  return reply.type === 'done' || reply.type === 'cancelled' || reply.type === 'error';
}

/**
 * Creates the client. The worker is made on the first run, and again on the first run or retry
 * after a fault, so a worker script that fails to load cannot make a loop of new workers. The
 * listener sees, for the latest run only, its replies in order and then at most one of `done`,
 * `cancelled` or `error`; it is never called from inside a client method.
 */
export function createEngineClient(
  makeWorker: () => Worker,
  listener: (reply: Reply) => void,
  options: EngineClientOptions = {},
): EngineClient {
  const stallOption = options.stallMs ?? stallBudget;
  const stallFor = (runs: RunList) => {
    const ms = typeof stallOption === 'function' ? stallOption(runs) : stallOption;
    if (!(ms > 0)) throw new RangeError(`stallMs must be a positive number of ms or Infinity, not ${String(ms)}`);
    return ms;
  };

  let worker: Worker | null = null;
  let counter = 0;
  let currentId: number | null = null;
  let active = false;
  let disposed = false;
  let lastRuns: RunList | null = null;
  // The stall limit of the current run, and of the latest run the worker has not ended (posted
  // done, cancelled or error for), which it may still be inside.
  let stallMs = Infinity;
  let workerRunMs = 0;
  // Until the current run's first reply, the worker may be finishing a layer of an older run (it
  // sees the newer run only between layers), so the wait may be longer by that run's limit.
  let olderRunMs = 0;
  let watchdog: ReturnType<typeof setTimeout> | undefined;

  function stopWatchdog(): void {
    if (watchdog !== undefined) clearTimeout(watchdog);
    watchdog = undefined;
  }

  function armWatchdog(ms: number): void {
    stopWatchdog();
    const w = worker;
    if (!w || !Number.isFinite(ms)) return;
    const wait = ms < 1000 ? `${ms} ms` : `${Math.round(ms / 1000)} s`;
    watchdog = setTimeout(() => fault(w, `The engine worker stopped answering (no reply for ${wait}).`), ms);
  }

  /** Ends the current run with a reply of the client's own, delivered after the calling code. */
  function finish(reply: Reply): void {
    active = false;
    stopWatchdog();
    queueMicrotask(() => {
      if (!disposed && reply.id === currentId) listener(reply);
    });
  }

  function fault(w: Worker, message: string): void {
    // Only the live worker's first fault counts: error and messageerror may both fire, a
    // terminated worker may still have events queued.
    if (w !== worker) return;
    w.terminate();
    worker = null;
    workerRunMs = 0;
    olderRunMs = 0;
    stopWatchdog();
    if (active && currentId !== null) finish({ type: 'error', id: currentId, message });
  }

  function receive(w: Worker, reply: Reply): void {
    if (w !== worker || disposed) return;
    if (reply.id === currentId) {
      olderRunMs = 0;
      if (isTerminal(reply)) workerRunMs = 0;
    }
    if (!active) return;
    // Any reply, even a stale one, shows the worker alive.
    armWatchdog(olderRunMs + stallMs);
    if (reply.id !== currentId) return;
    if (isTerminal(reply)) {
      active = false;
      stopWatchdog();
    }
    listener(reply);
  }

  function spawn(): Worker {
    const w = makeWorker();
    w.addEventListener('message', (event: MessageEvent<Reply>) => receive(w, event.data));
    w.addEventListener('error', (event: Event) => {
      // Handled here: keep it from being reported again as an uncaught error of the page.
      event.preventDefault();
      const detail = (event as ErrorEvent).message;
      fault(w, `The engine worker failed${detail ? `: ${detail}` : ''}.`);
    });
    w.addEventListener('messageerror', () => fault(w, 'The engine worker sent a message that could not be read.'));
    return w;
  }

  function run(runs: RunList): number {
    if (disposed) throw new Error('run() on a disposed engine client');
    const limit = stallFor(runs);
    const id = ++counter;
    currentId = id;
    active = true;
    lastRuns = runs;
    stallMs = limit;
    try {
      worker ??= spawn();
    } catch (error) {
      finish({ type: 'error', id, message: `The engine worker could not be started: ${error instanceof Error ? error.message : String(error)}` });
      return id;
    }
    try {
      worker.postMessage({ type: 'run', id, runs } satisfies Request);
    } catch (error) {
      finish({ type: 'error', id, message: `The run could not be sent to the engine worker: ${error instanceof Error ? error.message : String(error)}` });
      return id;
    }
    olderRunMs = Math.max(olderRunMs, workerRunMs);
    workerRunMs = stallMs;
    armWatchdog(olderRunMs + stallMs);
    return id;
  }

  return {
    run,
    cancel() {
      if (!active || currentId === null) return;
      worker?.postMessage({ type: 'cancel', id: currentId } satisfies Request);
      finish({ type: 'cancelled', id: currentId });
    },
    retry() {
      return lastRuns ? run(lastRuns) : null;
    },
    dispose() {
      disposed = true;
      active = false;
      stopWatchdog();
      worker?.terminate();
      worker = null;
    },
    get busy() {
      return active;
    },
    get currentId() {
      return currentId;
    },
  };
}
