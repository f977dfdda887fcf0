import { describe, expect, it } from 'vitest';
import { ShardPool, simulatePooled } from '../../src/engine/pool';
import { runAll } from '../../src/engine/simulate';
import { createHandler } from '../../src/worker/handler';
import { lazyPool, poolSize } from '../../src/worker/pool';
import type { Reply, Request } from '../../src/worker/protocol';
import { config, label, sideLabels, terminal } from './fixtures';
import { collect, drain, failingDense, portEndpoint } from './ports';

describe('the worker pool', () => {
  it('one worker per hardware thread, at most 8, none with a single thread', () => {
    expect([undefined, 1, 2, 3, 16].map(poolSize)).toEqual([0, 0, 2, 3, 8]);
  });

  for (const workers of [1, 2, 3]) {
    it(`${workers} workers behind message ports: the same events and numbers as simulate, bit for bit`, async () => {
      const ends = Array.from({ length: workers }, portEndpoint);
      const c = config({ net: 'mlp', depth: 5, width: 40, input: [24], n: 100, nets: 2, act: 'tanh' });
      const { events, result } = await collect(c, new ShardPool(ends.map((e) => e.endpoint)));
      expect(JSON.stringify(result)).toBe(JSON.stringify(runAll(c)));
      expect(events.map((e) => e.type)).toEqual(['start', ...Array(5).fill('forward'), ...Array(5).fill('backward')]);
      ends.forEach((e) => e.close());
    });
  }

  // Workers holding one network share its weights: each draws its turns and sends them on.
  for (const [workers, nets, act] of [
    [2, 1, 'relu'],
    [3, 1, 'leaky_relu'],
    [4, 3, 'tanh'],
  ] as const) {
    it(`${workers} workers sharing the weights of ${nets} network(s): each draws its turns, and the numbers are simulate's`, async () => {
      const ends = Array.from({ length: workers }, portEndpoint);
      const c = config({ net: 'mlp', depth: 7, width: 36, input: [20], n: 150, nets, act, slope: 0.1 });
      const { result } = await collect(c, new ShardPool(ends.map((e) => e.endpoint)));
      expect(JSON.stringify(result)).toBe(JSON.stringify(runAll(c)));
      // Forward and backward (layers 2 to 7) weights of every shared network, drawn once each.
      const drawn = ends.map((e) => e.sent.get('weights') ?? 0);
      expect(drawn.every((d) => d > 0)).toBe(true);
      ends.forEach((e) => e.close());
    });
  }

  it('a conv network on two workers, sharing its weights: the numbers are simulate\'s', async () => {
    const ends = [portEndpoint(), portEndpoint()];
    const c = config({ net: 'cnn', depth: 3, width: 4, input: [2, 8, 8], n: 70, act: 'relu' });
    const { result } = await collect(c, new ShardPool(ends.map((e) => e.endpoint)));
    expect(JSON.stringify(result)).toBe(JSON.stringify(runAll(c)));
    expect(ends.map((e) => e.sent.get('weights') ?? 0)).toEqual([3, 2]);
    ends.forEach((e) => e.close());
  });

  it('a worker that fails fails the run with its message, and the pool says it is broken', async () => {
    const ends = [portEndpoint(), portEndpoint()];
    const pool = new ShardPool(ends.map((e) => e.endpoint));
    const c = config({ net: 'mlp', depth: 30, width: 64, input: [64], n: 64 });
    const it = simulatePooled(c, pool);
    await it.next();
    ends[1].fail('a pool worker failed: boom');
    await expect(drain(it)).rejects.toThrow('a pool worker failed: boom');
    expect(pool.broken).toBe(true);
    ends.forEach((e) => e.close());
  });

  it('a run stopped in its backward pass tells the workers to drop it: they compute nothing more for it', async () => {
    // The forward pass cannot run away (a worker waits for the merged statistics two layers back),
    // but the backward pass needs nothing from the coordinator.
    const ends = [portEndpoint(), portEndpoint()];
    const pool = new ShardPool(ends.map((e) => e.endpoint));
    const signal = { aborted: false };
    const c = config({ net: 'mlp', depth: 40, width: 512, input: [512], n: 512 });
    const it = simulatePooled(c, pool, signal);
    for (;;) {
      const step = await it.next();
      if (step.done || step.value.type === 'backward') break;
    }
    signal.aborted = true;
    await expect(it.next()).rejects.toThrow('the pooled run was stopped');
    const pushes = () => ends.map((e) => e.sent.get('push') ?? 0);
    await new Promise((r) => setTimeout(r, 30));
    const after = pushes();
    await new Promise((r) => setTimeout(r, 300));
    expect(pushes()).toEqual(after);
    // 1 + 40 + 40 pushes each, had the run gone to its end.
    expect(after.every((n) => n < 70)).toBe(true);
    ends.forEach((e) => e.close());
  });

  it('an exception in a step a worker takes on its own fails the run with its message; the next run works', async () => {
    const failing = failingDense(4);
    const ends = [portEndpoint(failing), portEndpoint()];
    const pool = new ShardPool(ends.map((e) => e.endpoint));
    const c = config({ net: 'mlp', depth: 8, width: 32, input: [16], n: 64 });
    await expect(collect(c, pool)).rejects.toThrow('dense kernel failed');
    expect(pool.broken).toBe(false);
    const { result } = await collect(c, pool);
    expect(JSON.stringify(result)).toBe(JSON.stringify(runAll(c)));
    ends.forEach((e) => e.close());
  });

  it('close fails what is waited for from every worker with its error, and whatever is asked after it', async () => {
    const ends = [portEndpoint(), portEndpoint()];
    const pool = new ShardPool(ends.map((e) => e.endpoint));
    const c = config({ net: 'mlp', depth: 30, width: 64, input: [64], n: 64 });
    const it = simulatePooled(c, pool);
    await it.next();
    // Both workers go silent, as terminated ones do; close is all that can end the wait.
    ends.forEach((e) => e.close());
    const rest = drain(it);
    pool.close(new Error('the pool of workers was replaced'));
    await expect(rest).rejects.toThrow('the pool of workers was replaced');
    expect(pool.broken).toBe(true);
    await expect(pool.request(0, (seq) => ({ type: 'call', seq, run: 1, call: { op: 'input2', params: null as never } }))).rejects.toThrow('the pool of workers was replaced');
  });

  it('an exception inside a shard is an error reply for its call, not a dead worker', async () => {
    const end = portEndpoint();
    const pool = new ShardPool([end.endpoint]);
    const params = { lo: 0, hi: 1, bins: 4, positionMeans: new Float64Array(0), targets: [] };
    await expect(pool.request(0, (seq) => ({ type: 'call', seq, run: 1, call: { op: 'forward2', layer: 0, pre: params, post: params } }))).rejects.toThrow('shard call before init');
    expect(pool.broken).toBe(false);
    end.close();
  });

  it('the handler runs big runs on its pool and small ones in place, with the same replies', async () => {
    const ends = [portEndpoint(), portEndpoint()];
    const pool = new ShardPool(ends.map((e) => e.endpoint));
    let used = 0;
    const replies: Reply[] = [];
    let done: () => void = () => {};
    const finished = new Promise<void>((r) => (done = r));
    const handle = createHandler(
      (r) => {
        if (r.type === 'accepted' || r.type === 'beat') return;
        replies.push(r);
        if (terminal(2)(r)) done();
      },
      { pool: () => (used++, pool), poolMinMultiplyAdds: 1e5, now: () => 0 },
    );
    const big = config({ net: 'mlp', depth: 4, width: 64, input: [64], n: 64 });
    const small = config({ net: 'mlp', depth: 4, width: 8, input: [8], n: 8 });
    handle({ type: 'run', id: 1, runs: [{ side: 'a', config: small }] });
    handle({ type: 'run', id: 2, runs: [{ side: 'a', config: big }, { side: 'b', config: small }] });
    await finished;
    expect(used).toBe(1);
    const ofTwo = replies.filter((r) => r.id === 2);
    expect(ofTwo.map(label)).toEqual([...sideLabels('a', 4), ...sideLabels('b', 4), 'done']);
    // (In-process, the posted layer objects are the coordinator's own, later given their gradients.)
    const layersA = ofTwo.flatMap((r) => (r.type === 'forward' && r.side === 'a' ? [r.layer] : []));
    const same = JSON.stringify(layersA) === JSON.stringify(runAll(big).layers);
    expect(same).toBe(true);
    ends.forEach((e) => e.close());
  });

  it('a run superseding a pooled run mid-way gets the workers cleanly: the older one sends nothing more', async () => {
    const ends = [portEndpoint(), portEndpoint()];
    const pool = new ShardPool(ends.map((e) => e.endpoint));
    const replies: Reply[] = [];
    let done: () => void = () => {};
    const finished = new Promise<void>((r) => (done = r));
    const first = config({ net: 'mlp', depth: 12, width: 64, input: [64], n: 96, seed: 'first' });
    const second = config({ net: 'mlp', depth: 6, width: 48, input: [32], n: 80, nets: 2, seed: 'second' });
    const handle: (q: Request) => void = createHandler(
      (r) => {
        if (r.type === 'accepted' || r.type === 'beat') return;
        replies.push(r);
        // The newer run arrives while the older one waits for the pool's answers about layer 4.
        if (r.id === 1 && r.type === 'forward' && r.layer.index === 3) setTimeout(() => handle({ type: 'run', id: 2, runs: [{ side: 'a', config: second }] }), 0);
        if (terminal(2)(r)) done();
      },
      { pool: () => pool, poolMinMultiplyAdds: 0, now: () => 0 },
    );
    handle({ type: 'run', id: 1, runs: [{ side: 'a', config: first }] });
    await finished;
    const ofOne = replies.filter((r) => r.id === 1).map(label);
    expect(ofOne.slice(0, 4)).toEqual(['start a', 'forward a 1', 'forward a 2', 'forward a 3']);
    // Stopped silently: no error from asking the pool about a run it no longer holds.
    expect(ofOne.length).toBeLessThanOrEqual(5);
    expect(replies.some((r) => r.type === 'error')).toBe(false);
    const layers = replies.flatMap((r) => (r.id === 2 && r.type === 'forward' ? [r.layer] : []));
    expect(JSON.stringify(layers)).toBe(JSON.stringify(runAll(second).layers));
    ends.forEach((e) => e.close());
  });

  it('lazyPool makes its workers once, and again after one failed', () => {
    const made: { terminated: boolean; listeners: Map<string, (e: unknown) => void> }[] = [];
    const make = () => {
      const w = {
        terminated: false,
        listeners: new Map<string, (e: unknown) => void>(),
        postMessage() {},
        addEventListener(type: string, l: (e: unknown) => void) {
          w.listeners.set(type, l);
        },
        terminate() {
          w.terminated = true;
        },
      };
      made.push(w);
      return w as never;
    };
    const lazy = lazyPool(2, make);
    const first = lazy.get();
    expect(lazy.get()).toBe(first);
    expect(made.length).toBe(2);
    made[0].listeners.get('error')!({ preventDefault() {}, message: 'x' });
    const second = lazy.get();
    expect(second).not.toBe(first);
    expect(made.length).toBe(4);
    expect(made[0].terminated && made[1].terminated).toBe(true);
    expect(lazyPool(1, make).get()).toBeNull();
    lazy.dispose();
  });
});
