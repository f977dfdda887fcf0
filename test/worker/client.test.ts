import { afterEach, describe, expect, it, vi } from 'vitest';
import { defaultRun, validateRun } from '../../src/engine/schema';
import { createEngineClient, stallBudget, type EngineClientOptions } from '../../src/worker/client';
import { createHandler } from '../../src/worker/handler';
import type { Reply, Request } from '../../src/worker/protocol';
import { label, runA, runAB, settle, sideLabels, small, terminal } from './fixtures';

/**
 * A Worker that runs the real handler in this thread. Messages both ways are structured-cloned and
 * delivered from a later macrotask, as between threads; after `terminate` nothing is delivered.
 */
class FakeWorker extends EventTarget {
  terminated = false;
  /** Least time between two replies, in ms, to stand for slow layers. */
  gapMs = 0;
  private nextAt = 0;
  /** Requests received, in order. */
  readonly received: Request[] = [];
  /** Replies dispatched to the page, with the number of `run` requests received at that moment. */
  readonly dispatched: { reply: Reply; runsReceived: number }[] = [];
  private readonly handle = createHandler(
    (reply) => {
      const data = structuredClone(reply);
      const dispatch = () => {
        if (this.terminated) return;
        this.dispatched.push({ reply: data, runsReceived: this.received.filter((q) => q.type === 'run').length });
        this.dispatchEvent(new MessageEvent('message', { data }));
      };
      if (this.gapMs === 0) return void setImmediate(dispatch);
      this.nextAt = Math.max(performance.now(), this.nextAt) + this.gapMs;
      setTimeout(dispatch, this.nextAt - performance.now());
    },
    // crash 'exit': the worker is gone without a word, as a real one after close().
    { close: () => (this.terminated = true) },
  );

  postMessage(request: Request): void {
    const data = structuredClone(request);
    setImmediate(() => {
      if (this.terminated) return;
      this.received.push(data);
      this.handle(data);
    });
  }

  terminate(): void {
    // Stops the handler's run in progress too, as terminating a thread would.
    this.handle({ type: 'crash', mode: 'exit' });
    this.terminated = true;
  }

  /** Fires `error` as an uncaught exception in a worker does; returns the event. */
  fail(message: string): Event {
    const event = Object.assign(new Event('error', { cancelable: true }), { message });
    this.dispatchEvent(event);
    return event;
  }
}

/** A Worker the test speaks for: it records requests, and `emit` delivers a reply at once. */
class ManualWorker extends EventTarget {
  terminated = false;
  readonly received: Request[] = [];
  postMessage(request: Request): void {
    this.received.push(structuredClone(request));
  }
  terminate(): void {
    this.terminated = true;
  }
  emit(reply: Reply): void {
    this.dispatchEvent(new MessageEvent('message', { data: reply }));
  }
}

/** A client over fake workers, with every reply the listener got and every worker it made. */
function setup(options: EngineClientOptions = {}, onReply: (r: Reply) => void = () => {}, gapMs = 0) {
  const workers: FakeWorker[] = [];
  const replies: Reply[] = [];
  const waiters: { test: (r: Reply) => boolean; resolve: () => void }[] = [];
  const client = createEngineClient(
    () => {
      const w = new FakeWorker();
      w.gapMs = gapMs;
      workers.push(w);
      return w as unknown as Worker;
    },
    (r) => {
      replies.push(r);
      onReply(r);
      for (const w of [...waiters]) {
        if (w.test(r)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve();
        }
      }
    },
    options,
  );
  const until = (test: (r: Reply) => boolean, ms = 10_000) =>
    replies.some(test)
      ? Promise.resolve()
      : new Promise<void>((resolve, reject) => {
          waiters.push({ test, resolve });
          setTimeout(() => reject(new Error(`no such reply within ${ms} ms; got ${replies.map(label).join(', ')}`)), ms);
        });
  const of = (id: number) => replies.filter((r) => r.id === id).map(label);
  return { client, workers, replies, until, of };
}

