import { afterEach, describe, expect, it, vi } from 'vitest';
import { defaultRun, validateRun } from '../../src/engine/schema';
import { ACCEPT_MS, createEngineClient, LIVENESS_MS, stallBudget, SUPERSEDE_MS, type EngineClientOptions } from '../../src/worker/client';
import { createHandler } from '../../src/worker/handler';
import type { Reply, Request } from '../../src/worker/protocol';
import { label, ManualWorker, runA, runAB, settle, sideLabels, small, terminal } from './fixtures';

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
      // The handler would throw from a timer, an uncaught exception of this test process; a real
      // worker turns that into its error event, as `fail` does.
      if (data.type === 'crash' && data.mode === 'throw') return void this.fail('Uncaught Error: engine worker crash requested (mode throw)');
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
    expect(t.replies.at(-1)).toEqual({ type: 'error', id: 1, message: 'The engine worker crashed: Uncaught Error: out of memory' });
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
    expect(t.replies.at(-1)).toEqual({ type: 'error', id: 1, message: 'The engine worker sent a message that could not be read' });
    expect(t.workers[0].terminated).toBe(true);
    t.client.run(runA);
    await t.until(terminal(2));
    expect(t.of(2).at(-1)).toBe('done');
  });

  it('a worker that goes silent (crash exit) is reported after stallMs and replaced', async () => {
    let crashed: boolean | null = null;
    const t = setup({ stallMs: 100 }, (r) => {
      if (r.id === 1 && r.type === 'forward' && r.layer.index === 1) crashed = t.client.crash('exit');
    });
    const started = performance.now();
    t.client.run(runA);
    await t.until(terminal(1));
    const waited = performance.now() - started;
    expect(crashed).toBe(true);
    expect(t.workers[0].received.at(-1)).toEqual({ type: 'crash', mode: 'exit' });
    expect(t.of(1)).toEqual(['start a', 'forward a 1', 'error']);
    expect(t.replies.at(-1)).toEqual({ type: 'error', id: 1, message: 'The engine worker stopped answering (no reply for 100 ms)' });
    // The limit counts from the last reply, not from the start of the run.
    expect(waited).toBeGreaterThanOrEqual(100);
    t.client.retry();
    await t.until(terminal(2));
    expect(t.workers).toHaveLength(2);
    expect(t.of(2).at(-1)).toBe('done');
  });

  it('a worker that closed itself while idle is replaced unseen: the next run goes to a fresh worker after ACCEPT_MS', async () => {
    const t = setup();
    t.client.run(runA);
    await t.until(terminal(1));
    expect(t.client.crash('exit')).toBe(true);
    await settle();
    const started = performance.now();
    t.client.run(runA);
    await t.until(terminal(2), ACCEPT_MS + 10_000);
    expect(performance.now() - started).toBeGreaterThanOrEqual(ACCEPT_MS - 5);
    expect(t.workers).toHaveLength(2);
    expect(t.workers[0].terminated).toBe(true);
    // Nothing of the dead worker reached the page: run 2 is whole, from the fresh worker.
    expect(t.of(2)).toEqual([...sideLabels('a', 4), 'done']);
    expect(t.replies.some((r) => r.type === 'error' || r.type === 'accepted')).toBe(false);
  });

  it('a live idle worker accepts at once and keeps its runs: no fresh worker for a second run', async () => {
    const t = setup();
    t.client.run(runA);
    await t.until(terminal(1));
    t.client.run(runA);
    await t.until(terminal(2));
    // The accept timer was cleared by `accepted`: past ACCEPT_MS, still the first worker.
    await new Promise((r) => setTimeout(r, ACCEPT_MS + 100));
    expect(t.workers).toHaveLength(1);
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
    // The worker was not asked to stop between layers: it was terminated, and dispatched nothing more.
    const worker = t.workers[0];
    expect(worker.terminated).toBe(true);
    expect(worker.received.map((q) => q.type)).toEqual(['run']);
    expect(worker.dispatched.map((d) => label(d.reply))).toEqual(['accepted', 'start a', 'forward a 1']);
  });

  it('cancel terminates the busy worker at once; the next run works on a fresh one, and no reply of the cancelled run arrives', async () => {
    const t = setup();
    t.client.run(runAB);
    await t.until((r) => r.type === 'forward');
    const first = t.workers[0];
    t.client.cancel();
    // Terminated inside cancel(), not at the worker's next layer boundary.
    expect(first.terminated).toBe(true);
    expect(t.client.busy).toBe(false);
    // A reply of the cancelled run already on its way (queued before the terminate) is dropped,
    // and so is anything else the dead worker might still deliver.
    first.dispatchEvent(new MessageEvent('message', { data: { type: 'forward', id: 1, side: 'a', layer: { index: 9 } } }));
    first.dispatchEvent(new MessageEvent('message', { data: { type: 'done', id: 1, ms: 1 } satisfies Reply }));
    first.fail('late error of a terminated worker');
    await t.until(terminal(1));
    await settle();
    const cancelledAt = t.replies.findIndex((r) => r.type === 'cancelled');
    expect(t.replies.slice(cancelledAt).map((r) => `${r.type} ${r.id}`)).toEqual(['cancelled 1']);

    const id = t.client.run(runA);
    expect(t.workers).toHaveLength(2);
    await t.until(terminal(id));
    expect(t.workers[1].received).toEqual([{ type: 'run', id, runs: runA }]);
    expect(t.of(id)).toEqual([...sideLabels('a', 4), 'done']);
    // Nothing of run 1 after its cancelled, from either worker.
    expect(t.replies.slice(cancelledAt + 1).every((r) => r.id === id)).toBe(true);
    expect(t.workers[1].terminated).toBe(false);
  });

  it('cancel stops a worker stuck in a long layer without waiting for it', async () => {
    // A worker inside one long layer answers nothing; cancel must not depend on it.
    const worker = new ManualWorker();
    const replies: Reply[] = [];
    const client = createEngineClient(() => worker as unknown as Worker, (r) => replies.push(r));
    client.run(runA);
    worker.emit({ type: 'start', id: 1, side: 'a' } as Reply);
    const t0 = performance.now();
    client.cancel();
    await Promise.resolve();
    expect(performance.now() - t0).toBeLessThan(50);
    expect(worker.terminated).toBe(true);
    expect(replies.map((r) => r.type)).toEqual(['start', 'cancelled']);
    expect(worker.received.map((q) => q.type)).toEqual(['run']);
  });

  it('cancel without a run in progress keeps the idle worker', async () => {
    const t = setup();
    t.client.cancel();
    t.client.run(runA);
    await t.until(terminal(1));
    t.client.cancel();
    await settle();
    expect(t.workers).toHaveLength(1);
    expect(t.workers[0].terminated).toBe(false);
    expect(t.replies.some((r) => r.type === 'cancelled')).toBe(false);
    t.client.run(runA);
    await t.until(terminal(2));
    expect(t.workers).toHaveLength(1);
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

  it('rejects a supersede limit that is not a number from 0, naming it', () => {
    expect(() => setup({ supersedeMs: -1 })).toThrow('supersedeMs must be a number of ms from 0, or Infinity, not -1');
    expect(() => setup({ supersedeMs: Number.NaN })).toThrow('not NaN');
  });

  it('rejects a stall limit that is not a positive number, naming it', () => {
    const t = setup({ stallMs: 0 });
    expect(() => t.client.run(runA)).toThrow('stallMs must be a positive number of ms or Infinity, not 0');
    expect(t.client.currentId).toBeNull();
  });
});

