/**
 * The engine worker's message handler, free of the DOM and of the worker global so that it runs in
 * Node tests as it runs in the worker. It streams each engine event as a reply and gives the event
 * loop a turn between events, so that a newer `run` or a `cancel` is seen between two layers.
 */
import type { Kernels } from '../engine/kernels';
import { sideBySideIsFaster, simulatePooled, splitWorkers, type ShardPool } from '../engine/pool';
import { layerShapes, runCost } from '../engine/schema';
import { planShards } from '../engine/shard';
import { simulate, type EngineEvent } from '../engine/simulate';
import { POOL_MIN_MULTIPLY_ADDS } from './pool';
import { BEAT_MS, type Reply, type Request, type RunList, type Side } from './protocol';

/** Options of `createHandler`; the defaults are what the worker uses. */
export interface HandlerOptions {
  /** Engine events computed between two turns of the event loop; 1 (every layer) by default. */
  yieldEvery?: number;
  /** Clock for `done.ms`, in milliseconds; `performance.now` by default. */
  now?: () => number;
  /** The multiply kernels handed to `simulate`; the engine's reference kernels by default. */
  kernels?: Kernels;
  /** Ends the worker for `crash` mode 'exit'; `close` of the global scope, when there is one, by default. */
  close?: () => void;
  /**
   * The pool of shard workers for runs of at least `poolMinMultiplyAdds` multiply-adds per layer,
   * or null to compute in this thread; none by default. The numbers are the same either way.
   */
  pool?: () => ShardPool | null;
  /** POOL_MIN_MULTIPLY_ADDS by default. */
  poolMinMultiplyAdds?: number;
  /** ms between two `beat` replies while a run waits on the pool; BEAT_MS by default. */
  beatMs?: number;
}

/** A run in progress: its id and the one abort switch that supersede and cancel both pull. */
interface Job {
  id: number;
  controller: AbortController;
}

/** The abort reasons a job can stop for. */
type StopReason = 'superseded' | 'cancelled' | 'closed';

/** A turn of the event loop: resolves from a new macrotask, after messages queued before it were handled. */
interface Ticker {
  tick(): Promise<void>;
  close(): void;
}

// Every turn is a macrotask, so a `run` or `cancel` already queued for the worker is dispatched
// before the job goes on; a microtask (await of a resolved promise) would never let them in.
// In the worker (browsers): a MessageChannel ping, a plain task; setTimeout(0) would be clamped to
// at least 4 ms per layer after five nested timeouts (HTML timer nesting), seconds on deep small nets.
// In Node (tests, in-process use): setImmediate, as React's scheduler does. Node delivers up to 1000
// queued port messages in one turn, including pings posted meanwhile (node_messaging.cc,
// processing_limit), so a MessageChannel ping would hold other messages back for 1000 layers; an
// immediate runs once per loop iteration, after timers and I/O.
function macrotaskTicker(): Ticker {
  if (typeof setImmediate === 'function') {
    return { tick: () => new Promise((resolve) => setImmediate(resolve)), close: () => {} };
  }
  if (typeof MessageChannel === 'undefined') {
    return { tick: () => new Promise((resolve) => setTimeout(resolve, 0)), close: () => {} };
  }
  // One channel per job, closed when the job ends, so no idle port is left open.
  const channel = new MessageChannel();
  let wake: (() => void) | null = null;
  channel.port1.onmessage = () => {
    const resolve = wake;
    wake = null;
    resolve?.();
  };
  return {
    tick: () =>
      new Promise<void>((resolve) => {
        wake = resolve;
        channel.port2.postMessage(null);
      }),
    close: () => {
      channel.port1.close();
      channel.port2.close();
    },
  };
}

function toReply(event: EngineEvent, id: number, side: Side): Reply {
  switch (event.type) {
    case 'start':
      return { type: 'start', id, side, config: event.config, cost: event.cost, shapes: event.shapes, theory: event.theory, input: event.input };
    case 'forward':
      return { type: 'forward', id, side, layer: event.layer };
    case 'backward':
      return { type: 'backward', id, side, index: event.index, gradient: event.gradient };
  }
}

/** A message a person can read: the error's own message, never its stack. */
function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message || error.name;
  return String(error);
}

function globalClose(): void {
  const close = (globalThis as { close?: unknown }).close;
  if (typeof close === 'function') close.call(globalThis);
}

/** An error of one side of a run on the pool. */
class SideError extends Error {
  constructor(
    readonly side: Side,
    readonly error: unknown,
  ) {
    super(messageOf(error));
  }
}

/**
 * Creates the worker's message handler. Replies go to `post` in the order of `Reply` (the sides'
 * interleaved when they run side by side); the latest
 * `run` wins: an older run stops silently at its next check, a cancelled one posts `cancelled`, an
 * engine exception posts `error` for its id and leaves the handler ready for the next run.
 */
