/**
 * The engine worker's pool of shard workers (one per hardware thread, capped): made on the first run
 * big enough to share, kept for the next runs, replaced when one of its workers fails. A pool
 * worker is a nested dedicated worker, so terminating the engine worker (a cancel) ends them too.
 */
import { ShardPool, type ShardEndpoint, type ShardReply, type ShardRequest } from '../engine/pool';

/** At most this many pool workers, however many hardware threads there are. */
export const MAX_POOL_WORKERS = 8;

/**
 * Runs with fewer multiply-adds per layer than this (on average, counted as `runCost` counts them:
 * forward and backward, every network) run in the engine worker itself: below it, the messages of
 * a layer cost more than splitting its products saves. Measured in Node with two workers (each
 * taking turns to draw the shared weights, neither waiting for the other between layers): 30 x 128
 * wide with n 64 (2.1e6 per layer) took 45-62 ms alone and 86-115 ms on the pool; 30 x 256 with
 * n 128 (1.7e7) 88-104 ms alone and 85-159 ms; the default 30 x 512 with n 256 (1.3e8) 404-434 ms
 * alone and 255-286 ms on two workers.
 */
export const POOL_MIN_MULTIPLY_ADDS = 3e7;

/** The number of pool workers for `threads` hardware threads: none below 2. */
export function poolSize(threads: number | undefined): number {
  const t = Math.floor(threads ?? 1);
  return t >= 2 ? Math.min(t, MAX_POOL_WORKERS) : 0;
}

/** A Worker as far as the pool uses it. */
interface WorkerLike {
  postMessage(message: ShardRequest, transfer: ArrayBuffer[]): void;
  addEventListener(type: 'message', listener: (event: MessageEvent<ShardReply>) => void): void;
  addEventListener(type: 'error' | 'messageerror', listener: (event: Event) => void): void;
  terminate(): void;
}

/** An endpoint over a Worker. */
export function workerEndpoint(worker: WorkerLike): ShardEndpoint {
  return {
    post(request, transfer) {
      worker.postMessage(request, transfer);
    },
    listen(handler) {
      worker.addEventListener('message', (event) => handler(event.data));
      worker.addEventListener('error', (event) => {
        event.preventDefault();
        handler(new Error(`a pool worker failed${(event as ErrorEvent).message ? `: ${(event as ErrorEvent).message}` : ''}`));
      });
      worker.addEventListener('messageerror', () => handler(new Error('a pool worker sent a message that could not be read')));
    },
  };
}

/** Makes a pool worker as the app does; Vite bundles `shard.worker.ts` from this exact expression. */
export function defaultShardWorker(): WorkerLike {
  return new Worker(new URL('./shard.worker.ts', import.meta.url), { type: 'module' }) as unknown as WorkerLike;
}

/**
 * The pool for the handler: `get()` returns the live pool (made on first use, remade after a
 * failure), or null when there is no point in one (one hardware thread, no Worker in this scope).
 */
export function lazyPool(size: number, make: () => WorkerLike = defaultShardWorker): { get(): ShardPool | null; dispose(): void } {
  let workers: WorkerLike[] = [];
  let pool: ShardPool | null = null;
  const dispose = () => {
    // A terminated worker says nothing more: what is still waited for from it fails now.
    pool?.close(new Error('the pool of workers was replaced'));
    for (const w of workers) w.terminate();
    workers = [];
    pool = null;
  };
  return {
    get() {
      if (size < 2) return null;
      if (pool && !pool.broken) return pool;
      dispose();
      try {
        // One by one into `workers`, so that those made before a failing one are terminated too.
        for (let i = 0; i < size; i++) workers.push(make());
      } catch {
        dispose();
        return null;
      }
      pool = new ShardPool(workers.map(workerEndpoint));
      return pool;
    },
    dispose,
  };
}