describe('the test-only crash switch', () => {
  it('crash throw mid-run ends the run with one error naming the crash; a retry completes on a fresh worker', async () => {
    let crashed: boolean | null = null;
    const t = setup({}, (r) => {
      if (r.id === 1 && r.type === 'forward' && r.layer.index === 2) crashed = t.client.crash('throw');
    });
    t.client.run(runA);
    await t.until(terminal(1));
    await settle();
    expect(crashed).toBe(true);
    expect(t.workers[0].received.map((q) => q.type)).toEqual(['run', 'crash']);
    expect(t.of(1).slice(0, 3)).toEqual(['start a', 'forward a 1', 'forward a 2']);
    expect(t.of(1).filter((l) => l === 'error')).toHaveLength(1);
    expect(t.replies.at(-1)).toEqual({ type: 'error', id: 1, message: 'The engine worker crashed: Uncaught Error: engine worker crash requested (mode throw)' });
    expect(t.workers[0].terminated).toBe(true);
    t.client.retry();
    await t.until(terminal(2));
    expect(t.workers).toHaveLength(2);
    expect(t.of(2)).toEqual([...sideLabels('a', 4), 'done']);
  });

  it('crash throw of an idle worker reaches the listener not at all; the next run completes on a fresh worker', async () => {
    const t = setup();
    t.client.run(runA);
    await t.until(terminal(1));
    const count = t.replies.length;
    expect(t.client.crash('throw')).toBe(true);
    await settle();
    expect(t.workers[0].terminated).toBe(true);
    expect(t.replies).toHaveLength(count);
    expect(t.client.busy).toBe(false);
    t.client.run(runA);
    await t.until(terminal(2));
    expect(t.workers).toHaveLength(2);
    expect(t.of(2)).toEqual([...sideLabels('a', 4), 'done']);
  });

  it('crash without a live worker does nothing and makes none: before any run, after a fault, after a cancel, after dispose', async () => {
    const t = setup();
    expect(t.client.crash('throw')).toBe(false);
    expect(t.workers).toHaveLength(0);
    t.client.run(runA);
    await t.until((r) => r.type === 'start');
    t.workers[0].fail('Uncaught Error: first');
    await t.until(terminal(1));
    expect(t.client.crash('exit')).toBe(false);
    t.client.run(runA);
    await t.until((r) => r.id === 2 && r.type === 'start');
    t.client.cancel();
    expect(t.client.crash('exit')).toBe(false);
    t.client.run(runA);
    await t.until(terminal(3));
    t.client.dispose();
    expect(t.client.crash('exit')).toBe(false);
    expect(t.workers).toHaveLength(3);
    expect(t.workers.every((w) => w.received.every((q) => q.type === 'run'))).toBe(true);
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
      supersedeMs: Infinity,
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
      expect(replies.at(-1)).toEqual({ type: 'error', id: 2, message: 'The engine worker stopped answering (no reply for 100 ms)' });
      expect(replies).toHaveLength(3);
    });
  });

  it('a stale reply shows the worker alive; after cancel nothing is watched', () => {
    vi.useFakeTimers();
    const workers: ManualWorker[] = [];
    const faults: Reply[] = [];
    const client = createEngineClient(
      () => {
        workers.push(new ManualWorker());
        return workers.at(-1) as unknown as Worker;
      },
      (r) => faults.push(r),
      { stallMs: 100, supersedeMs: Infinity },
    );
    client.run(runA);
    client.run(runA);
    // The limit is 100 + 100 ms here: run 1 may still be inside a layer.
    vi.advanceTimersByTime(150);
    workers[0].emit(progress(1));
    vi.advanceTimersByTime(150);
    expect(workers[0].terminated).toBe(false);
    client.cancel();
    // The cancel terminated the worker itself; no watchdog is left to fire for it.
    expect(workers[0].terminated).toBe(true);
    vi.advanceTimersByTime(10_000);
    expect(workers[0].received.map((q) => q.type)).toEqual(['run', 'run']);
    expect(workers).toHaveLength(1);
    return Promise.resolve().then(() => expect(faults.map((r) => `${r.type} ${r.id}`)).toEqual(['cancelled 2']));
  });
});

