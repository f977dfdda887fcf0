import { afterEach, describe, expect, it, vi } from 'vitest';
import type { StoreApi } from 'zustand/vanilla';
import { PROGRESS_MS, startRunner, type StartedRunner } from '../../src/state/runner';
import { decode } from '../../src/link/codec';
import { layerShapes, runCost, validateRun } from '../../src/engine/schema';
import { ManualWorker } from '../worker/fixtures';
import { createAppStore, type AppState } from '../../src/state/store';
import { createHandler } from '../../src/worker/handler';
import type { Reply, Request } from '../../src/worker/protocol';

/**
 * A Worker running the real handler in this thread, its replies `GAP_MS` apart so that a run lasts
 * several of the runner's batches. Crash 'throw' fires `error`, as a real worker's uncaught
 * exception does (the handler's own throw would be an uncaught exception of this test process).
 */
class InProcessWorker extends EventTarget {
  static readonly GAP_MS = 4;
  terminated = false;
  private nextAt = 0;
  private readonly handle = createHandler(
    (reply: Reply) => {
      this.nextAt = Math.max(performance.now(), this.nextAt) + InProcessWorker.GAP_MS;
      setTimeout(() => {
        if (!this.terminated) this.dispatchEvent(new MessageEvent('message', { data: structuredClone(reply) }));
      }, this.nextAt - performance.now());
    },
    { close: () => (this.terminated = true) },
  );

  postMessage(request: Request): void {
    const data = structuredClone(request);
    setImmediate(() => {
      if (this.terminated) return;
      if (data.type === 'crash' && data.mode === 'throw') {
        this.dispatchEvent(Object.assign(new Event('error', { cancelable: true }), { message: 'Uncaught Error: engine worker crash requested (mode throw)' }));
        return;
      }
      this.handle(data);
    });
  }

  terminate(): void {
    this.handle({ type: 'crash', mode: 'exit' });
    this.terminated = true;
  }
}

const LINK = 'v=1&net=mlp&in=16&depth=6&width=16&n=8&seed=runner';

/** Resolves when the store's state passes `test`, now or after a later update. */
function until(store: StoreApi<AppState>, test: (s: AppState) => boolean, ms = 10_000): Promise<AppState> {
  if (test(store.getState())) return Promise.resolve(store.getState());
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      unsubscribe();
      reject(new Error(`store not there within ${ms} ms; run ${JSON.stringify(store.getState().run)}`));
    }, ms);
    const unsubscribe = store.subscribe((s) => {
      if (!test(s)) return;
      clearTimeout(timer);
      unsubscribe();
      resolve(s);
    });
  });
}

const running: StartedRunner[] = [];

function start(link: string) {
  const store = createAppStore(link);
  const workers: InProcessWorker[] = [];
  const runner = startRunner(
    store,
    () => {
      const w = new InProcessWorker();
      workers.push(w);
      return w as unknown as Worker;
    },
    0,
  );
  running.push(runner);
  return { store, runner, workers };
}

/** The layers of a clean run of `link`, without any crash. */
async function cleanLayers(link: string) {
  const { store } = start(link);
  return (await until(store, (s) => s.run.state === 'done')).results.a!.layers;
}

afterEach(() => {
  for (const r of running.splice(0)) r.dispose();
});

describe('the runner and a crashing worker', () => {
  it('a crash mid-run: the store shows the error, the previous layers stay marked stale; retry completes on a fresh worker', async () => {
    const { store, runner, workers } = start(LINK);
    const before = (await until(store, (s) => s.run.state === 'done')).results.a!.layers;
    store.getState().edit('a', { seed: 'another' });
    await until(store, (s) => s.run.state === 'running' && s.run.done >= 1);
    expect(runner.crash('throw')).toBe(true);

    const failed = await until(store, (s) => s.run.state !== 'running');
    expect(failed.run).toMatchObject({ state: 'error', message: 'The engine worker crashed: Uncaught Error: engine worker crash requested (mode throw)' });
    const { layers, stale } = failed.results.a!;
    // Some layers are the new run's, the rest still the previous run's, and only those are stale.
    expect(stale.some(Boolean) && !stale.every(Boolean)).toBe(true);
    layers.forEach((layer, i) => (stale[i] ? expect(layer).toBe(before[i]) : expect(layer).not.toBe(before[i])));

    runner.retry();
    const done = await until(store, (s) => s.run.state === 'done');
    expect(done.results.a!.stale.every((s) => !s)).toBe(true);
    expect(done.results.a!.layers).toEqual(await cleanLayers(done.link));
    expect(workers).toHaveLength(2);
    expect(workers[0].terminated).toBe(true);
  });

  it('a crash of an idle worker shows no error; the next configuration runs on a fresh worker', async () => {
    const { store, runner, workers } = start(LINK);
    await until(store, (s) => s.run.state === 'done');
    expect(runner.crash('throw')).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(workers[0].terminated).toBe(true);
    expect(store.getState().run.state).toBe('done');

    const first = store.getState().run.id;
    store.getState().edit('a', { seed: 'another' });
    const done = await until(store, (s) => s.run.id > first && s.run.state !== 'running');
    expect(done.run.state).toBe('done');
    expect(done.results.a!.layers).toEqual(await cleanLayers(done.link));
    expect(workers).toHaveLength(2);
  });

  it('crash without a live worker does nothing', async () => {
    const { store, runner, workers } = start(LINK);
    await until(store, (s) => s.run.state === 'done');
    runner.dispose();
    expect(runner.crash('exit')).toBe(false);
    expect(workers).toHaveLength(1);
  });
});

