// Replaces the global Worker with @vitest/web-worker's, which runs the module in this thread.
import '@vitest/web-worker';
import { describe, expect, it } from 'vitest';
import { createEngineClient, defaultWorkerFactory } from '../../src/worker/client';
import type { Reply } from '../../src/worker/protocol';
import { label, runAB, sideLabels, terminal } from './fixtures';

describe('the worker entry', () => {
  it('defaultWorkerFactory loads engine.worker.ts, which answers a run through the handler', { timeout: 10_000 }, async () => {
    const replies: Reply[] = [];
    let resolve = () => {};
    const finished = new Promise<void>((r) => (resolve = r));
    const client = createEngineClient(defaultWorkerFactory, (r) => {
      replies.push(r);
      if (terminal(1)(r)) resolve();
    });
    client.run(runAB);
    await finished;
    client.dispose();
    expect(replies.map(label)).toEqual([...sideLabels('a', 4), ...sideLabels('b', 4), 'done']);
  });
});