export function createHandler(post: (reply: Reply) => void, options: HandlerOptions = {}): (request: Request) => void {
  const yieldEvery = options.yieldEvery ?? 1;
  if (!Number.isInteger(yieldEvery) || yieldEvery < 1) {
    throw new RangeError(`yieldEvery must be an integer of at least 1, not ${String(yieldEvery)}`);
  }
  const now = options.now ?? (() => performance.now());
  const kernels = options.kernels;
  const close = options.close ?? globalClose;
  const poolFor = options.pool ?? (() => null);
  const poolMin = options.poolMinMultiplyAdds ?? POOL_MIN_MULTIPLY_ADDS;
  const beatMs = options.beatMs ?? BEAT_MS;

  let current: Job | null = null;
  let closed = false;

  const stop = (job: Job, reason: StopReason) => job.controller.abort(reason);

  /**
   * Sends `beat` for `job` now and every beatMs until the returned stop is called, which sends the
   * `last` beat. Nothing is sent for a stopped job or by a closed worker.
   */
  function beating(job: Job): () => void {
    const live = () => !closed && !job.controller.signal.aborted;
    const beat = () => {
      if (live()) post({ type: 'beat', id: job.id });
    };
    beat();
    const timer = setInterval(beat, beatMs);
    return () => {
      clearInterval(timer);
      if (live()) post({ type: 'beat', id: job.id, last: true });
    };
  }

  async function execute(job: Job, runs: RunList): Promise<void> {
    const { id, controller } = job;
    const signal = controller.signal;
    const started = now();
    const ticker = macrotaskTicker();
    // Start with a turn, so that a burst of runs queued together computes only the last one.
    let sinceTurn = yieldEvery;
    let side: Side = 'a';
    let workers = 1;
    let announced = false;
    // True once the job was superseded or cancelled; a cancelled one says so first (once).
    const stopped = () => {
      if (!signal.aborted) return false;
      if (signal.reason === 'cancelled' && !announced) post({ type: 'cancelled', id });
      announced = true;
      return true;
    };
    const costs = runs.map((run) => runCost(run.config).multiplyAdds);
    const pooled = runs.map((run, r) => costs[r] / Math.max(1, layerShapes(run.config).length) >= poolMin);
    const usable = (r: number, k: number) => planShards(runs[r].config, k).length;
    try {
      const pool = pooled.some(Boolean) ? poolFor() : null;
      if (pool && runs.length === 2 && pooled.every(Boolean) && sideBySideIsFaster(pool.size, costs, usable)) {
        // A and B side by side, each on its own workers: no run waits for the other, and fewer
        // workers per run exchange fewer weights. The sides' events interleave, each in its order.
        const split = splitWorkers(pool.size, costs);
        workers = split.reduce((sum, ids, r) => sum + usable(r, ids.length), 0);
        await onPool(runs, split, pool, job, stopped);
      } else {
        const all = pool ? pool.endpoints.map((_, i) => i) : [];
        for (const [r, run] of runs.entries()) {
          side = run.side;
          if (pool && pooled[r]) {
            workers = Math.max(workers, usable(r, pool.size));
            await onPool([run], [all], pool, job, stopped);
            if (stopped()) return;
            continue;
          }
          const events = simulate(run.config, kernels);
          for (;;) {
            if (sinceTurn >= yieldEvery) {
              sinceTurn = 0;
              await ticker.tick();
            }
            if (stopped()) return;
            const step = events.next();
            if (step.done) break;
            post(toReply(step.value, id, side));
            sinceTurn++;
          }
        }
      }
      if (stopped()) return;
      post({ type: 'done', id, ms: now() - started, workers });
    } catch (error) {
      // Stopped while waiting for the pool (a newer run has the workers now, or replaced them).
      if (stopped()) return;
      const [where, cause] = error instanceof SideError ? [error.side, error.error] : [side, error];
      post({ type: 'error', id, message: `Engine error in ${where.toUpperCase()}: ${messageOf(cause)}` });
    } finally {
      ticker.close();
      if (current === job) current = null;
    }
  }

  /**
   * Runs `runs` at once on the pool, run r on workers split[r], posting events as they come (the
   * pool's answers arrive as tasks, so a newer run or a cancel is seen between two events) and
   * beating meanwhile. The first run to fail stops the others at once, even while they wait for
   * their workers, and is thrown as a SideError; a stopped job ends them all silently.
   */
  async function onPool(runs: RunList, split: number[][], pool: ShardPool, job: Job, stopped: () => boolean): Promise<void> {
    let failure: SideError | null = null;
    const halt = new AbortController();
    const follow = () => halt.abort();
    job.controller.signal.addEventListener('abort', follow);
    const stopBeats = beating(job);
    try {
      await Promise.all(
        runs.map(async (run, r) => {
          try {
            for await (const event of simulatePooled(run.config, pool, halt.signal, split[r])) {
              if (stopped() || failure) return;
              post(toReply(event, job.id, run.side));
            }
          } catch (error) {
            if (halt.signal.aborted) return;
            failure = new SideError(run.side, error);
            halt.abort();
          }
        }),
      );
    } finally {
      stopBeats();
      job.controller.signal.removeEventListener('abort', follow);
    }
    if (failure) throw failure;
  }

  return (request: Request) => {
    if (closed) return;
    switch (request.type) {
      case 'run': {
        if (current) stop(current, 'superseded');
        const job: Job = { id: request.id, controller: new AbortController() };
        current = job;
        post({ type: 'accepted', id: request.id });
        void execute(job, request.runs);
        return;
      }
      case 'cancel':
        if (current && current.id === request.id) stop(current, 'cancelled');
        return;
      case 'crash':
        // Test-only fault injection (issue 5); nothing else reaches these paths.
        if (request.mode === 'throw') {
          // Thrown from a timer, outside any caller's try, so the worker's `error` event fires.
          setTimeout(() => {
            throw new Error('engine worker crash requested (mode throw)');
          }, 0);
        } else {
          // A closed worker answers nothing more: stop the run in progress the same way, so an
          // in-process handler (tests) behaves like the dead worker.
          closed = true;
          if (current) stop(current, 'closed');
          close();
        }
        return;
    }
  };
}
