/**
 * The engine worker's message handler, free of the DOM and of the worker global so that it runs in
 * Node tests as it runs in the worker. It streams each engine event as a reply and gives the event
 * loop a turn between events, so that a newer `run` or a `cancel` is seen between two layers.
 */
import type { Kernels } from '../engine/kernels';
import { simulatePooled, type ShardPool } from '../engine/pool';
import { layerShapes, runCost } from '../engine/schema';
import { planShards } from '../engine/shard';
import { simulate, type EngineEvent } from '../engine/simulate';
import { POOL_MIN_MULTIPLY_ADDS } from './pool';
import { BEAT_MS, type Reply, type Request, type Side } from './protocol';

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

/** One side's configuration of a run request. */
type RunSpec = Extract<Request, { type: 'run' }>['runs'][number];

/** An error of one side of a side-by-side run. */
class SideError extends Error {
  constructor(
    readonly side: Side,
    readonly error: unknown,
  ) {
    super(messageOf(error));
  }
}

/**
 * What each extra worker adds to a run's speed, as a share of the first one's: two workers ran the
 * default run 1.3-1.4 times as fast as one and the large run 1.7 times (`npm run bench`). The larger
 * share is taken: it is the one that favours one run after the other.
 */
const EXTRA_WORKER_SPEED = 0.7;

/**
 * Whether runs finish sooner side by side (the pool shared out by `splitWorkers`) than one after
 * the other on the whole pool, with a run's time on k workers taken as its multiply-adds over
 * 1 + EXTRA_WORKER_SPEED (k' - 1), k' = usable(r, k) the workers run r can use of k (it has
 * cells for so many). Two workers and two runs: side by side while the shorter has at least 70%
 * of the longer's multiply-adds (A and B of a comparison mostly have the same).
 */
export function sideBySideIsFaster(size: number, costs: number[], usable: (run: number, workers: number) => number = (_, k) => k): boolean {
  if (size < costs.length) return false;
  const time = (r: number, k: number) => costs[r] / (1 + EXTRA_WORKER_SPEED * (Math.max(1, usable(r, k)) - 1));
  const split = splitWorkers(size, costs);
  const together = Math.max(...costs.map((_, r) => time(r, split[r].length)));
  const inTurn = costs.reduce((sum, _, r) => sum + time(r, size), 0);
  return together <= inTurn;
}

/**
 * The pool's workers shared out between runs going side by side, in proportion to their
 * multiply-adds, each run getting at least one (`size` must be at least the number of runs):
 * consecutive worker numbers per run, in the runs' order.
 */
export function splitWorkers(size: number, costs: number[]): number[][] {
  const counts = costs.map(() => 1);
  let left = size - costs.length;
  // The spare workers one at a time to the run with the most multiply-adds per worker (the first on ties).
  while (left-- > 0) {
    let best = 0;
    for (let r = 1; r < costs.length; r++) if (costs[r] / counts[r] > costs[best] / counts[best]) best = r;
    counts[best]++;
  }
  let next = 0;
  return counts.map((n) => Array.from({ length: n }, () => next++));
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

  async function execute(job: Job, runs: Extract<Request, { type: 'run' }>['runs']): Promise<void> {
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
    const pooled = (run: RunSpec) => runCost(run.config).multiplyAdds / Math.max(1, layerShapes(run.config).length) >= poolMin;
    try {
      const pool = runs.some(pooled) ? poolFor() : null;
      const costs = runs.map((run) => runCost(run.config).multiplyAdds);
      const usable = (r: number, k: number) => planShards(runs[r].config, k).length;
      if (pool && runs.length === 2 && runs.every(pooled) && sideBySideIsFaster(pool.size, costs, usable)) {
        // A and B side by side, each on its own workers: no run waits for the other, and fewer
        // workers per run exchange fewer weights. The sides' events interleave, each in its order.
        const split = splitWorkers(pool.size, costs);
        workers = split.reduce((sum, ids, r) => sum + usable(r, ids.length), 0);
        const stopBeats = beating(job);
        try {
          await sideBySide(runs, split, pool, job, stopped);
        } finally {
          stopBeats();
        }
        if (stopped()) return;
        post({ type: 'done', id, ms: now() - started, workers });
        return;
      }
      for (const run of runs) {
        side = run.side;
        if (pool && pooled(run)) {
          workers = Math.max(workers, planShards(run.config, pool.size).length);
          // The pool's answers arrive as tasks, so a newer run or a cancel is seen between two events.
          const stopBeats = beating(job);
          try {
            for await (const event of simulatePooled(run.config, pool, signal)) {
              if (stopped()) return;
              post(toReply(event, id, side));
            }
          } finally {
            stopBeats();
          }
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
      post({ type: 'done', id, ms: now() - started, workers });
    } catch (error) {
      // Stopped while waiting for the pool (a newer run has the workers now, or replaced them).
      if (stopped()) return;
      if (error instanceof SideError) post({ type: 'error', id, message: `Engine error in ${error.side.toUpperCase()}: ${messageOf(error.error)}` });
      else post({ type: 'error', id, message: `Engine error in ${side.toUpperCase()}: ${messageOf(error)}` });
    } finally {
      ticker.close();
      if (current === job) current = null;
    }
  }

  /**
   * Runs each side on its own workers at once, posting events as they come. The first side to fail
   * stops the other and is thrown as a SideError; a stopped job ends both silently.
   */
  async function sideBySide(runs: RunSpec[], split: number[][], pool: ShardPool, job: Job, stopped: () => boolean): Promise<void> {
    let failure: SideError | null = null;
    // Pulled by the job's own switch or by the first failure: the other side stops at once, even
    // while it waits for its workers.
    const halt = new AbortController();
    const follow = () => halt.abort();
    job.controller.signal.addEventListener('abort', follow);
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
      job.controller.signal.removeEventListener('abort', follow);
    }
    if (failure && !stopped()) throw failure;
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
