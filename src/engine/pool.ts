/**
 * A run over a pool of workers, each holding one shard (shard.ts), with the coordinator of
 * simulate.ts merging their answers in cell order: the numbers are those of `simulate`, bit for bit,
 * whatever the number of workers. This file knows nothing of any worker API: a worker is a
 * `ShardEndpoint` (a message port, in effect), and `serveShard` is the message handler a worker
 * entry wires to its own port (src/worker/shard.worker.ts in the browser, src/cli/shardThread.ts in Node).
 *
 * The workers do not wait for the coordinator between layers. Once a run is started, each worker
 * computes its layers on its own (the first scans, then the backward pass) and pushes every answer
 * as soon as it has it; only a second scan needs the merged first scans of every worker, and each
 * worker runs at most RUN_AHEAD layers ahead of its last second scan (which bounds the
 * post-activations it keeps). So no worker idles while the coordinator merges or while a slower
 * worker finishes a layer, and the order in which things are computed changes nothing computed.
 *
 * The workers holding samples of one network all need its weights, drawn from one serial stream
 * per layer. They take turns: layer l's are drawn by one of them a layer ahead and sent to the
 * others through the coordinator (`weights` messages), for the forward pass and again for the
 * backward pass, so each draws its share instead of all of them.
 */
import { defaultKernels, type Kernels } from './kernels';
import type { RunConfig } from './schema';
import { netHolders, planShards, Shard, type ShardCall, type WeightPass } from './shard';
import { coordinate, type EngineEvent, type RunResult } from './simulate';

/** Coordinator to worker: start run `run` (replacing any other), a second scan of it (answered under `seq`), or drop it. */
export type ShardRequest =
  | { type: 'init'; seq: number; run: number; config: RunConfig; plan: [number, number][]; index: number }
  | { type: 'stop'; run: number }
  | { type: 'call'; seq: number; run: number; call: Extract<ShardCall, { op: 'input2' | 'forward2' }> }
  | WeightsMessage;

/** Weights one worker drew for the others holding the same network (worker to coordinator to worker). */
export interface WeightsMessage {
  type: 'weights';
  run: number;
  pass: WeightPass;
  net: number;
  layer: number;
  data: Float32Array;
}

/**
 * Worker to coordinator: the answer to request `seq` or the error it raised; or an answer the worker
 * computed on its own (`push`, keyed by `stepKey`), or the error that stopped its run.
 */
export type ShardReply =
  | { type: 'answer'; seq: number; answer: unknown }
  | { type: 'error'; seq: number; message: string }
  | { type: 'push'; run: number; key: string; answer: unknown }
  | { type: 'push-error'; run: number; message: string }
  | WeightsMessage;

/** The coordinator's side of one worker. */
export interface ShardEndpoint {
  /** Sends a request, transferring the buffers in `transfer`. */
  post(request: ShardRequest, transfer: ArrayBuffer[]): void;
  /** Called with every reply of the worker, and with an Error when the worker failed. */
  listen(handler: (reply: ShardReply | Error) => void): void;
}

/** How many layers a worker may compute past the last one whose second scan it has done. */
const RUN_AHEAD = 2;

/** Weights of a network others hold too, to draw ahead for this worker and for them. */
type Draw = { op: 'draw'; pass: WeightPass; net: number; layer: number };

/**
 * The steps a worker takes on its own, in its order: input1, forward1 by layer, backward from the
 * top, and before each layer the draws of the next layer's weights that fall to it: those of the
 * networks it alone holds are drawn when used instead.
 */
function ownSteps(shard: Shard): (ShardCall | Draw)[] {
  const layers = shard.layers;
  // The draws of layer `layer` from `first` on (the backward pass of layer 0 needs no weights: it has no input gradient).
  const draws = (pass: WeightPass, layer: number, first = 0): Draw[] =>
    layer < first || layer >= layers ? [] : shard.turnsAt(layer).map((net): Draw => ({ op: 'draw', pass, net, layer }));
  const steps: (ShardCall | Draw)[] = [{ op: 'input1' }, ...draws('forward', 0)];
  for (let l = 0; l < layers; l++) steps.push(...draws('forward', l + 1), { op: 'forward1', layer: l });
  steps.push(...draws('backward', layers - 1, 1));
  for (let l = layers - 1; l >= 0; l--) steps.push(...draws('backward', l - 1, 1), { op: 'backward', layer: l });
  return steps;
}