describe('the engine client', () => {
  it('passes on a run in order and reports busy and the current id', async () => {
    const t = setup();
    expect(t.client.currentId).toBeNull();
    expect(t.client.busy).toBe(false);
    const id = t.client.run(runAB);
    expect(id).toBe(1);
    expect(t.client.currentId).toBe(1);
    expect(t.client.busy).toBe(true);
    await t.until(terminal(1));
    expect(t.of(1)).toEqual([...sideLabels('a', 4), ...sideLabels('b', 4), 'done']);
    expect(t.client.busy).toBe(false);
    expect(t.workers).toHaveLength(1);
  });

  it('drops the replies of a superseded run that were already on their way', async () => {
    let second = 0;
    const t = setup({}, (r) => {
      if (r.id === 1 && r.type === 'forward' && r.layer.index === 1) second = t.client.run(runA);
    });
    t.client.run(runAB);
    await t.until((r) => r.id === 2 && r.type === 'done');
    await settle();
    expect(second).toBe(2);
    // The scenario really had stale replies: the worker sent id 1 after it had received run 2 ...
    const worker = t.workers[0];
    expect(worker.dispatched.some((d) => d.reply.id === 1 && d.runsReceived === 2)).toBe(true);
    // ... and the listener saw none of them.
    expect(t.of(1)).toEqual(['start a', 'forward a 1']);
    expect(t.of(2)).toEqual([...sideLabels('a', 4), 'done']);
    // A stray terminal reply of the old run, however late, does not reach the listener either.
    worker.dispatchEvent(new MessageEvent('message', { data: { type: 'done', id: 1, ms: 1 } satisfies Reply }));
    expect(t.replies.filter((r) => r.id === 1).map(label)).toEqual(['start a', 'forward a 1']);
  });

  it('a worker error ends the run with exactly one error, and a retry on a fresh worker completes', async () => {
    let event: Event | null = null;
    const t = setup({}, (r) => {
      if (r.id === 1 && r.type === 'forward' && r.layer.index === 2) {
        event = t.workers[0].fail('Uncaught Error: out of memory');
        // Both may fire for one fault; one report.
        t.workers[0].dispatchEvent(new MessageEvent('messageerror'));
        t.workers[0].fail('again');
      }
    });
    t.client.run(runA);
    await t.until(terminal(1));
    await settle();
    // Handled, so the page does not report it again as its own uncaught error.
    expect(event!.defaultPrevented).toBe(true);
    expect(t.of(1)).toEqual(['start a', 'forward a 1', 'forward a 2', 'error']);
    expect(t.replies.at(-1)).toEqual({ type: 'error', id: 1, message: 'The engine worker failed: Uncaught Error: out of memory.' });
    expect(t.workers[0].terminated).toBe(true);
    expect(t.client.busy).toBe(false);

    const id = t.client.retry();
    expect(id).toBe(2);
    await t.until(terminal(2));
    expect(t.workers).toHaveLength(2);
    expect(t.of(2)).toEqual([...sideLabels('a', 4), 'done']);
    expect(t.workers[1].received).toEqual([{ type: 'run', id: 2, runs: runA }]);
  });

  it('a messageerror is a fault too', async () => {
    const t = setup({}, (r) => {
      if (r.type === 'start') t.workers[0].dispatchEvent(new MessageEvent('messageerror'));
    });
    t.client.run(runA);
    await t.until(terminal(1));
    expect(t.replies.at(-1)).toEqual({ type: 'error', id: 1, message: 'The engine worker sent a message that could not be read.' });
    expect(t.workers[0].terminated).toBe(true);
    t.client.run(runA);
    await t.until(terminal(2));
    expect(t.of(2).at(-1)).toBe('done');
  });

  it('a worker that goes silent (crash exit) is reported after stallMs and replaced', async () => {
    const t = setup({ stallMs: 100 }, (r) => {
      if (r.id === 1 && r.type === 'forward' && r.layer.index === 1) t.workers[0].postMessage({ type: 'crash', mode: 'exit' });
    });
    const started = performance.now();
    t.client.run(runA);
    await t.until(terminal(1));
    const waited = performance.now() - started;
    expect(t.of(1)).toEqual(['start a', 'forward a 1', 'error']);
    expect(t.replies.at(-1)).toMatchObject({ type: 'error', id: 1, message: expect.stringContaining('stopped answering') });
    // The limit counts from the last reply, not from the start of the run.
    expect(waited).toBeGreaterThanOrEqual(100);
    t.client.retry();
    await t.until(terminal(2));
    expect(t.workers).toHaveLength(2);
    expect(t.of(2).at(-1)).toBe('done');
  });

  it('the stall limit counts from the last reply: a slow run whose layers each come in time completes', async () => {
    // 11 replies 40 ms apart: 440 ms in all, never 150 ms without a reply.
    const t = setup({ stallMs: 150 }, () => {}, 40);
    t.client.run(runA);
    await t.until(terminal(1));
    expect(t.of(1)).toEqual([...sideLabels('a', 4), 'done']);
    expect(t.workers).toHaveLength(1);
  });

  it('cancel ends the run with cancelled, after the calling code, and nothing of it follows', async () => {
    let inside = false;
    let cancelledInside: boolean | null = null;
    const t = setup({}, (r) => {
      if (r.id === 1 && r.type === 'forward' && r.layer.index === 1) {
        inside = true;
        t.client.cancel();
        inside = false;
      } else if (r.type === 'cancelled') {
        cancelledInside = inside;
      }
    });
    t.client.run(runAB);
    await t.until(terminal(1));
    await settle();
    expect(cancelledInside).toBe(false);
    expect(t.of(1)).toEqual(['start a', 'forward a 1', 'cancelled']);
    expect(t.client.busy).toBe(false);
    // The worker was told, and stopped: it posted its own cancelled and no layer after forward 2.
    const worker = t.workers[0];
    expect(worker.received.map((q) => q.type)).toEqual(['run', 'cancel']);
    expect(worker.dispatched.map((d) => label(d.reply)).slice(-1)).toEqual(['cancelled']);
    expect(worker.dispatched.length).toBeLessThanOrEqual(4);
  });

  it('a worker that cannot be made is an error of that run, and the next run tries again', async () => {
    let attempts = 0;
    let finished = () => {};
    const done = new Promise<void>((resolve) => (finished = resolve));
    const replies: Reply[] = [];
    const client = createEngineClient(
      () => {
        attempts++;
        if (attempts === 1) throw new Error('module workers are not supported');
        return new FakeWorker() as unknown as Worker;
      },
      (r) => {
        replies.push(r);
        if (r.type === 'done') finished();
      },
    );
    const id = client.run(runA);
    // Never from inside run(): the caller has its id before the error arrives.
    expect(replies).toEqual([]);
    await settle();
    expect(replies).toEqual([{ type: 'error', id, message: 'The engine worker could not be started: module workers are not supported' }]);
    expect(client.busy).toBe(false);
    client.run(runA);
    await done;
    expect(attempts).toBe(2);
    expect(replies.map(label)).toEqual(['error', ...sideLabels('a', 4), 'done']);
  });

  it('dispose terminates the worker and silences the listener; run afterwards throws', async () => {
    const t = setup();
    t.client.run(runA);
    await t.until((r) => r.type === 'start');
    const count = t.replies.length;
    t.client.dispose();
    await settle();
    expect(t.workers[0].terminated).toBe(true);
    expect(t.replies).toHaveLength(count);
    expect(() => t.client.run(runA)).toThrow('run() on a disposed engine client');
  });

  it('retry before any run does nothing', () => {
    const t = setup();
    expect(t.client.retry()).toBeNull();
    expect(t.workers).toHaveLength(0);
  });

  it('rejects a stall limit that is not a positive number, naming it', () => {
    const t = setup({ stallMs: 0 });
    expect(() => t.client.run(runA)).toThrow('stallMs must be a positive number of ms or Infinity, not 0');
    expect(t.client.currentId).toBeNull();
  });
});

