/**
 * The page's side of the engine worker, without React: numbers each run, passes on only the replies
 * of the latest one, cancels, retries, and replaces a worker that fails or stops answering.
 *
 * The worker sees a newer run or a cancel only between two layers, and one layer of a large
 * configuration takes seconds. So the client does not wait for it: a cancel terminates the busy
 * worker at once, and a superseded run that keeps the worker too long is stopped the same way; the
 * next run gets a fresh worker, made lazily as after a fault.
 */
import { layerShapes, sizeOf } from '../engine/schema';
import { BEAT_MS, type Reply, type Request, type RunList } from './protocol';

export type { RunList } from './protocol';

/** How a test makes the worker fail: by an uncaught exception, or by closing itself. */
export type CrashMode = Extract<Request, { type: 'crash' }>['mode'];

/** Options of `createEngineClient`. */
export interface EngineClientOptions {
  /**
   * Longest wait in ms for the next reply (beats aside) of a running run before its worker counts
   * as dead (a worker that `close()`d itself fires no event). A number, or a function of the run;
   * `stallBudget` by default. `Infinity` turns the watchdog off.
   */
  stallMs?: number | ((runs: RunList) => number);
  /**
   * How long in ms the worker may stay inside a superseded run before it is terminated and the
   * latest run is sent to a fresh worker; `SUPERSEDE_MS` by default, `Infinity` to always wait for
   * the worker to reach a layer boundary. See `SUPERSEDE_MS`.
   */
  supersedeMs?: number;
  /** Clock in ms for `supersedeMs`; `performance.now` by default. */
  now?: () => number;
}

