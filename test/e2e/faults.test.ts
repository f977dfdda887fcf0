/**
 * Faults in a real Chromium (issue 5). A worker that throws or closes itself during a run yields a
 * visible error; the last good numbers stay on the page, marked stale; Retry completes on a fresh
 * worker with exactly `simulate`'s numbers. A worker crashed while idle is replaced, unseen, at the next run. The crashes
 * come from the fault hooks of a `faults` build (src/ui/testHooks.ts), which the site people get
 * does not contain.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page, Worker } from 'playwright-core';
import { PENDING } from '../../src/charts/StatsTable';
import { decode } from '../../src/link/codec';
import { LIVENESS_MS, stallBudget, type CrashMode } from '../../src/worker/client';
import { expectedRows, isEngineWorker, openPage, SCREENSHOTS, startApp, tableRows, waitDone, type App } from './harness';

/** About 8e9 multiply-adds: a run of seconds, so that a crash lands in the middle of one. */
const LARGE = 'v=1&net=mlp&in=512&depth=30&width=512&n=512&seed=faults';
/** A run of a fraction of a second, for the crashes of an idle worker. */
const SMALL = 'v=1&net=mlp&in=64&depth=8&width=64&n=32&seed=faults-idle';
const DEPTH = 30;
/** The gradient column of the table: the last cell of a row. */
const GRADIENT = 6;

/** The table the app must show for a link: simulate's numbers in the table's format. */
/** The client's stall limit for a link's run, in ms: how long a silent worker goes unnoticed. */
function stallOf(link: string): number {
  return stallBudget([{ side: 'a', config: decode(link).config.a }]);
}

/** The page's engine workers as Chromium reports them: every one made, and which have ended. */
interface Workers {
  made: Worker[];
  ended: Set<Worker>;
}

function watchWorkers(page: Page, workers: Workers): void {
  page.on('worker', (worker) => {
    // The engine worker's bundle, not any worker it makes itself.
    if (!isEngineWorker(worker.url())) return;
    workers.made.push(worker);
    worker.on('close', () => workers.ended.add(worker));
  });
}

/**
 * Opens a link with its engine workers watched. `errors` gets the console errors and uncaught
 * exceptions, and also every `error` event the window sees: a worker's error event that the client
 * did not handle (preventDefault) is dispatched at the window again, which headless Chromium does
 * not print to the console.
 */
async function open(app: App, link: string): Promise<{ page: Page; errors: string[]; workers: Workers }> {
  const workers: Workers = { made: [], ended: new Set() };
  // Window error events go here until openPage returns its list, then to that list.
  let sink: string[] = [];
  const { page, errors } = await openPage(app, link, async (p) => {
    watchWorkers(p, workers);
    await p.exposeFunction('reportWindowError', (message: string) => sink.push(`window error event: ${message}`));
    await p.addInitScript(() => {
      const report = (window as unknown as { reportWindowError(message: string): void }).reportWindowError;
      window.addEventListener('error', (event) => report(event.message));
    });
  });
  errors.push(...sink);
  sink = errors;
  return { page, errors, workers };
}

const hashOf = (page: Page) => new URL(page.url()).hash.slice(1);

/** Waits for the run of the page's current link to end on exactly simulate's numbers. */
async function expectSimulateNumbers(page: Page, timeout = 120_000): Promise<void> {
  const expected = expectedRows(hashOf(page));
  await expect.poll(() => tableRows(page), { timeout, interval: 250 }).toEqual(expected);
  await waitDone(page, timeout);
}

/**
 * Inside the page, in one task: waits until the run in progress is at least `percent` done, then
 * crashes the worker. Returns the progress seen and whether there was a live worker to crash.
 */
function crashAt(page: Page, mode: CrashMode, percent: number): Promise<{ progress: number; crashed: boolean }> {
  return page.evaluate(
    async ({ mode, percent }) => {
      const bar = () => document.querySelector<HTMLProgressElement>('progress[aria-label="Computing layers"]');
      while (!bar() || bar()!.value < percent) await new Promise((resolve) => setTimeout(resolve, 5));
      const progress = bar()!.value;
      return { progress, crashed: window.__initscopeFaults!.crash(mode) };
    },
    { mode, percent },
  );
}

const failure = (page: Page) => page.getByRole('alert').filter({ hasText: 'The computation failed' });

const timings: Record<string, number> = {};

