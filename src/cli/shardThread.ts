/**
 * A pool worker in Node (worker_threads): the same shard server as the browser's
 * src/worker/shard.worker.ts, for `npm run bench` (and anything else in Node that wants a pool).
 */
import { parentPort } from 'node:worker_threads';
import { serveShard, type ShardRequest } from '../engine/pool';

const port = parentPort;
if (!port) throw new Error('shardThread.ts runs as a worker thread');
const serve = serveShard((reply, transfer) => port.postMessage(reply, transfer), setImmediate);
port.on('message', (request: ShardRequest) => serve(request));
