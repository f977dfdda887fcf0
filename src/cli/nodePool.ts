/** A pool of Node worker threads, each serving one shard (shardThread.ts), for the engine's `simulatePooled`. */
import { Worker } from 'node:worker_threads';
import { ShardPool, type ShardEndpoint, type ShardReply } from '../engine/pool';

/** A pool of `size` threads, and a way to end them. */
export function nodePool(size: number): { pool: ShardPool; close(): Promise<void> } {
  const workers = Array.from({ length: size }, () => new Worker(new URL('./shardThread.mjs', import.meta.url)));
  const endpoints: ShardEndpoint[] = workers.map((w) => ({
    post: (request, transfer) => w.postMessage(request, transfer),
    listen(handler) {
      w.on('message', (reply: ShardReply) => handler(reply));
      w.on('error', (error: Error) => handler(new Error(`a pool thread failed: ${error.message}`)));
      w.on('exit', (code) => handler(new Error(`a pool thread exited (code ${code})`)));
    },
  }));
  return {
    pool: new ShardPool(endpoints),
    async close() {
      await Promise.all(workers.map((w) => w.terminate()));
    },
  };
}
