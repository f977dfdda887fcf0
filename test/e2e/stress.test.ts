/**
 * Stress in a real Chromium: 50 control changes within 5 seconds end on exactly the numbers
 * `simulate` prints for the final link; then 200 runs in a row, with the JS heap measured after
 * forced garbage collections, must settle instead of growing with the number of runs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { expectedRows, openPage, startApp, tableRows, waitDone, type App } from './harness';

async function heapAfterGc(page: Page): Promise<number> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('HeapProfiler.collectGarbage');
  await cdp.send('HeapProfiler.collectGarbage');
  const { usedSize } = (await cdp.send('Runtime.getHeapUsage')) as { usedSize: number };
  await cdp.detach();
  return usedSize;
}

describe('stress', () => {
  let app: App;
  beforeAll(async () => {
    app = await startApp();
  }, 180_000);
  afterAll(async () => app?.close());

  it('50 control changes in a burst: the page never freezes and ends on simulate\'s numbers for the final link, console clean', async () => {
    const { page, errors } = await openPage(app, 'v=1&net=mlp&in=128&depth=10&width=128&n=64&seed=stress&b.init=lecun_normal');
    await waitDone(page);
    // The 50 changes are made inside the page, one every 100 ms by the clock (change i is due at
    // i x 100 ms), as a hand on a slider would: the schedule does not depend on the test's round
    // trips, and a change made late shows that the page did not keep up.
    const { elapsed, latest, longest } = await page.evaluate(async () => {
      const longTasks: number[] = [];
      const observer = new PerformanceObserver((list) => list.getEntries().forEach((e) => longTasks.push(e.duration)));
      observer.observe({ type: 'longtask', buffered: false });
      const setValue = Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value')!.set!;
      const labelled = (text: string) => {
        const label = Array.from(document.querySelectorAll('label')).find((l) => l.textContent!.startsWith(text))!;
        return document.getElementById(label.htmlFor) as HTMLInputElement;
      };
      const width = labelled('Width (units per layer)');
      const depth = labelled('Depth (weight layers)');
      const t0 = performance.now();
      let latest = 0;
      for (let i = 0; i < 50; i++) {
        const due = t0 + i * 100;
        await new Promise((r) => setTimeout(r, Math.max(0, due - performance.now())));
        latest = Math.max(latest, performance.now() - due);
        const [el, v] = i % 2 ? [width, 64 + ((i * 37) % 192)] : [depth, 4 + ((i * 7) % 20)];
        setValue.call(el, String(v));
        // React handles an input event at once (a discrete event): the change is applied on return.
        el.dispatchEvent(new Event('input', { bubbles: true }));
      }
      const elapsed = performance.now() - t0;
      observer.disconnect();
      return { elapsed, latest, longest: Math.max(0, ...longTasks) };
    });
    console.log(`stress: 50 changes made and applied in ${elapsed.toFixed(0)} ms (the last was due at 4900 ms); latest change ${latest.toFixed(0)} ms after its time; longest main-thread task ${longest.toFixed(0)} ms`);
    expect(elapsed).toBeLessThan(5000);
    // A change redraws only the controls that show the changed keys (4-5 ms); runs started between
    // changes redraw the charts at their start, first layer and end, and at most every 100 ms between. The page never blocks for a second, and it ends on
    // exactly the final link's numbers.
    expect(longest).toBeLessThan(1000);
    // The hash is written on every edit; the last change's run starts only after the runner's
    // debounce, and until then the page may still show an earlier run as done. So wait for the table
    // to reach the final link's numbers, then for the run to be done, and check that the table stays.
    const hash = new URL(page.url()).hash.slice(1);
    const expected = expectedRows(hash);
    await expect.poll(() => tableRows(page), { timeout: 120_000 }).toEqual(expected);
    await waitDone(page);
    expect(await tableRows(page)).toEqual(expected);
    expect(errors).toEqual([]);
    await page.close();
  }, 300_000);

  it('200 runs in a row: the JS heap settles', async () => {
    const { page, errors } = await openPage(app, 'v=1&net=mlp&in=64&depth=8&width=64&n=32&seed=heap');
    await waitDone(page);
    const heap: Record<number, number> = {};
    for (let run = 1; run <= 200; run++) {
      const before = JSON.stringify(await tableRows(page));
      await page.getByRole('button', { name: 'New seed' }).click();
      // Each new seed is a new run, started after the runner's debounce: until then the previous
      // run's "done" stays. Wait for this run's numbers, whole (no layer pending), and its "done".
      await expect
        .poll(async () => {
          const rows = await tableRows(page);
          return (await page.getByTestId('run-done').count()) === 1 && JSON.stringify(rows) !== before && !rows.flat().includes('…');
        }, { timeout: 60_000 })
        .toBe(true);
      await waitDone(page);
      if (run === 20 || run === 100 || run === 200) heap[run] = await heapAfterGc(page);
    }
    console.log(`heap after GC (MiB): ${Object.entries(heap).map(([k, v]) => `run ${k}: ${(v / 2 ** 20).toFixed(2)}`).join(', ')}`);
    // Settled: 180 more runs add less than half of what the page held after 20 (and under 4 MiB).
    expect(heap[200] - heap[20]).toBeLessThan(Math.max(4 * 2 ** 20, heap[20] * 0.5));
    expect(errors).toEqual([]);
    await page.close();
  }, 600_000);
});
