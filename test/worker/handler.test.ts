import { describe, expect, it, vi } from 'vitest';
import { referenceKernels, type Kernels } from '../../src/engine/kernels';
import type { RunConfig } from '../../src/engine/schema';
import type { RunList } from '../../src/worker/client';
import { createHandler, type HandlerOptions } from '../../src/worker/handler';
import type { Reply, Request } from '../../src/worker/protocol';
import { label, runA, runAB, settle, sideLabels, small, terminal } from './fixtures';

/**
 * A handler with its replies recorded. `onReply` runs inside `post`, so a test can send the next
 * request at an exact point of a run, as a message arriving during that layer would be.
 */
function harness(options: HandlerOptions = {}, onReply: (r: Reply, handle: (q: Request) => void) => void = () => {}) {
  const replies: Reply[] = [];
  // `accepted` replies, apart: the handler posts one on receipt of every run.
  const accepted: number[] = [];
  const waiters: { test: (r: Reply) => boolean; resolve: () => void }[] = [];
  const handle: (q: Request) => void = createHandler((r) => {
    if (r.type === 'accepted') return void accepted.push(r.id);
    replies.push(r);
    onReply(r, handle);
    for (const w of [...waiters]) {
      if (w.test(r)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  }, options);
  const until = (test: (r: Reply) => boolean) =>
    replies.some(test) ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ test, resolve }));
  const of = (id: number) => replies.filter((r) => r.id === id).map(label);
  return { handle, replies, accepted, until, of };
}