describe('a superseded run does not hold the worker for long (supersedeMs), on a fake clock', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  const progress = (id: number): Reply => ({ type: 'forward', id, side: 'a', layer: null as never });

  /** A client over manual workers with a 100 ms supersede limit, the clock being the fake Date. */
  function manual(supersedeMs = 100) {
    vi.useFakeTimers();
    const workers: ManualWorker[] = [];
    const replies: Reply[] = [];
    const client = createEngineClient(
      () => {
        workers.push(new ManualWorker());
        return workers.at(-1) as unknown as Worker;
      },
      (r) => replies.push(r),
      { stallMs: Infinity, supersedeMs, now: () => Date.now() },
    );
    const seen = () => replies.map((r) => `${r.type} ${r.id}`);
    return { client, workers, replies, seen };
  }

  it('the default is SUPERSEDE_MS, 150 ms', () => {
    expect(SUPERSEDE_MS).toBe(150);
  });

  it('a run superseded after the limit is stopped at once: its worker is terminated, the new run goes to a fresh one', () => {
    const t = manual();
    t.client.run(runA);
    t.workers[0].emit(progress(1));
    vi.advanceTimersByTime(100);
    const id = t.client.run(runAB);
    expect(t.workers[0].terminated).toBe(true);
    expect(t.workers).toHaveLength(2);
    expect(t.workers[0].received).toEqual([{ type: 'run', id: 1, runs: runA }]);
    expect(t.workers[1].received).toEqual([{ type: 'run', id, runs: runAB }]);
    // The dead worker's late replies, of either run, are dropped; the fresh worker's are passed on.
    t.workers[0].emit(progress(1));
    t.workers[0].emit(progress(2));
    t.workers[1].emit(progress(2));
    t.workers[1].emit({ type: 'done', id: 2, ms: 1 });
    expect(t.seen()).toEqual(['forward 1', 'forward 2', 'done 2']);
  });

  it('a run superseded early keeps its worker when the worker turns to the new run in time', () => {
    const t = manual();
    t.client.run(runA);
    vi.advanceTimersByTime(40);
    t.client.run(runA);
    vi.advanceTimersByTime(40);
    // The worker reached a layer boundary and began run 2.
    t.workers[0].emit(progress(2));
    vi.advanceTimersByTime(30);
    expect(t.workers).toHaveLength(1);
    expect(t.workers[0].terminated).toBe(false);
    // Run 3 supersedes run 2, which the worker began 30 ms ago: it is sent to the same worker.
    t.client.run(runA);
    expect(t.workers).toHaveLength(1);
    expect(t.workers[0].received.map((q) => `${q.type} ${(q as { id: number }).id}`)).toEqual(['run 1', 'run 2', 'run 3']);
  });

  it('judges a superseded run by when the worker began it, not by when the first run was sent', () => {
    const t = manual();
    t.client.run(runA);
    vi.advanceTimersByTime(90);
    t.client.run(runA);
    vi.advanceTimersByTime(5);
    t.workers[0].emit(progress(2));
    vi.advanceTimersByTime(50);
    // 145 ms since run 1 was sent, 50 ms since the worker began run 2: no new worker.
    t.client.run(runA);
    expect(t.workers).toHaveLength(1);
    t.workers[0].emit(progress(3));
    vi.advanceTimersByTime(1000);
    expect(t.workers).toHaveLength(1);
    expect(t.seen()).toEqual(['forward 2', 'forward 3']);
  });

  it('a worker that does not turn to the new run by the limit is terminated, and the run is sent again to a fresh one', () => {
    const t = manual();
    t.client.run(runA);
    t.workers[0].emit(progress(1));
    vi.advanceTimersByTime(30);
    const id = t.client.run(runAB);
    // The worker is inside a long layer of run 1: it answers nothing until 100 ms after it began run 1.
    vi.advanceTimersByTime(69);
    expect(t.workers).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(t.workers[0].terminated).toBe(true);
    expect(t.workers).toHaveLength(2);
    expect(t.workers[1].received).toEqual([{ type: 'run', id, runs: runAB }]);
    // The same run, under the same id: nothing of it had reached the listener yet.
    t.workers[0].emit(progress(id));
    t.workers[1].emit(progress(id));
    t.workers[1].emit({ type: 'done', id, ms: 1 });
    expect(t.seen()).toEqual(['forward 1', 'forward 2', 'done 2']);
    expect(t.client.busy).toBe(false);
  });

  it('several runs in a burst cost at most one new worker, for the latest run', () => {
    const t = manual();
    t.client.run(runA);
    t.workers[0].emit(progress(1));
    for (let i = 0; i < 5; i++) {
      vi.advanceTimersByTime(10);
      t.client.run(runA);
    }
    vi.advanceTimersByTime(1000);
    expect(t.workers).toHaveLength(2);
    expect(t.workers[1].received.map((q) => (q as { id: number }).id)).toEqual([6]);
  });

  it('a worker still starting (no reply yet) is never replaced for a supersede: it takes the latest queued run', () => {
    // Were it replaced, a worker slower to load than the limit would be replaced on every run of a drag.
    const t = manual();
    for (let i = 0; i < 10; i++) {
      t.client.run(runA);
      vi.advanceTimersByTime(120);
    }
    expect(t.workers).toHaveLength(1);
    // It loads, and answers the latest run first (the handler computes only the last of a burst).
    t.workers[0].emit(progress(10));
    t.workers[0].emit({ type: 'done', id: 10, ms: 1 });
    expect(t.seen()).toEqual(['forward 10', 'done 10']);
    expect(t.workers).toHaveLength(1);
    // Once it has answered, the limit applies.
    t.client.run(runA);
    vi.advanceTimersByTime(50);
    t.client.run(runA);
    vi.advanceTimersByTime(100);
    expect(t.workers).toHaveLength(2);
    expect(t.workers[1].received.map((q) => (q as { id: number }).id)).toEqual([12]);
  });

  it("a run sent while the worker was starting gets the limit from the worker's first reply, if that is of an older run", () => {
    const t = manual();
    t.client.run(runA);
    vi.advanceTimersByTime(30);
    t.client.run(runAB);
    vi.advanceTimersByTime(500);
    expect(t.workers).toHaveLength(1);
    // Its first reply is of run 1: it began run 1 before run 2 arrived, and may be inside a layer of it.
    t.workers[0].emit(progress(1));
    vi.advanceTimersByTime(99);
    expect(t.workers).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(t.workers[0].terminated).toBe(true);
    expect(t.workers[1].received).toEqual([{ type: 'run', id: 2, runs: runAB }]);
    expect(t.seen()).toEqual([]);
  });

  it('a cancel or a finished run clears the pending replacement', () => {
    const t = manual();
    t.client.run(runA);
    vi.advanceTimersByTime(10);
    t.client.run(runA);
    t.client.cancel();
    vi.advanceTimersByTime(1000);
    // The cancel terminated the worker; no replacement was made for the cancelled run.
    expect(t.workers).toHaveLength(1);
    expect(t.workers[0].terminated).toBe(true);

    t.client.run(runA);
    expect(t.workers).toHaveLength(2);
    t.workers[1].emit({ type: 'done', id: 3, ms: 1 });
    vi.advanceTimersByTime(1000);
    // Idle after done: a new run goes to the same worker, whatever the time.
    t.client.run(runA);
    vi.advanceTimersByTime(50);
    t.workers[1].emit(progress(4));
    vi.advanceTimersByTime(1000);
    expect(t.workers).toHaveLength(2);
  });

  it('Infinity always waits for the worker', () => {
    const t = manual(Infinity);
    t.client.run(runA);
    vi.advanceTimersByTime(10_000);
    t.client.run(runA);
    vi.advanceTimersByTime(10_000);
    expect(t.workers).toHaveLength(1);
    expect(t.workers[0].terminated).toBe(false);
  });

  it('a fresh worker that cannot be made for the resent run is an error of that run', () => {
    vi.useFakeTimers();
    let made = 0;
    const first = new ManualWorker();
    const replies: Reply[] = [];
    const client = createEngineClient(
      () => {
        if (made++ > 0) throw new Error('out of workers');
        return first as unknown as Worker;
      },
      (r) => replies.push(r),
      { stallMs: Infinity, supersedeMs: 100, now: () => Date.now() },
    );
    client.run(runA);
    first.emit(progress(1));
    vi.advanceTimersByTime(50);
    client.run(runA);
    vi.advanceTimersByTime(60);
    expect(first.terminated).toBe(true);
    expect(client.busy).toBe(false);
    return Promise.resolve().then(() => {
      expect(replies.map((r) => `${r.type} ${r.id}`)).toEqual(['forward 1', 'error 2']);
      expect(replies.at(-1)).toEqual({ type: 'error', id: 2, message: 'The engine worker could not be started: out of workers' });
    });
  });

  it('in-process: a superseded slow run on real timers ends with only the latest run, on a fresh worker', async () => {
    // Replies 60 ms apart stand for slow layers; a 100 ms limit replaces the worker.
    const t = setup({ supersedeMs: 100 }, () => {}, 60);
    t.client.run(runAB);
    await t.until((r) => r.id === 1 && r.type === 'forward');
    const id = t.client.run(runA);
    await t.until(terminal(id));
    await settle(200);
    expect(t.workers.length).toBe(2);
    expect(t.workers[0].terminated).toBe(true);
    expect(t.of(id)).toEqual([...sideLabels('a', 4), 'done']);
    expect(t.replies.filter((r) => r.id === 1).map(label)).toEqual(['start a', 'forward a 1']);
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

describe('beats of a worker waiting on its pool, on a fake clock', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  const progress = (id: number): Reply => ({ type: 'forward', id, side: 'a', layer: null as never });
  const beat = (id: number, last?: boolean): Reply => (last ? { type: 'beat', id, last } : { type: 'beat', id });

  function manual(stallMs: number) {
    vi.useFakeTimers();
    let clock = 0;
    const worker = new ManualWorker();
    const replies: Reply[] = [];
    const client = createEngineClient(() => worker as unknown as Worker, (r) => replies.push(r), { stallMs, supersedeMs: Infinity, now: () => clock });
    /** Advances the timers and the client's clock together. */
    const advance = (ms: number) => {
      for (let left = ms; left > 0; left -= Math.min(left, 100)) {
        clock += Math.min(left, 100);
        vi.advanceTimersByTime(Math.min(left, 100));
      }
    };
    return { worker, replies, client, advance, jump: (ms: number) => (clock += ms) };
  }

  it('after a beat, LIVENESS_MS of silence is a dead worker, long before the stall limit; beats never reach the listener', async () => {
    expect(LIVENESS_MS).toBe(6000);
    const t = manual(60_000);
    t.client.run(runA);
    t.worker.emit(progress(1));
    t.worker.emit(beat(1));
    t.advance(5900);
    expect(t.worker.terminated).toBe(false);
    t.advance(200);
    expect(t.worker.terminated).toBe(true);
    await Promise.resolve();
    expect(t.replies).toEqual([progress(1), { type: 'error', id: 1, message: 'The engine worker stopped answering (no reply for 6 s)' }]);
  });

  it('beats keep a long pooled layer alive but do not feed the stall watchdog, which still waits for the pool', async () => {
    const t = manual(20_000);
    t.client.run(runA);
    t.worker.emit(progress(1));
    for (let s = 0; s < 19; s++) {
      t.advance(1000);
      t.worker.emit(beat(1));
    }
    expect(t.worker.terminated).toBe(false);
    t.advance(1100);
    expect(t.worker.terminated).toBe(true);
    await Promise.resolve();
    expect(t.replies.at(-1)).toEqual({ type: 'error', id: 1, message: 'The engine worker stopped answering (no reply for 20 s)' });
  });

  it('the last beat ends the short wait: the worker computes in its own thread again, under the stall limit', async () => {
    const t = manual(60_000);
    t.client.run(runA);
    t.worker.emit(beat(1));
    t.advance(1000);
    t.worker.emit(beat(1, true));
    t.worker.emit(progress(1));
    t.advance(30_000);
    expect(t.worker.terminated).toBe(false);
    t.worker.emit({ type: 'done', id: 1, ms: 1 });
    t.advance(60_000);
    expect(t.worker.terminated).toBe(false);
    await Promise.resolve();
    expect(t.replies.map((r) => r.type)).toEqual(['forward', 'done']);
  });

  it('a page busy or frozen past the wait gives the replies queued meanwhile a turn before judging', () => {
    const t = manual(60_000);
    t.client.run(runA);
    t.worker.emit(beat(1));
    // Frozen for 8 s, timers and messages alike: on resume the overdue timer runs first...
    t.advance(5000);
    expect(t.worker.terminated).toBe(false);
    // ...and the beats that queued up meanwhile are read within the grace.
    t.worker.emit(beat(1));
    t.advance(5900);
    expect(t.worker.terminated).toBe(false);
    t.advance(200);
    expect(t.worker.terminated).toBe(true);
  });

  it('a hidden page is not judged by beats (its worker may be throttled): the stall watchdog alone watches', () => {
    const doc = { visibilityState: 'hidden' };
    vi.stubGlobal('document', doc);
    try {
      const t = manual(30_000);
      t.client.run(runA);
      t.worker.emit(beat(1));
      t.advance(20_000);
      expect(t.worker.terminated).toBe(false);
      // Shown again: silence is judged again within the wait.
      doc.visibilityState = 'visible';
      t.advance(6000);
      expect(t.worker.terminated).toBe(true);
    } finally {
      vi.unstubAllGlobals();
    }
  });

  it("a newer run does not inherit the older one's wait: it waits for beats of its own", () => {
    const t = manual(60_000);
    t.client.run(runA);
    t.worker.emit(beat(1));
    t.client.run(runA);
    t.worker.emit(progress(2));
    t.advance(10_000);
    expect(t.worker.terminated).toBe(false);
  });
});