/** A handle on the engine worker. */
export interface EngineClient {
  /** Starts a run with a new id and returns the id; every older run is superseded and reports nothing more. */
  run(runs: RunList): number;
  /**
   * Stops the current run at once: terminates the worker computing it (a fresh one is made on the
   * next run), and the listener gets `cancelled` for it and nothing else of it.
   */
  cancel(): void;
  /** Runs the last configurations again with a new id; null when there has been no run. */
  retry(): number | null;
  /**
   * Test only, for the fault tests (issue 5): asks the live worker to fail as a real fault would,
   * `throw` (an uncaught exception: its error event) or `exit` (it closes itself: silence, for the
   * watchdog). The client handles the fault as any other. False when there is no live worker.
   */
  crash(mode: CrashMode): boolean;
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

/**
 * The default `supersedeMs`. A new run supersedes the one the worker is computing; the worker turns
 * to it at its next layer boundary, which for a large configuration is seconds away, all of it spent
 * on numbers nobody will see. Terminating the worker instead costs a new one: loading the cached
 * worker module (and compiling its WebAssembly) and warming up the kernels' JIT again, some tens of
 * ms. So a superseded run keeps the worker only while the worker has been in it for less than this:
 * a worker in it for longer is terminated at once; one in it for less gets until then to turn to
 * the latest run, and is terminated if it has not. A worker that has not replied yet is never
 * replaced this way: it is still starting, and takes the latest queued run at its first turn.
 * Thus quick runs (a whole small run takes less than this) never cost a new worker, a large run
 * superseded during a slider drag holds the latest one up by at most about this plus a worker's
 * start, and a medium run (layers of tens of ms) loses at most a layer it would have discarded.
 */
export const SUPERSEDE_MS = 150;

/**
 * How long in ms an idle worker that has answered before may take to accept a run (the handler
 * posts `accepted` on receipt). A worker that closed itself while idle fires no event; one that
 * does not accept within this is taken for dead and the run goes to a fresh worker, unseen by the
 * page. A busy worker accepts only after its layer, so this applies to idle workers only.
 */
export const ACCEPT_MS = 3000;

/**
 * How long in ms a run whose engine worker sends beats (it waits on its pool) may go without any
 * reply: six beats missed. A worker that closed itself mid-run is found this soon instead of after
 * the stall limit, which must allow for the longest layer the worker may compute itself.
 */
export const LIVENESS_MS = 6 * BEAT_MS;

/** True in a page that is not shown (a background tab); false where there is no document. */
function pageHidden(): boolean {
  return typeof document !== 'undefined' && document.visibilityState === 'hidden';
}

function isTerminal(reply: Reply): boolean {
  return reply.type === 'done' || reply.type === 'cancelled' || reply.type === 'error';
}

/**
 * Creates the client. The worker is made on the first run, and again on the first run or retry
 * after a fault or a cancel, so a worker script that fails to load cannot make a loop of new
 * workers; a superseded run can also cost a new worker (SUPERSEDE_MS). The
 * listener sees, for the latest run only, its replies in order and then at most one of `done`,
 * `cancelled` or `error`; it is never called from inside a client method.
 */
export function createEngineClient(
  makeWorker: () => Worker,
  listener: (reply: Reply) => void,
  options: EngineClientOptions = {},
): EngineClient {
  const stallOption = options.stallMs ?? stallBudget;
  const supersedeMs = options.supersedeMs ?? SUPERSEDE_MS;
  if (!(supersedeMs >= 0)) throw new RangeError(`supersedeMs must be a number of ms from 0, or Infinity, not ${String(supersedeMs)}`);
  const now = options.now ?? (() => performance.now());
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
  // When the worker started the run it is in: its first reply at all, the current run's first reply
  // after a supersede, or the moment a run was sent to it idle. A superseded run is judged by it.
  let workerRunSince = 0;
  // True once the live worker has replied at all. Until then it is starting up (loading its module)
  // and will take the latest of the runs queued for it at its first turn: replacing it for a
  // supersede would only start the wait over, and could do so forever during a slider drag.
  let answered = false;
  // True from sending a run to a worker busy with an older one until the worker answers it.
  let switching = false;
  // Set while the current run waits for a worker still inside a superseded run.
  let supersedeTimer: ReturnType<typeof setTimeout> | undefined;
  // Set while an idle worker has not accepted the current run yet.
  let acceptTimer: ReturnType<typeof setTimeout> | undefined;
  // Set from the current run's first beat to its last (or its end): fires after LIVENESS_MS of silence.
  let livenessTimer: ReturnType<typeof setTimeout> | undefined;

  function stopWatchdog(): void {
    if (watchdog !== undefined) clearTimeout(watchdog);
    watchdog = undefined;
  }

  function stopSupersedeTimer(): void {
    if (supersedeTimer !== undefined) clearTimeout(supersedeTimer);
    supersedeTimer = undefined;
  }

  function stopAcceptTimer(): void {
    if (acceptTimer !== undefined) clearTimeout(acceptTimer);
    acceptTimer = undefined;
  }

  function stopLiveness(): void {
    if (livenessTimer !== undefined) clearTimeout(livenessTimer);
    livenessTimer = undefined;
  }

  /**
   * Faults worker `w` unless it replies within LIVENESS_MS (re-armed by each of its replies while
   * set). The last BEAT_MS of it is a grace: this page may have been busy or suspended (a frozen
   * background tab) with the worker's replies queued, and they get a turn before anything is
   * judged. A hidden page is not judged at all (its worker's timers may be throttled): there the
   * stall watchdog alone watches.
   */
  function armLiveness(w: Worker): void {
    stopLiveness();
    const judge = () => {
      if (pageHidden()) return void (livenessTimer = setTimeout(judge, LIVENESS_MS));
      livenessTimer = undefined;
      fault(w, `The engine worker stopped answering (no reply for ${Math.round(LIVENESS_MS / 1000)} s)`);
    };
    livenessTimer = setTimeout(() => (livenessTimer = setTimeout(judge, BEAT_MS)), LIVENESS_MS - BEAT_MS);
  }

  /** Terminates the live worker, whatever it is doing; the next run or retry makes a fresh one. */
  function dropWorker(): void {
    worker?.terminate();
    worker = null;
    answered = false;
    workerRunMs = 0;
    olderRunMs = 0;
    switching = false;
    stopWatchdog();
    stopSupersedeTimer();
    stopAcceptTimer();
    stopLiveness();
  }

  function armWatchdog(ms: number): void {
    stopWatchdog();
    const w = worker;
    if (!w || !Number.isFinite(ms)) return;
    const wait = ms < 1000 ? `${ms} ms` : `${Math.round(ms / 1000)} s`;
    watchdog = setTimeout(() => fault(w, `The engine worker stopped answering (no reply for ${wait})`), ms);
  }

  /**
   * Ends the current run with a reply of the client's own, delivered after the calling code. An
   * error's message is a clause without a final period: the page puts it inside its own sentence.
   */
  /** The current run is over: nothing more is watched for it. */
  function endRun(): void {
    active = false;
    stopWatchdog();
    stopLiveness();
  }

  function finish(reply: Reply): void {
    endRun();
    queueMicrotask(() => {
      if (!disposed && reply.id === currentId) listener(reply);
    });
  }

  function fault(w: Worker, message: string): void {
    // Only the live worker's first fault counts: error and messageerror may both fire, a
    // terminated worker may still have events queued.
    if (w !== worker) return;
    dropWorker();
    if (active && currentId !== null) finish({ type: 'error', id: currentId, message });
  }

  function receive(w: Worker, reply: Reply): void {
    if (w !== worker || disposed) return;
    if (!answered) {
      answered = true;
      workerRunSince = now();
      // Its first reply is of an older run, so the current one was sent while it was starting: it
      // may have begun a layer of that older run just before the current one arrived.
      if (switching && reply.id !== currentId && active && currentId !== null && lastRuns) armSupersede(currentId, lastRuns, supersedeMs);
    }
    if (reply.id === currentId) {
      if (switching) workerRunSince = now();
      switching = false;
      olderRunMs = 0;
      stopSupersedeTimer();
      stopAcceptTimer();
      if (isTerminal(reply)) workerRunMs = 0;
    }
    if (!active) return;
    // A worker waiting on its pool beats: then silence means it is gone, long before the stall
    // limit. Beats do not feed the stall watchdog, which still waits for the pool's progress.
    if (reply.type === 'beat' && reply.id === currentId) {
      if (reply.last) stopLiveness();
      else armLiveness(w);
      return;
    }
    // Any reply, even a stale one, shows the worker alive.
    if (livenessTimer !== undefined) armLiveness(w);
    if (reply.type === 'beat') return;
    armWatchdog(olderRunMs + stallMs);
    if (reply.id !== currentId || reply.type === 'accepted') return;
    if (isTerminal(reply)) endRun();
    listener(reply);
  }

  function spawn(): Worker {
    const w = makeWorker();
    w.addEventListener('message', (event: MessageEvent<Reply>) => receive(w, event.data));
    w.addEventListener('error', (event: Event) => {
      // Handled here: keep it from being reported again as an uncaught error of the page.
      event.preventDefault();
      const detail = (event as ErrorEvent).message?.replace(/\.$/, '');
      fault(w, `The engine worker crashed${detail ? `: ${detail}` : ''}`);
    });
    w.addEventListener('messageerror', () => fault(w, 'The engine worker sent a message that could not be read'));
    return w;
  }

  /** Sends run `id` to the worker, making one if there is none; false when that failed (reported). */
  function send(id: number, runs: RunList): boolean {
    let w: Worker;
    try {
      w = worker ??= spawn();
    } catch (error) {
      finish({ type: 'error', id, message: `The engine worker could not be started: ${error instanceof Error ? error.message : String(error)}` });
      return false;
    }
    try {
      w.postMessage({ type: 'run', id, runs } satisfies Request);
    } catch (error) {
      finish({ type: 'error', id, message: `The run could not be sent to the engine worker: ${error instanceof Error ? error.message : String(error)}` });
      return false;
    }
    return true;
  }

  /** Terminates the live worker and sends the current run `id` to a fresh one, if `id` is still current. */
  function resendToFreshWorker(id: number, runs: RunList): void {
    if (!active || currentId !== id || disposed) return;
    dropWorker();
    if (!send(id, runs)) return;
    workerRunSince = now();
    workerRunMs = stallMs;
    armWatchdog(stallMs);
  }

  /**
   * In `ms`, unless the worker has answered run `id` by then: terminates it and sends `id` to a
   * fresh worker. Nothing of `id` has reached the listener yet, so it starts there from the start.
   */
  function armSupersede(id: number, runs: RunList, ms: number): void {
    stopSupersedeTimer();
    if (!Number.isFinite(supersedeMs)) return;
    supersedeTimer = setTimeout(() => {
      supersedeTimer = undefined;
      resendToFreshWorker(id, runs);
    }, Math.max(0, ms));
  }

  function run(runs: RunList): number {
    if (disposed) throw new Error('run() on a disposed engine client');
    const limit = stallFor(runs);
    const superseding = active && worker !== null;
    const id = ++counter;
    currentId = id;
    active = true;
    lastRuns = runs;
    stallMs = limit;
    stopSupersedeTimer();
    stopLiveness();
    const t = now();
    // The worker is still inside an older run: terminate it if it has been there for a while
    // (SUPERSEDE_MS), rather than wait for its next layer boundary.
    if (superseding && answered && t - workerRunSince >= supersedeMs) dropWorker();
    const fresh = !superseding || worker === null;
    // An idle worker that has answered before accepts at once, unless it died meanwhile.
    const idleUsed = !superseding && worker !== null && answered;
    if (!send(id, runs)) return id;
    if (idleUsed) {
      acceptTimer = setTimeout(() => {
        acceptTimer = undefined;
        resendToFreshWorker(id, runs);
      }, ACCEPT_MS);
    }
    if (fresh) workerRunSince = t;
    switching = !fresh;
    olderRunMs = Math.max(olderRunMs, workerRunMs);
    workerRunMs = stallMs;
    armWatchdog(olderRunMs + stallMs);
    // Give the worker until SUPERSEDE_MS after it began the older run to turn to this one.
    if (!fresh && answered) armSupersede(id, runs, workerRunSince + supersedeMs - t);
    return id;
  }

  return {
    run,
    cancel() {
      if (!active || currentId === null) return;
      // The worker would see a cancel message only after the layer it is computing, seconds on a
      // large configuration; terminating it stops the computation now and frees its CPU. Its
      // replies still queued are dropped with it (receive ignores a worker that is not the live one).
      dropWorker();
      finish({ type: 'cancelled', id: currentId });
    },
    retry() {
      return lastRuns ? run(lastRuns) : null;
    },
    crash(mode) {
      if (!worker || disposed) return false;
      worker.postMessage({ type: 'crash', mode } satisfies Request);
      return true;
    },
    dispose() {
      disposed = true;
      active = false;
      dropWorker();
    },
    get busy() {
      return active;
    },
    get currentId() {
      return currentId;
    },
  };
}
