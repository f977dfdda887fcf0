/**
 * A run over a pool of workers, each holding one shard (shard.ts), with the coordinator of
 * simulate.ts merging their answers in cell order: the numbers are those of `simulate`, bit for bit,
 * whatever the number of workers. This file knows nothing of any worker API: a worker is a
 * `ShardEndpoint` (a message port, in effect), and `serveShard` is the message handler a worker
 * entry wires to its own port (src/worker/shard.worker.ts in the browser, src/cli/shardThread.ts in Node).
 */
import { defaultKernels, type Kernels } from './kernels';
import type { RunConfig } from './schema';
import { planShards, Shard, type ShardCall } from './shard';
import { coordinate, type EngineEvent, type RunResult } from './simulate';

/** Coordinator to worker. */
export type ShardRequest = { type: 'init'; seq: number; config: RunConfig; plan: [number, number][]; index: number } | { type: 'call'; seq: number; call: ShardCall };

/** Worker to coordinator: the answer to request `seq`, or the error it raised. */
export type ShardReply = { type: 'answer'; seq: number; answer: unknown } | { type: 'error'; seq: number; message: string };

/** The coordinator's side of one worker. */
export interface ShardEndpoint {
  /** Sends a request; transferring `transfer` is allowed. */
  post(request: ShardRequest): void;
  /** Called with every reply of the worker, and with an Error when the worker failed. */
  listen(handler: (reply: ShardReply | Error) => void): void;
}

/** The ArrayBuffers of the typed arrays inside an answer, to transfer instead of copying. */
export function transferables(value: unknown, out: ArrayBuffer[] = []): ArrayBuffer[] {
  if (ArrayBuffer.isView(value)) {
    const buffer = value.buffer;
    if (buffer instanceof ArrayBuffer && value.byteOffset === 0 && value.byteLength === buffer.byteLength && !out.includes(buffer)) out.push(buffer);
  } else if (Array.isArray(value)) for (const v of value) transferables(v, out);
  else if (value && typeof value === 'object') for (const v of Object.values(value)) transferables(v, out);
  return out;
}

/** The worker's side: answers requests in order with `reply`. One shard at a time; `init` replaces it. */
export function serveShard(reply: (message: ShardReply, transfer: ArrayBuffer[]) => void, kernels: () => Kernels = defaultKernels): (request: ShardRequest) => void {
  let shard: Shard | null = null;
  let made: Kernels | null = null;
  return (request) => {
    try {
      if (request.type === 'init') {
        made ??= kernels();
        shard = new Shard(request.config, request.plan, request.index, made);
        reply({ type: 'answer', seq: request.seq, answer: null }, []);
        return;
      }
      if (!shard) throw new Error('shard call before init');
      const answer = shard.handle(request.call);
      reply({ type: 'answer', seq: request.seq, answer }, transferables(answer));
    } catch (error) {
      reply({ type: 'error', seq: request.seq, message: error instanceof Error ? error.message || error.name : String(error) }, []);
    }
  };
}

/** A pool of endpoints with request numbering; a failed worker fails every call waiting on it. */
export class ShardPool {
  private seq = 0;
  private readonly waiting: Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>[];
  private readonly failed: (Error | null)[];

  constructor(readonly endpoints: ShardEndpoint[]) {
    this.waiting = endpoints.map(() => new Map());
    this.failed = endpoints.map(() => null);
    endpoints.forEach((endpoint, i) =>
      endpoint.listen((reply) => {
        const waiting = this.waiting[i];
        if (reply instanceof Error) {
          this.failed[i] = reply;
          for (const w of waiting.values()) w.reject(reply);
          waiting.clear();
          return;
        }
        const w = waiting.get(reply.seq);
        if (!w) return; // an answer nobody waits for any more
        waiting.delete(reply.seq);
        if (reply.type === 'error') w.reject(new Error(reply.message));
        else w.resolve(reply.answer);
      }),
    );
  }

  /** The number of workers. */
  get size(): number {
    return this.endpoints.length;
  }

  /** True once a worker has failed; such a pool is to be replaced. */
  get broken(): boolean {
    return this.failed.some((f) => f !== null);
  }

  /** Sends one request to worker `i` and resolves with its answer. */
  request(i: number, make: (seq: number) => ShardRequest): Promise<unknown> {
    const failed = this.failed[i];
    if (failed) return Promise.reject(failed);
    const seq = ++this.seq;
    return new Promise((resolve, reject) => {
      this.waiting[i].set(seq, { resolve, reject });
      try {
        this.endpoints[i].post(make(seq));
      } catch (error) {
        this.waiting[i].delete(seq);
        reject(error instanceof Error ? error : new Error(String(error)));
      }
    });
  }
}

/** Thrown by `simulatePooled` when its signal was aborted: the run sent nothing more to the pool. */
export class PoolRunAborted extends Error {
  constructor() {
    super('the pooled run was stopped');
    this.name = 'PoolRunAborted';
  }
}

/**
 * Runs a validated configuration on the pool (as many of its workers as the run has cells to
 * share), yielding the events of `simulate` in the same order and returning the same result.
 * Once `signal` is aborted no further request is sent (a newer run may already have given the
 * workers other shards): the generator throws PoolRunAborted instead.
 */
export async function* simulatePooled(c: RunConfig, pool: ShardPool, signal?: { readonly aborted: boolean }): AsyncGenerator<EngineEvent, RunResult, void> {
  const plan = planShards(c, pool.size);
  const all = (make: (i: number, seq: number) => ShardRequest) => {
    if (signal?.aborted) throw new PoolRunAborted();
    return Promise.all(plan.map((_, i) => pool.request(i, (seq) => make(i, seq))));
  };
  await all((i, seq) => ({ type: 'init', seq, config: c, plan, index: i }));
  const steps = coordinate(c);
  let answers: unknown[] = [];
  for (;;) {
    const step = steps.next(answers);
    if (step.done) return step.value;
    if (step.value.type === 'call') {
      const call = step.value.call;
      answers = await all((_, seq) => ({ type: 'call', seq, call }));
    } else {
      answers = [];
      yield step.value.event;
    }
  }
}