describe('the worker message handler', () => {
  it('posts start, forward 1..L, backward L..1 for A, then for B, then done with the elapsed ms', async () => {
    const clock = [1000, 1250.5];
    const h = harness({ now: () => clock.shift()! });
    h.handle({ type: 'run', id: 7, runs: runAB });
    // Accepted on receipt, before anything is computed.
    expect(h.accepted).toEqual([7]);
    expect(h.replies).toEqual([]);
    await h.until(terminal(7));
    expect(h.replies.map(label)).toEqual([...sideLabels('a', 4), ...sideLabels('b', 4), 'done']);
    expect(h.replies.every((r) => r.id === 7)).toBe(true);
    expect(h.replies.at(-1)).toEqual({ type: 'done', id: 7, ms: 250.5, workers: 1 });
    const startB = h.replies.find((r) => r.type === 'start' && r.side === 'b');
    expect(startB?.type === 'start' && startB.config.init).toBe('lecun_normal');
    // Replies are posted to another thread: each must survive the structured clone unchanged.
    for (const r of h.replies) expect(structuredClone(r)).toEqual(r);
  });

  it('a run arriving during another stops the older one at its next layer, silently; the newer completes', async () => {
    const h = harness({}, (r, handle) => {
      if (r.id === 1 && r.type === 'forward' && r.layer.index === 2) handle({ type: 'run', id: 2, runs: runA });
    });
    h.handle({ type: 'run', id: 1, runs: runA });
    await h.until(terminal(2));
    await settle();
    expect(h.of(1)).toEqual(['start a', 'forward a 1', 'forward a 2']);
    expect(h.of(2)).toEqual([...sideLabels('a', 4), 'done']);
  });

  it('gives the event loop a macrotask turn between layers: a run sent from a timer supersedes a long one', async () => {
    // 2 x 40 events of a few ms each; with only microtask yields (or none) run 1 would finish first.
    const long: RunList = [{ side: 'a', config: small({ depth: 40, width: 64, input: [64], n: 64 }) }];
    const h = harness();
    h.handle({ type: 'run', id: 1, runs: long });
    setTimeout(() => h.handle({ type: 'run', id: 2, runs: runA }), 0);
    await h.until(terminal(2));
    await settle();
    expect(h.of(1)).not.toContain('done');
    expect(h.of(1).length).toBeLessThan(20);
    expect(h.of(2)).toEqual([...sideLabels('a', 4), 'done']);
  });

  it('of runs sent together only the last is computed', async () => {
    const h = harness();
    h.handle({ type: 'run', id: 1, runs: runA });
    h.handle({ type: 'run', id: 2, runs: runA });
    await h.until(terminal(2));
    expect(h.of(1)).toEqual([]);
    expect(h.of(2)).toEqual([...sideLabels('a', 4), 'done']);
  });

  it('cancel posts cancelled at the next layer and nothing after it; the next run works', async () => {
    const h = harness({}, (r, handle) => {
      if (r.id === 1 && r.type === 'forward' && r.layer.index === 2) handle({ type: 'cancel', id: 1 });
    });
    h.handle({ type: 'run', id: 1, runs: runAB });
    await h.until(terminal(1));
    await settle();
    expect(h.of(1)).toEqual(['start a', 'forward a 1', 'forward a 2', 'cancelled']);
    h.handle({ type: 'run', id: 2, runs: runA });
    await h.until(terminal(2));
    expect(h.of(2)).toEqual([...sideLabels('a', 4), 'done']);
  });

  it('a cancel naming an older run leaves the current run alone', async () => {
    const h = harness();
    h.handle({ type: 'run', id: 2, runs: runA });
    h.handle({ type: 'cancel', id: 1 });
    await h.until(terminal(2));
    expect(h.of(2)).toEqual([...sideLabels('a', 4), 'done']);
  });

  it('an engine exception mid-run posts error with the message, not the stack, and the handler stays usable', async () => {
    let denseCalls = 0;
    const failing: Kernels = {
      ...referenceKernels,
      dense(...args) {
        // One network, so the third call is layer 3's forward pass, of the first run only.
        if (++denseCalls === 3) throw new Error('dense kernel failed');
        return referenceKernels.dense(...args);
      },
    };
    const h = harness({ kernels: failing });
    h.handle({ type: 'run', id: 1, runs: runAB });
    await h.until(terminal(1));
    await settle();
    expect(h.of(1)).toEqual(['start a', 'forward a 1', 'forward a 2', 'error']);
    const error = h.replies.find((r) => r.type === 'error');
    expect(error).toEqual({ type: 'error', id: 1, message: 'Engine error in A: dense kernel failed' });
    h.handle({ type: 'run', id: 2, runs: runAB });
    await h.until(terminal(2));
    expect(h.of(2)).toEqual([...sideLabels('a', 4), ...sideLabels('b', 4), 'done']);
  });

  it('a configuration the engine cannot run (never validated) is an error for its side, not a crash', async () => {
    const h = harness();
    const bad = { ...small(), act: 'swishy' } as unknown as RunConfig;
    h.handle({ type: 'run', id: 1, runs: [{ side: 'a', config: small() }, { side: 'b', config: bad }] });
    await h.until(terminal(1));
    expect(h.of(1)).toEqual([...sideLabels('a', 4), 'error']);
    expect(h.replies.at(-1)).toEqual({ type: 'error', id: 1, message: 'Engine error in B: unknown activation: swishy' });
    h.handle({ type: 'run', id: 2, runs: runA });
    await h.until(terminal(2));
    expect(h.of(2).at(-1)).toBe('done');
  });

  it("crash 'exit' closes the worker scope and nothing is answered afterwards", async () => {
    let closes = 0;
    const h = harness({ close: () => closes++ }, (r, handle) => {
      if (r.id === 1 && r.type === 'forward' && r.layer.index === 1) handle({ type: 'crash', mode: 'exit' });
    });
    h.handle({ type: 'run', id: 1, runs: runA });
    await h.until((r) => r.type === 'forward');
    h.handle({ type: 'run', id: 2, runs: runA });
    await settle();
    expect(closes).toBe(1);
    expect(h.replies.map(label)).toEqual(['start a', 'forward a 1']);
  });

  it("crash 'throw' throws later, from a timer, outside the caller (so a worker's error event fires)", () => {
    vi.useFakeTimers();
    try {
      const h = harness();
      expect(() => h.handle({ type: 'crash', mode: 'throw' })).not.toThrow();
      expect(() => vi.runAllTimers()).toThrow('engine worker crash requested (mode throw)');
    } finally {
      vi.useRealTimers();
    }
  });

  it('rejects a yieldEvery that is not a positive integer, naming it', () => {
    expect(() => createHandler(() => {}, { yieldEvery: 0 })).toThrow('yieldEvery must be an integer of at least 1, not 0');
    expect(() => createHandler(() => {}, { yieldEvery: 1.5 })).toThrow(/not 1\.5/);
  });

  it('yieldEvery 3 takes a turn of the event loop after every third event', async () => {
    const long: RunList = [{ side: 'a', config: small({ depth: 12 }) }];
    // The second run arrives as a message would: from the event loop, queued during forward 1.
    const h = harness({ yieldEvery: 3 }, (r, handle) => {
      if (r.id === 1 && r.type === 'forward' && r.layer.index === 1) setImmediate(() => handle({ type: 'run', id: 2, runs: runA }));
    });
    h.handle({ type: 'run', id: 1, runs: long });
    await h.until(terminal(2));
    await settle();
    // A turn first, then events 1-3 (start, forward 1, forward 2) in one go; the run is seen at the next turn.
    expect(h.of(1)).toEqual(['start a', 'forward a 1', 'forward a 2']);
    expect(h.of(2).at(-1)).toBe('done');
  });
});
