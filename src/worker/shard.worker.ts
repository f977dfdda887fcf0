/**
 * A pool worker's entry: holds one shard of a run (src/engine/shard.ts), computes its layers on its
 * own and sends the engine worker per-cell partial statistics as it goes (src/engine/pool.ts
 * `serveShard`). Made by the engine worker (pool.ts here).
 */
import { serveShard, type ShardRequest, type ShardReply } from '../engine/pool';

// See engine.worker.ts for why the worker globals are named by a cast.
const scope = self as unknown as {
  onmessage: ((event: MessageEvent<ShardRequest>) => void) | null;
  postMessage(reply: ShardReply, transfer: ArrayBuffer[]): void;
};

// The shard computes one step per task; a message to itself queues the next without setTimeout's
// clamping (4 ms once timers nest).
const tasks: (() => void)[] = [];
const channel = new MessageChannel();
channel.port1.onmessage = () => tasks.shift()?.();
const defer = (task: () => void) => {
  tasks.push(task);
  channel.port2.postMessage(null);
};

const serve = serveShard((reply, transfer) => scope.postMessage(reply, transfer), defer);
scope.onmessage = (event) => serve(event.data);