/** The key of a pushed answer. */
function stepKey(call: ShardCall): string {
  return 'layer' in call ? `${call.op}:${call.layer}` : call.op;
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

const messageOf = (error: unknown) => (error instanceof Error ? error.message || error.name : String(error));

/** A run as one worker holds it. */
interface Job {
  run: number;
  shard: Shard;
  steps: (ShardCall | Draw)[];
  next: number;
  /** Second scans asked for and not yet done, in the order asked. */
  scans: { seq: number; call: ShardCall }[];
  /** Second scans done: the input's, then layer by layer. */
  scanned: number;
  scheduled: boolean;
}

/**
 * The worker's side: `init` starts a run and the worker computes it step by step, one step per task
 * (`defer` queues a task; the worker entry passes its fastest), so that requests are read between
 * steps: a second scan asked for goes before the next step of its own, and a new `init` (or a
 * `stop`) drops the run in progress. Answers go out through `reply` as soon as each is computed.
 */
export function serveShard(
  reply: (message: ShardReply, transfer: ArrayBuffer[]) => void,
  defer: (task: () => void) => void,
  kernels: () => Kernels = defaultKernels,
): (request: ShardRequest) => void {
  let job: Job | null = null;
  let made: Kernels | null = null;

  const ready = (j: Job, call: ShardCall | Draw): boolean => {
    if (call.op === 'forward1') return j.scanned >= call.layer + 2 - RUN_AHEAD && j.shard.hasGiven('forward', call.layer);
    if (call.op === 'backward') return j.scanned === j.shard.layers + 1 && (call.layer === 0 || j.shard.hasGiven('backward', call.layer));
    return true;
  };

  const pump = (j: Job) => {
    if (j.scheduled || job !== j) return;
    j.scheduled = true;
    defer(() => {
      j.scheduled = false;
      if (job === j) step(j);
    });
  };

  function step(j: Job): void {
    const scan = j.scans[0];
    if (scan) {
      j.scans.shift();
      try {
        const answer = j.shard.handle(scan.call);
        j.scanned++;
        reply({ type: 'answer', seq: scan.seq, answer }, transferables(answer));
      } catch (error) {
        job = null;
        reply({ type: 'error', seq: scan.seq, message: messageOf(error) }, []);
        return;
      }
      pump(j);
      return;
    }
    if (j.next < j.steps.length && ready(j, j.steps[j.next])) {
      const call = j.steps[j.next++];
      try {
        if (call.op === 'draw') {
          // A copy goes to the others: this worker keeps its own.
          const data = j.shard.draw(call.pass, call.net, call.layer).slice();
          reply({ type: 'weights', run: j.run, pass: call.pass, net: call.net, layer: call.layer, data }, [data.buffer as ArrayBuffer]);
          pump(j);
          return;
        }
        const answer = j.shard.handle(call);
        reply({ type: 'push', run: j.run, key: stepKey(call), answer }, transferables(answer));
      } catch (error) {
        job = null;
        reply({ type: 'push-error', run: j.run, message: messageOf(error) }, []);
        return;
      }
      pump(j);
    }
    // Otherwise the next step waits for a second scan to be asked for.
  }

  return (request) => {
    if (request.type === 'init') {
      job = null;
      try {
        made ??= kernels();
        const shard = new Shard(request.config, request.plan, request.index, made);
        job = { run: request.run, shard, steps: ownSteps(shard), next: 0, scans: [], scanned: 0, scheduled: false };
        reply({ type: 'answer', seq: request.seq, answer: null }, []);
        pump(job);
      } catch (error) {
        reply({ type: 'error', seq: request.seq, message: messageOf(error) }, []);
      }
      return;
    }
    if (request.type === 'stop') {
      if (job && job.run === request.run) job = null;
      return;
    }
    if (request.type === 'weights') {
      if (job && job.run === request.run) {
        job.shard.give(request.pass, request.net, request.layer, request.data);
        pump(job);
      }
      return;
    }
    if (!job || job.run !== request.run) {
      reply({ type: 'error', seq: request.seq, message: job ? 'shard call for a run this worker no longer holds' : 'shard call before init' }, []);
      return;
    }
    job.scans.push({ seq: request.seq, call: request.call });
    pump(job);
  };
}

/** Thrown by `simulatePooled` when its signal was aborted, or a newer run took the pool: the run sent nothing more to the pool. */
export class PoolRunAborted extends Error {
  constructor() {
    super('the pooled run was stopped');
    this.name = 'PoolRunAborted';
  }
}

interface Waiter {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
}

/** Where a run sends the weights worker `from` drew for the others. */
type Relay = (from: number, message: WeightsMessage) => void;

/**
 * A pool of endpoints with request numbering and, per worker, the run it serves and that run's
 * pushed answers; a failed worker fails every call waiting on it. Runs on disjoint sets of workers
 * go on side by side (A and B of a comparison); a run begun on a worker ends the one it served.
 */
export class ShardPool {
  private seq = 0;
  private runs = 0;
  private readonly waiting: Map<number, Waiter>[];
  /** Per worker, the run it serves (0 for none) and where that run relays the weights it draws. */
  private readonly runOf: number[];
  private readonly relayOf: (Relay | null)[];
  /** Per worker, the pushed answers of its run not yet taken, and those waited for. */
  private readonly pushed: Map<string, unknown>[];
  private readonly pushWaiting: Map<string, Waiter>[];
  /** Per worker, the error that stopped its run there (`push-error`). */
  private readonly runError: (Error | null)[];
  private readonly failed: (Error | null)[];

  constructor(readonly endpoints: ShardEndpoint[]) {
    this.waiting = endpoints.map(() => new Map());
    this.runOf = endpoints.map(() => 0);
    this.relayOf = endpoints.map(() => null);
    this.pushed = endpoints.map(() => new Map());
    this.pushWaiting = endpoints.map(() => new Map());
    this.runError = endpoints.map(() => null);
    this.failed = endpoints.map(() => null);
    endpoints.forEach((endpoint, i) =>
      endpoint.listen((reply) => {
        const waiting = this.waiting[i];
        if (reply instanceof Error) {
          this.failed[i] = reply;
          this.drop(i, reply);
          return;
        }
        if (reply.type === 'weights') {
          if (reply.run === this.runOf[i]) this.relayOf[i]?.(i, reply);
          return;
        }
        if (reply.type === 'push' || reply.type === 'push-error') {
          if (reply.run !== this.runOf[i]) return; // from a run no longer wanted
          if (reply.type === 'push-error') {
            // The worker stopped this run: everything waited for from it fails, second scans included.
            this.runError[i] = new Error(reply.message);
            this.drop(i, this.runError[i]);
            return;
          }
          const w = this.pushWaiting[i].get(reply.key);
          if (w) {
            this.pushWaiting[i].delete(reply.key);
            w.resolve(reply.answer);
          } else this.pushed[i].set(reply.key, reply.answer);
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

  /** Rejects whatever is waited for from worker `i`, requests and pushes, with `error`. */
  private drop(i: number, error: Error): void {
    for (const w of [...this.waiting[i].values(), ...this.pushWaiting[i].values()]) w.reject(error);
    this.waiting[i].clear();
    this.pushWaiting[i].clear();
  }

  /** Forgets worker `i`'s run here: its relay, what is waited for (PoolRunAborted) and its pushed answers. */
  private forget(i: number): void {
    this.drop(i, new PoolRunAborted());
    this.pushed[i].clear();
    this.runError[i] = null;
    this.runOf[i] = 0;
    this.relayOf[i] = null;
  }

  /** The number of workers. */
  get size(): number {
    return this.endpoints.length;
  }

  /** True once a worker has failed; such a pool is to be replaced. */
  get broken(): boolean {
    return this.failed.some((f) => f !== null);
  }

  /**
   * Starts a new run number on `workers` (all by default): the pushed answers of the runs they
   * served are dropped, and whoever still waits for those, or for any earlier request to them (the
   * workers drop the older run on the new run's `init`), gets PoolRunAborted. Other workers go on.
   */
  begin(relay: Relay | null = null, workers: readonly number[] = this.endpoints.map((_, i) => i)): number {
    const run = ++this.runs;
    for (const i of workers) {
      this.forget(i);
      this.runOf[i] = run;
      this.relayOf[i] = relay;
    }
    return run;
  }

  /** Fails every worker with `error` (the pool is being replaced): whatever is waited for is rejected, and nothing more is sent. */
  close(error: Error): void {
    this.endpoints.forEach((_, i) => {
      this.failed[i] ??= error;
      this.drop(i, error);
    });
  }

  /** Sends one request to worker `i` and resolves with its answer. */
  request(i: number, make: (seq: number) => ShardRequest): Promise<unknown> {
    const failed = this.failed[i];
    if (failed) return Promise.reject(failed);
    const seq = ++this.seq;
    return new Promise((resolve, reject) => {
      this.waiting[i].set(seq, { resolve, reject });
      try {
        this.endpoints[i].post(make(seq), []);
      } catch (error) {
        this.waiting[i].delete(seq);
        reject(error instanceof Error ? error : new Error(String(error)));
      }
    });
  }

  /** Tells every worker to drop run `run` (one that holds another run ignores it), and forgets it here where it is still served. */
  stop(run: number): void {
    this.endpoints.forEach((endpoint, i) => {
      if (this.runOf[i] === run) this.forget(i);
      if (this.failed[i]) return;
      try {
        endpoint.post({ type: 'stop', run }, []);
      } catch {
        // A worker that cannot be told fails its next request instead.
      }
    });
  }

  /** Sends weights to worker `i` (a failed one is skipped: its run fails anyway), transferring their buffer when `transfer`. */
  send(i: number, message: WeightsMessage, transfer: boolean): void {
    if (this.failed[i]) return;
    try {
      this.endpoints[i].post(message, transfer ? [message.data.buffer as ArrayBuffer] : []);
    } catch (error) {
      this.drop(i, error instanceof Error ? error : new Error(String(error)));
    }
  }

  /** Resolves with the answer worker `i` pushes (or has pushed) under `key` in run `run`. */
  push(i: number, run: number, key: string): Promise<unknown> {
    if (run !== this.runOf[i]) return Promise.reject(new PoolRunAborted());
    const failed = this.failed[i];
    if (failed) return Promise.reject(failed);
    const stopped = this.runError[i];
    if (stopped) return Promise.reject(stopped);
    if (this.pushed[i].has(key)) {
      const answer = this.pushed[i].get(key);
      this.pushed[i].delete(key);
      return Promise.resolve(answer);
    }
    return new Promise((resolve, reject) => this.pushWaiting[i].set(key, { resolve, reject }));
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

/** What `simulatePooled` watches to stop: an AbortSignal, or anything with `aborted` (then read between steps only). */
export interface RunSignal {
  readonly aborted: boolean;
  addEventListener?(type: 'abort', listener: () => void): void;
  removeEventListener?(type: 'abort', listener: () => void): void;
}

/**
 * Runs a validated configuration on the pool (on as many of `workers`, by default all of its
 * workers, as the run has cells to share), yielding the events of `simulate` in the same order and
 * returning the same result. Once `signal` is aborted no further request is sent (a newer run may
 * already have given the workers other shards): the generator throws PoolRunAborted instead, as it
 * does when a newer run began on one of its workers. An AbortSignal stops the run at once, even
 * while it waits for the workers: they are told to drop it, and what it waits for is rejected.
 */
export async function* simulatePooled(
  c: RunConfig,
  pool: ShardPool,
  signal?: RunSignal,
  workers: readonly number[] = pool.endpoints.map((_, i) => i),
): AsyncGenerator<EngineEvent, RunResult, void> {
  const plan = planShards(c, workers.length);
  // Shard k of the plan is served by worker ids[k].
  const ids = plan.map((_, k) => workers[k]);
  const check = () => {
    if (signal?.aborted) throw new PoolRunAborted();
  };
  check();
  // Weights drawn by one holder of a network go to its other holders: the last of them gets the
  // buffer itself, the others copies.
  const holders = netHolders(c, plan).map((shards) => shards.map((k) => ids[k]));
  const run = pool.begin((from, message) => {
    const to = holders[message.net].filter((i) => i !== from);
    to.forEach((i, k) => pool.send(i, message, k === to.length - 1));
  }, ids);
  // The workers compute on their own once started: a run left before its end (stopped, failed or
  // no longer iterated) tells them to drop it, so that they do not finish it for nobody.
  let finished = false;
  const abort = () => pool.stop(run);
  signal?.addEventListener?.('abort', abort);
  try {
    await Promise.all(ids.map((i, index) => pool.request(i, (seq) => ({ type: 'init', seq, run, config: c, plan, index }))));
    const steps = coordinate(c);
    let answers: unknown[] = [];
    for (;;) {
      const step = steps.next(answers);
      if (step.done) {
        finished = true;
        return step.value;
      }
      if (step.value.type === 'call') {
        const call = step.value.call;
        check();
        if (call.op === 'input2' || call.op === 'forward2') answers = await Promise.all(ids.map((i) => pool.request(i, (seq) => ({ type: 'call', seq, run, call }))));
        else answers = await Promise.all(ids.map((i) => pool.push(i, run, stepKey(call))));
      } else {
        answers = [];
        yield step.value.event;
      }
    }
  } finally {
    signal?.removeEventListener?.('abort', abort);
    if (!finished) pool.stop(run);
  }
}
