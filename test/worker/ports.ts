/** Shard servers behind real message ports, for the pool tests. */
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { defaultKernels, type Kernels } from '../../src/engine/kernels';
import { serveShard, simulatePooled, type ShardEndpoint, type ShardPool, type ShardReply, type ShardRequest } from '../../src/engine/pool';
import type { RunConfig } from '../../src/engine/schema';
import type { EngineEvent, RunResult } from '../../src/engine/simulate';

export interface PortEnd {
  endpoint: ShardEndpoint;
  /** Makes the pool see the worker fail with `message`. */
  fail(message: string): void;
  close(): void;
  /** Replies sent, by type. */
  sent: Map<string, number>;
  /** The seeds of the runs this worker was given (`init`), in order. */
  inits: string[];
}

/** A shard server behind a real message port (structured clone and transfer, as between threads). */
export function portEndpoint(kernels?: () => Kernels): PortEnd {
  const sent = new Map<string, number>();
  const inits: string[] = [];
  const { port1, port2 } = new MessageChannel();
  const serve = serveShard((reply, transfer) => port2.postMessage(reply, transfer), setImmediate, kernels);
  port2.on('message', (request: ShardRequest) => serve(request));
  let handler: (reply: ShardReply | Error) => void = () => {};
  return {
    endpoint: {
      post(request, transfer) {
        if (request.type === 'init') inits.push(request.config.seed);
        port1.postMessage(request, transfer);
      },
      listen(h) {
        handler = h;
        (port1 as MessagePort).on('message', (reply: ShardReply) => {
          sent.set(reply.type, (sent.get(reply.type) ?? 0) + 1);
          handler(reply);
        });
      },
    },
    sent,
    inits,
    fail: (message) => handler(new Error(message)),
    close() {
      port1.close();
      port2.close();
    },
  };
}

/** A pooled run to its end, on `workers` of the pool (all by default): its events and result. */
export async function collect(c: RunConfig, pool: ShardPool, workers?: number[]): Promise<{ events: EngineEvent[]; result: RunResult }> {
  const events: EngineEvent[] = [];
  const it = simulatePooled(c, pool, undefined, workers);
  for (;;) {
    const step = await it.next();
    if (step.done) return { events, result: step.value };
    events.push(step.value);
  }
}


/** Kernels (one set per call, as each worker makes its own) whose dense product throws at its `nth` call over all sets. */
export function failingDense(nth: number): () => Kernels {
  let calls = 0;
  return () => {
    const k = defaultKernels();
    return {
      ...k,
      dense(...args) {
        if (++calls === nth) throw new Error('dense kernel failed');
        return k.dense(...args);
      },
    };
  };
}

/** Iterates a pooled run to its end, for its rejection. */
export async function drain(it: AsyncGenerator<unknown, unknown, void>): Promise<void> {
  for (;;) if ((await it.next()).done) break;
}