describe('the runner applies replies in batches', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  /** A runner over a manual worker on a fake clock, the store's run updates, and replies to send. */
  function manualRun() {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setImmediate', 'performance'] });
    const store = createAppStore(LINK);
    const worker = new ManualWorker();
    const runner = startRunner(store, () => worker as unknown as Worker, 0);
    running.push(runner);
    const updates: { at: number; done: number; state: string }[] = [];
    store.subscribe((s, p) => {
      if (s.run !== p.run || s.results !== p.results) updates.push({ at: performance.now(), done: s.run.done, state: s.run.state });
    });
    const run = worker.received.find((q) => q.type === 'run')!;
    const id = run.type === 'run' ? run.id : 0;
    const { config, problems } = validateRun(decode(LINK).config.a);
    expect(problems).toEqual([]);
    const shapes = layerShapes(config);
    const send = (reply: Reply) => worker.emit(reply);
    const forward = (index: number): Reply => ({ type: 'forward', id, side: 'a', layer: { index } as never });
    const backward = (index: number): Reply => ({ type: 'backward', id, side: 'a', index, gradient: { meanSquare: 1, weightMeanSquare: 1 } });
    const start: Reply = { type: 'start', id, side: 'a', config, cost: runCost(config), shapes, theory: [], input: null as never };
    return { store, updates, id, shapes, send, forward, backward, start };
  }

  it('while a run is in progress at most once per PROGRESS_MS; its start, first layer and end at the next frame', () => {
    const t = manualRun();
    expect(PROGRESS_MS).toBe(100);
    t.updates.length = 0;
    t.send({ type: 'accepted', id: t.id });
    t.send(t.start);
    vi.advanceTimersByTime(16);
    // The start is shown at the next frame: the layers' shapes are the run's.
    expect(t.store.getState().results.a!.shapes).toBe(t.shapes);
    t.send(t.forward(1));
    vi.advanceTimersByTime(16);
    // So is the first layer.
    expect(t.updates.at(-1)).toMatchObject({ done: 1 });
    const shownFirst = t.updates.length;
    // The other layers, one every 25 ms over about 0.3 s: shown in batches at least PROGRESS_MS apart.
    for (let l = 2; l <= t.shapes.length; l++) {
      vi.advanceTimersByTime(25);
      t.send(t.forward(l));
    }
    for (let l = t.shapes.length; l >= 1; l--) {
      vi.advanceTimersByTime(25);
      t.send(t.backward(l));
    }
    const progress = t.updates.slice(shownFirst);
    expect(progress.length).toBeGreaterThanOrEqual(2);
    for (let k = 1; k < progress.length; k++) expect(progress[k].at - progress[k - 1].at).toBeGreaterThanOrEqual(PROGRESS_MS);
    // The end is applied at the next frame, with everything before it.
    t.send({ type: 'done', id: t.id, ms: 1 });
    vi.advanceTimersByTime(16);
    expect(t.updates.at(-1)).toMatchObject({ state: 'done', done: 2 * t.shapes.length });
  });

  it('a reply with nothing after it is applied within PROGRESS_MS and a frame', () => {
    const t = manualRun();
    t.send(t.start);
    t.send(t.forward(1));
    vi.advanceTimersByTime(16);
    t.send(t.forward(2));
    vi.advanceTimersByTime(PROGRESS_MS + 16);
    expect(t.store.getState().run.done).toBe(2);
  });
});