describe('the stall watchdog, on a fake clock', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  const slow = [{ side: 'a' as const, config: small({ width: 32 }) }];
  const progress = (id: number): Reply => ({ type: 'forward', id, side: 'a', layer: null as never });

  it("allows a newer run's first reply the older run's limit too, for the layer the worker is finishing", () => {
    vi.useFakeTimers();
    const worker = new ManualWorker();
    const replies: Reply[] = [];
    const client = createEngineClient(() => worker as unknown as Worker, (r) => replies.push(r), {
      stallMs: (runs) => (runs[0].config.width === 32 ? 300 : 100),
    });
    client.run(slow);
    worker.emit(progress(1));
    vi.advanceTimersByTime(200);
    client.run(runA);
    // Inside a 300 ms layer of run 1, the worker cannot answer run 2 for up to 300 + 100 ms.
    vi.advanceTimersByTime(350);
    expect(replies.map((r) => `${r.type} ${r.id}`)).toEqual(['forward 1']);
    // Once run 2 answers, its own limit applies.
    worker.emit(progress(2));
    vi.advanceTimersByTime(99);
    expect(worker.terminated).toBe(false);
    vi.advanceTimersByTime(2);
    expect(worker.terminated).toBe(true);
    return Promise.resolve().then(() => {
      expect(replies.at(-1)).toEqual({ type: 'error', id: 2, message: 'The engine worker stopped answering (no reply for 100 ms).' });
      expect(replies).toHaveLength(3);
    });
  });

  it('a stale reply shows the worker alive; after cancel nothing is watched', () => {
    vi.useFakeTimers();
    const worker = new ManualWorker();
    const client = createEngineClient(() => worker as unknown as Worker, () => {}, { stallMs: 100 });
    client.run(runA);
    client.run(runA);
    // The limit is 100 + 100 ms here: run 1 may still be inside a layer.
    vi.advanceTimersByTime(150);
    worker.emit(progress(1));
    vi.advanceTimersByTime(150);
    expect(worker.terminated).toBe(false);
    client.cancel();
    vi.advanceTimersByTime(10_000);
    expect(worker.terminated).toBe(false);
    expect(worker.received.map((q) => q.type)).toEqual(['run', 'run', 'cancel']);
  });
});

describe('the default stall limit', () => {
  it('is 15 s plus, for the largest layer, 2 multiply-adds each plus 50 per output element, at 1e7 per second', () => {
    const mlp = validateRun(defaultRun()).config;
    // 512 x 512 weights, 256 samples, 1 network: (2 * 262144 + 50 * 512) * 256 / 1e7 per s = 14.1 s.
    expect(stallBudget([{ side: 'a', config: mlp }])).toBeCloseTo(15_000 + ((2 * 512 * 512 + 50 * 512) * 256) / 1e4, 6);
    // The larger of A and B counts.
    const wide = validateRun({ ...defaultRun(), width: 1024, nets: 2 }).config;
    expect(stallBudget([{ side: 'a', config: mlp }, { side: 'b', config: wide }])).toBeCloseTo(
      15_000 + ((2 * 1024 * 1024 + 50 * 1024) * 256 * 2) / 1e4,
      6,
    );
  });
});