describe('faults in Chromium', () => {
  let app: App;
  beforeAll(async () => {
    const t0 = performance.now();
    app = await startApp({ mode: 'faults' });
    timings.buildAndStart = performance.now() - t0;
  }, 180_000);
  afterAll(async () => {
    console.log(`faults timings (ms): ${Object.entries(timings).map(([k, v]) => `${k} ${v.toFixed(0)}`).join(', ')}`);
    await app?.close();
  });

  /**
   * A complete run, a new seed, a crash during the new run's forward pass: the error is shown with
   * the numbers of both runs, each where it belongs, then Retry completes on a fresh worker.
   */
  async function crashMidRunThenRetry(mode: CrashMode, messageFor: (pooled: boolean) => RegExp, alertTimeout: number) {
    const { page, errors, workers } = await open(app, LARGE);
    let t = performance.now();
    await expectSimulateNumbers(page);
    timings[`${mode}: first run`] = performance.now() - t;
    // On two or more hardware threads the run goes to the pool, and the engine worker beats while it waits.
    const pooled = /on [2-9] workers/.test((await page.getByTestId('run-done').textContent()) ?? '');
    const message = messageFor(pooled);
    const before = await tableRows(page);
    expect(workers.made).toHaveLength(1);

    await page.getByRole('button', { name: 'New seed' }).click();
    // 10% is 6 of the 60 steps (30 layers forward, 30 backward): some layers are new, most still the
    // previous run's, and the forward pass has far to go when the worker sees the crash request.
    const { progress, crashed } = await crashAt(page, mode, 10);
    expect(crashed).toBe(true);
    t = performance.now();
    const alert = failure(page);
    await alert.waitFor({ timeout: alertTimeout });
    timings[`${mode}: crash to alert`] = performance.now() - t;
    await expect.poll(() => alert.textContent()).toMatch(message);
    await expect.poll(() => alert.textContent()).toContain('The last good results stay visible, marked stale.');

    // The numbers: layers 1..k are the new run's forward statistics (their gradients were never
    // computed), layers k+1..30 still the previous run's numbers, every digit.
    const rows = await tableRows(page);
    const fresh = expectedRows(hashOf(page));
    const k = rows.findIndex((row, i) => row.join() === before[i].join());
    expect(k, `crash at ${progress}%: some layers recomputed, not all`).toBeGreaterThan(0);
    expect(rows.slice(k)).toEqual(before.slice(k));
    expect(rows.slice(0, k)).toEqual(fresh.slice(0, k).map((row) => row.map((cell, j) => (j === GRADIENT ? PENDING : cell))));
    // ...and the old ones are said to be stale, and drawn so; nothing is blank.
    await expect.poll(() => page.getByRole('status').filter({ hasText: 'Stale:' }).textContent()).toBe(`Stale: ${DEPTH - k} of ${DEPTH} layers are from the previous configuration, not this one (the charts are shown faint).`);
    const opacity = () => page.locator('[data-export="variance"]').evaluate((el) => Number(getComputedStyle(el).opacity));
    expect(await opacity()).toBeLessThan(1);
    expect(await page.locator('svg[role="img"][aria-label^="Layer "]').count()).toBe(DEPTH);
    expect(await page.getByRole('heading', { level: 1 }).isVisible()).toBe(true);
    expect(await page.getByTestId('run-done').count()).toBe(0);
    // The dead worker is gone (terminated by the client, or closed by itself).
    await expect.poll(() => workers.ended.has(workers.made[0])).toBe(true);
    await page.screenshot({ path: join(SCREENSHOTS, `fault-${mode}.png`) });

    t = performance.now();
    await page.getByRole('button', { name: 'Retry' }).click();
    await expectSimulateNumbers(page);
    timings[`${mode}: retry`] = performance.now() - t;
    expect(await failure(page).count()).toBe(0);
    expect(await opacity()).toBe(1);
    expect(workers.made).toHaveLength(2);
    expect(workers.ended.has(workers.made[1])).toBe(false);
    expect(errors).toEqual([]);
    await page.close();
  }

  it('a worker that throws mid-run: the error is shown, the last good numbers stay marked stale, Retry completes on a fresh worker', async () => {
    await crashMidRunThenRetry('throw', () => /^The computation failed: The engine worker crashed: .*engine worker crash requested \(mode throw\)\. The last good/, 30_000);
  }, 300_000);

  it('a worker that closes itself mid-run: the watchdog reports it (within 6 s of silence when it waited on its pool), the last good numbers stay marked stale, Retry completes on a fresh worker', async () => {
    const stall = stallOf(LARGE);
    // A worker waiting on its pool beats every second, so six seconds of silence tell; one computing
    // in its own thread is given the stall limit (its longest layer).
    const messageFor = (pooled: boolean) =>
      new RegExp(`^The computation failed: The engine worker stopped answering \\(no reply for ${pooled ? LIVENESS_MS / 1000 : Math.round(stall / 1000)} s\\)\\. The last good`);
    await crashMidRunThenRetry('exit', messageFor, stall + 60_000);
  }, 400_000);

  it('a worker that throws while idle: no error is shown, and the next run completes on a fresh worker', async () => {
    const { page, errors, workers } = await open(app, SMALL);
    await expectSimulateNumbers(page);
    expect(await page.evaluate(() => window.__initscopeFaults!.crash('throw'))).toBe(true);
    // The client terminates the worker when its error event arrives; by then the fault is handled.
    await expect.poll(() => workers.ended.has(workers.made[0])).toBe(true);
    expect(await page.getByRole('alert').count()).toBe(0);
    expect(await page.getByTestId('run-done').count()).toBe(1);
    // No live worker now: nothing to crash, and nothing is made for it.
    expect(await page.evaluate(() => window.__initscopeFaults!.crash('throw'))).toBe(false);
    expect(workers.made).toHaveLength(1);

    await page.getByRole('button', { name: 'New seed' }).click();
    await expectSimulateNumbers(page);
    expect(await page.getByRole('alert').count()).toBe(0);
    expect(workers.made).toHaveLength(2);
    expect(errors).toEqual([]);
    await page.close();
  }, 300_000);

  it('a worker that closes itself while idle is replaced at the next run, unseen: it does not accept the run, a fresh worker computes it', async () => {
    // A worker that closed itself sends no event; an idle live one accepts a run at once (ACCEPT_MS).
    const { page, errors, workers } = await open(app, SMALL);
    await expectSimulateNumbers(page);
    expect(await page.evaluate(() => window.__initscopeFaults!.crash('exit'))).toBe(true);
    await expect.poll(() => workers.ended.has(workers.made[0])).toBe(true);
    expect(await page.getByRole('alert').count()).toBe(0);

    const t = performance.now();
    await page.getByRole('button', { name: 'New seed' }).click();
    await expectSimulateNumbers(page);
    timings['idle exit: next run complete'] = performance.now() - t;
    expect(await page.getByRole('alert').count()).toBe(0);
    expect(workers.made).toHaveLength(2);
    expect(errors).toEqual([]);
    await page.close();
  }, 300_000);
});
