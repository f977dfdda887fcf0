import { describe, expect, it, vi } from 'vitest';
import { PoolRunAborted, ShardPool, sideBySideIsFaster, simulatePooled, splitWorkers } from '../../src/engine/pool';
import { validateRun } from '../../src/engine/schema';
import { runAll } from '../../src/engine/simulate';
import { createHandler } from '../../src/worker/handler';
import type { Reply, Request } from '../../src/worker/protocol';
import { config, label, sideLabels, terminal, underWay } from './fixtures';
import { collect, drain, failingDense, portEndpoint, type PortEnd } from './ports';

/** A handler over a pool of `ends`, its replies (without `accepted`), and a promise of run `id`'s end. */
function handlerOn(ends: PortEnd[], poolMinMultiplyAdds = 1e4, beatMs?: number) {
  const pool = new ShardPool(ends.map((e) => e.endpoint));
  const replies: Reply[] = [];
  const waiting = new Map<number, () => void>();
  const handle: (q: Request) => void = createHandler(
    (r) => {
      if (r.type === 'accepted') return;
      replies.push(r);
      if (terminal(r.id)(r)) waiting.get(r.id)?.();
    },
    { pool: () => pool, poolMinMultiplyAdds, now: () => 0, beatMs },
  );
  const ended = (id: number) => new Promise<void>((resolve) => waiting.set(id, resolve));
  return { pool, replies, handle, ended };
}

const layersOf = (replies: Reply[], id: number, side: 'a' | 'b') => replies.flatMap((r) => (r.id === id && r.type === 'forward' && r.side === side ? [r.layer] : []));
const gradientsOf = (replies: Reply[], id: number, side: 'a' | 'b') => replies.flatMap((r) => (r.id === id && r.type === 'backward' && r.side === side ? [r.gradient] : []));

/**
 * A handler (beats every 5 ms) over a pool that, once broken, is replaced by a new one without being
 * closed, as only the runs themselves may then stop; `intervals` are those made and not cleared.
 */
function replacingPool() {
  const intervals = new Set<unknown>();
  const realSet = globalThis.setInterval;
  const realClear = globalThis.clearInterval;
  vi.spyOn(globalThis, 'setInterval').mockImplementation(((fn: () => void, ms?: number) => {
    const id = realSet(fn, ms);
    intervals.add(id);
    return id;
  }) as typeof setInterval);
  vi.spyOn(globalThis, 'clearInterval').mockImplementation(((id: Parameters<typeof clearInterval>[0]) => {
    intervals.delete(id);
    realClear(id);
  }) as typeof clearInterval);
  const made: PortEnd[] = [];
  const fresh = () => {
    const ends = [portEndpoint(), portEndpoint()];
    made.push(...ends);
    return ends;
  };
  const t = { ends: fresh(), replies: [] as Reply[], intervals };
  let pool = new ShardPool(t.ends.map((e) => e.endpoint));
  const get = () => {
    if (pool.broken) {
      t.ends = fresh();
      pool = new ShardPool(t.ends.map((e) => e.endpoint));
    }
    return pool;
  };
  const waiting = new Map<number, () => void>();
  const handle = createHandler(
    (r) => {
      t.replies.push(r);
      if (terminal(r.id)(r)) waiting.get(r.id)?.();
    },
    { pool: get, poolMinMultiplyAdds: 1e4, now: () => 0, beatMs: 5 },
  );
  return Object.assign(t, {
    handle,
    ended: (id: number) => new Promise<void>((resolve) => waiting.set(id, resolve)),
    close() {
      made.forEach((e) => e.close());
      vi.restoreAllMocks();
    },
  });
}

describe('A and B side by side on the pool', () => {
  it('splits the workers in proportion to the multiply-adds, at least one each', () => {
    expect(splitWorkers(2, [5, 5])).toEqual([[0], [1]]);
    expect(splitWorkers(4, [5, 5])).toEqual([[0, 1], [2, 3]]);
    expect(splitWorkers(3, [5, 5])).toEqual([[0, 1], [2]]);
    expect(splitWorkers(8, [3, 1])).toEqual([[0, 1, 2, 3, 4, 5], [6, 7]]);
    expect(splitWorkers(8, [1, 100])).toEqual([[0], [1, 2, 3, 4, 5, 6, 7]]);
  });

  it('goes side by side only where that is expected to finish sooner', () => {
    expect(sideBySideIsFaster(2, [1, 1])).toBe(true);
    expect(sideBySideIsFaster(2, [1, 0.7])).toBe(true);
    expect(sideBySideIsFaster(2, [1, 0.5])).toBe(false);
    expect(sideBySideIsFaster(8, [1, 1])).toBe(true);
    expect(sideBySideIsFaster(3, [1, 0.1])).toBe(false);
    expect(sideBySideIsFaster(1, [1, 1])).toBe(false);
    // A run with cells for one worker only gains nothing from the second one in turn.
    expect(sideBySideIsFaster(2, [1, 0.5], (r, k) => (r === 1 ? 1 : k))).toBe(true);
  });

  it('two runs at once on disjoint workers each give simulate\'s numbers', async () => {
    const ends = [portEndpoint(), portEndpoint(), portEndpoint()];
    const pool = new ShardPool(ends.map((e) => e.endpoint));
    const a = config({ net: 'mlp', depth: 6, width: 40, input: [24], n: 100, nets: 2, seed: 'a' });
    const b = config({ net: 'mlp', depth: 5, width: 36, input: [20], n: 70, act: 'tanh', seed: 'b' });
    const [ra, rb] = await Promise.all([collect(a, pool, [0, 1]), collect(b, pool, [2])]);
    expect(JSON.stringify(ra.result)).toBe(JSON.stringify(runAll(a)));
    expect(JSON.stringify(rb.result)).toBe(JSON.stringify(runAll(b)));
    expect(ends.map((e) => e.inits)).toEqual([['a'], ['a'], ['b']]);
    ends.forEach((e) => e.close());
  });

  it('a run begun on a worker another run holds ends that one (PoolRunAborted) and leaves other runs alone', async () => {
    const ends = [portEndpoint(), portEndpoint(), portEndpoint()];
    const pool = new ShardPool(ends.map((e) => e.endpoint));
    const old = config({ net: 'mlp', depth: 30, width: 64, input: [64], n: 64, seed: 'old' });
    const other = config({ net: 'mlp', depth: 8, width: 32, input: [16], n: 40, seed: 'other' });
    const newer = config({ net: 'mlp', depth: 4, width: 32, input: [16], n: 40, seed: 'newer' });
    const it = simulatePooled(old, pool, undefined, [0, 1]);
    await it.next();
    const running = collect(other, pool, [2]);
    const { result } = await collect(newer, pool, [1]);
    expect(JSON.stringify(result)).toBe(JSON.stringify(runAll(newer)));
    await expect(drain(it)).rejects.toBeInstanceOf(PoolRunAborted);
    expect(JSON.stringify((await running).result)).toBe(JSON.stringify(runAll(other)));
    ends.forEach((e) => e.close());
  });

  it('the handler runs A and B of a comparison each on its own workers: the same numbers, each side in its order', async () => {
    const ends = [portEndpoint(), portEndpoint()];
    const { replies, handle, ended } = handlerOn(ends);
    const a = config({ net: 'mlp', depth: 5, width: 48, input: [32], n: 80, seed: 's' });
    const b = { ...a, init: 'wscale' as const, scale: Math.SQRT2, chainer: '1.9' as const };
    const done = ended(1);
    handle({ type: 'run', id: 1, runs: [{ side: 'a', config: a }, { side: 'b', config: b }] });
    await done;
    const labels = replies.filter((r) => r.type !== 'beat').map(label);
    expect(labels.filter((l) => l.endsWith(' a') || l.includes(' a '))).toEqual(sideLabels('a', 5));
    expect(labels.filter((l) => l.endsWith(' b') || l.includes(' b '))).toEqual(sideLabels('b', 5));
    expect(labels.at(-1)).toBe('done');
    expect(replies.at(-1)).toMatchObject({ type: 'done', workers: 2 });
    expect(ends.map((e) => e.inits)).toEqual([['s'], ['s']]);
    for (const [side, c] of [['a', a], ['b', b]] as const) {
      const expected = runAll(validateRun(c).config);
      expect(JSON.stringify(layersOf(replies, 1, side).map((l) => ({ ...l, gradient: undefined })))).toBe(JSON.stringify(expected.layers.map((l) => ({ ...l, gradient: undefined }))));
      expect(JSON.stringify(gradientsOf(replies, 1, side))).toBe(JSON.stringify(expected.layers.map((l) => l.gradient).reverse()));
    }
    ends.forEach((e) => e.close());
  });

  it('a comparison of unequal runs on two workers goes one after the other, each on both', async () => {
    const ends = [portEndpoint(), portEndpoint()];
    const { replies, handle, ended } = handlerOn(ends);
    // B has half of A's multiply-adds, and cells for both workers (32 samples a cell).
    const a = config({ net: 'mlp', depth: 4, width: 64, input: [64], n: 128, seed: 'big' });
    const b = { ...a, n: 64 };
    const done = ended(1);
    handle({ type: 'run', id: 1, runs: [{ side: 'a', config: a }, { side: 'b', config: b }] });
    await done;
    expect(replies.filter((r) => r.type !== 'beat').map(label)).toEqual([...sideLabels('a', 4), ...sideLabels('b', 4), 'done']);
    ends.forEach((e) => e.close());
  });

  it('a side that fails stops the other and names itself; the pool serves the next run', async () => {
    const failing = failingDense(3);
    const ends = [portEndpoint(), portEndpoint(failing)];
    const { replies, handle, ended } = handlerOn(ends);
    const a = config({ net: 'mlp', depth: 30, width: 48, input: [32], n: 64, seed: 's' });
    const b = { ...a, init: 'lecun_normal' as const };
    const failed = ended(1);
    handle({ type: 'run', id: 1, runs: [{ side: 'a', config: a }, { side: 'b', config: b }] });
    await failed;
    const last = replies.at(-1)!;
    expect(last).toEqual({ type: 'error', id: 1, message: 'Engine error in B: dense kernel failed' });
    // A stopped too: it did not reach its backward pass, and nothing of run 1 follows the error.
    expect(replies.some((r) => r.type === 'backward' && r.side === 'a')).toBe(false);
    await new Promise((r) => setTimeout(r, 50));
    expect(replies.at(-1)).toBe(last);
    const next = ended(2);
    const small = config({ net: 'mlp', depth: 3, width: 32, input: [16], n: 40 });
    handle({ type: 'run', id: 2, runs: [{ side: 'a', config: small }, { side: 'b', config: { ...small, init: 'lecun_normal' } }] });
    await next;
    expect(replies.at(-1)).toMatchObject({ type: 'done', id: 2 });
    expect(JSON.stringify(layersOf(replies, 2, 'b').map((l) => l.index))).toBe('[1,2,3]');
    ends.forEach((e) => e.close());
  });

  it('a run superseding a side-by-side comparison gets the workers cleanly; a cancel is said once', async () => {
    const ends = [portEndpoint(), portEndpoint()];
    const { replies, handle, ended } = handlerOn(ends);
    const a = config({ net: 'mlp', depth: 30, width: 128, input: [128], n: 128, seed: 'first' });
    const b = { ...a, init: 'lecun_normal' as const };
    const second = config({ net: 'mlp', depth: 6, width: 48, input: [32], n: 80, nets: 2, seed: 'second' });
    handle({ type: 'run', id: 1, runs: [{ side: 'a', config: a }, { side: 'b', config: b }] });
    await underWay(replies, 1);
    const done = ended(2);
    handle({ type: 'run', id: 2, runs: [{ side: 'a', config: second }, { side: 'b', config: { ...second, init: 'lecun_normal' } }] });
    await done;
    await new Promise((r) => setTimeout(r, 50));
    const ofOne = replies.filter((r) => r.id === 1);
    expect(ofOne.some((r) => r.type === 'error' || r.type === 'done')).toBe(false);
    const lastOfOne = replies.lastIndexOf(ofOne.at(-1)!);
    expect(replies.slice(lastOfOne + 1).every((r) => r.id === 2)).toBe(true);
    expect(JSON.stringify(layersOf(replies, 2, 'a').map((l) => ({ ...l, gradient: undefined })))).toBe(JSON.stringify(runAll(second).layers.map((l) => ({ ...l, gradient: undefined }))));
    const third = ended(3);
    handle({ type: 'run', id: 3, runs: [{ side: 'a', config: a }, { side: 'b', config: b }] });
    await underWay(replies, 3);
    handle({ type: 'cancel', id: 3 });
    await third;
    await new Promise((r) => setTimeout(r, 50));
    expect(replies.filter((r) => r.id === 3 && r.type === 'cancelled').length).toBe(1);
    ends.forEach((e) => e.close());
  });

  it('beats while the engine worker waits on its pool, the last one marked, all before done; none in its own thread', async () => {
    const beatsOf = (replies: Reply[], id: number) => replies.flatMap((r, i) => (r.id === id && r.type === 'beat' ? [{ i, last: r.last === true }] : []));
    for (const [poolMin, pooled] of [[1e4, true], [1e12, false]] as const) {
      const ends = [portEndpoint(), portEndpoint()];
      const { replies, handle, ended } = handlerOn(ends, poolMin, 2);
      const a = config({ net: 'mlp', depth: 30, width: 64, input: [64], n: 96, seed: 'beats' });
      const done = ended(1);
      handle({ type: 'run', id: 1, runs: [{ side: 'a', config: a }, { side: 'b', config: { ...a, init: 'lecun_normal' } }] });
      await done;
      const beats = beatsOf(replies, 1);
      if (!pooled) expect(beats).toEqual([]);
      else {
        expect(beats.length).toBeGreaterThan(1);
        expect(beats.filter((b) => b.last)).toEqual([beats.at(-1)]);
        expect(replies.at(-1)).toMatchObject({ type: 'done', id: 1 });
        expect(beats.at(-1)!.i).toBe(replies.length - 2);
      }
      ends.forEach((e) => e.close());
    }
  });

  it('a pool worker that dies mid-comparison: its side is named at once, the other stops, and a run on a new pool leaves nothing running', async () => {
    const t = replacingPool();
    try {
      const a = config({ net: 'mlp', depth: 30, width: 128, input: [128], n: 128, seed: 'dies' });
      const runs = [{ side: 'a' as const, config: a }, { side: 'b' as const, config: { ...a, init: 'lecun_normal' as const } }];
      const failed = t.ended(1);
      t.handle({ type: 'run', id: 1, runs });
      await underWay(t.replies, 1);
      // A's worker fails; B's goes silent (as a terminated worker does): B must not wait for it.
      t.ends[0].fail('a pool worker failed: gone');
      t.ends[1].close();
      await failed;
      expect(t.replies.filter((r) => r.id === 1 && r.type === 'error')).toEqual([{ type: 'error', id: 1, message: 'Engine error in A: a pool worker failed: gone' }]);
      // B stopped with it: nothing of run 1 follows the error, and no beat is left going.
      const after = t.replies.length;
      await new Promise((r) => setTimeout(r, 50));
      expect(t.replies.slice(after).filter((r) => r.id === 1)).toEqual([]);
      expect(t.intervals.size).toBe(0);
      // The next comparison gets a new pool and completes.
      const next = t.ended(2);
      t.handle({ type: 'run', id: 2, runs });
      await next;
      expect(t.replies.at(-1)).toMatchObject({ type: 'done', id: 2 });
      expect(JSON.stringify(layersOf(t.replies, 2, 'b').map((l) => ({ ...l, gradient: undefined })))).toBe(
        JSON.stringify(runAll(validateRun(runs[1].config).config).layers.map((l) => ({ ...l, gradient: undefined }))),
      );
      expect(t.intervals.size).toBe(0);
    } finally {
      t.close();
    }
  });

  it('a comparison superseded right after a pool worker died leaves nothing waiting on the old pool', async () => {
    const t = replacingPool();
    try {
      const a = config({ net: 'mlp', depth: 30, width: 128, input: [128], n: 128, seed: 'dies' });
      const runs = [{ side: 'a' as const, config: a }, { side: 'b' as const, config: { ...a, init: 'lecun_normal' as const } }];
      t.handle({ type: 'run', id: 1, runs });
      await underWay(t.replies, 1);
      // A's worker dies and B's goes silent, and a new run comes before anything else of run 1 is read.
      t.ends[0].fail('a pool worker failed: gone');
      t.ends[1].close();
      const next = t.ended(2);
      t.handle({ type: 'run', id: 2, runs });
      await next;
      await new Promise((r) => setTimeout(r, 50));
      expect(t.replies.at(-1)).toMatchObject({ type: 'done', id: 2 });
      expect(t.intervals.size).toBe(0);
    } finally {
      t.close();
    }
  });
});
