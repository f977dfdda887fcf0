/**
 * The app in a real Chromium: links load, every layer is drawn, the numbers equal `simulate`'s for
 * the same link, edits change them, copied links reproduce them, and the console stays clean.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { main } from '../../src/cli/simulate';
import { formatPercent, formatValue } from '../../src/charts/numbers';
import { PRESETS } from '../../src/ui/presets';
import { openPage, SCREENSHOTS, startApp, tableRows, waitDone, type App } from './harness';

/** simulate's JSON for a link, run in this process. */
function simulate(link: string): { runs: { layers: Record<string, any>[] }[] } {
  let out = '';
  const code = main([link], (s) => (out += s), () => {});
  expect(code).toBe(0);
  return JSON.parse(out);
}

/** The table cells the app must show for simulate's JSON: layer, then per run fan-in, weight std, pre var, theory, zeros, gradient. */
function expectedRows(json: ReturnType<typeof simulate>): string[][] {
  const depth = json.runs[0].layers.length;
  return Array.from({ length: depth }, (_, i) => [
    String(i + 1),
    ...json.runs.flatMap((r) => {
      const l = r.layers[i];
      return [String(l.fanIn), formatValue(l.weight.std), formatValue(l.pre.variance), formatValue(l.theory.preVariance), formatPercent(l.post.zeroFraction), formatValue(l.gradient.meanSquare)];
    }),
  ]);
}

async function histogramCells(page: Page): Promise<number> {
  return page.locator('svg[role="img"][aria-label^="Layer "]').count();
}

const SMALL = 'v=1&net=mlp&in=128&depth=12&width=128&act=relu&init=lecun_normal&n=64&nets=2&seed=e2e&b.init=he_normal';
const timings: Record<string, number> = {};

describe('the app in Chromium', () => {
  let app: App;
  beforeAll(async () => {
    app = await startApp();
  }, 180_000);
  afterAll(async () => {
    writeFileSync(join(SCREENSHOTS, 'timings.json'), JSON.stringify(timings, null, 2));
    await app?.close();
  });

  it('the first screen tells the wscale story without a click', async () => {
    const { page, errors } = await openPage(app, '');
    await expect.poll(() => page.url()).toContain('b.init=wscale');
    await page.getByRole('heading', { name: 'HeNormal() or wscale=sqrt(2)?' }).waitFor();
    await expect.poll(() => page.getByText('name the initializer explicitly', { exact: false }).count()).toBeGreaterThan(0);
    await waitDone(page);
    expect(await histogramCells(page)).toBe(30);
    // B's explanation line carries the live factor of the v1.9 rule.
    await expect.poll(() => page.getByText('= 0.707; after 30 layers it is 4.32e-5 of layer 1').count()).toBe(1);
    await page.screenshot({ path: join(SCREENSHOTS, 'first-screen.png') });
    expect(errors).toEqual([]);
    await page.close();
  }, 300_000);

  it('a preset link draws every layer, and the table equals simulate for it', async () => {
    const preset = PRESETS.find((p) => p.id === 'relu-sqrt2')!;
    const { page, errors } = await openPage(app, preset.link);
    await waitDone(page);
    expect(await histogramCells(page)).toBe(30);
    expect(await tableRows(page)).toEqual(expectedRows(simulate(preset.link)));
    await page.screenshot({ path: join(SCREENSHOTS, 'preset-relu-sqrt2.png') });
    expect(errors).toEqual([]);
    await page.close();
  }, 300_000);

  it('changing the initializer changes the numbers and the link; copy link reproduces them elsewhere', async () => {
    const { page, errors } = await openPage(app, SMALL);
    await waitDone(page);
    const before = await tableRows(page);
    expect(before).toEqual(expectedRows(simulate(SMALL)));

    const t0 = Date.now();
    await page.getByLabel('Initializer', { exact: true }).selectOption({ label: 'GlorotUniform(scale)' });
    const firstCell = () => tableRows(page).then((rows) => rows[0][3]);
    await expect.poll(firstCell, { timeout: 60_000 }).not.toBe(before[0][3]);
    timings.smallFirstLayerMs = Date.now() - t0;
    await waitDone(page);
    timings.smallLastLayerMs = Date.now() - t0;
    const hash = new URL(page.url()).hash.slice(1);
    expect(hash).toContain('init=glorot_uniform');
    const after = await tableRows(page);
    expect(after).not.toEqual(before);
    expect(after).toEqual(expectedRows(simulate(hash)));

    await page.getByRole('button', { name: 'Copy link' }).click();
    const copied = (await page.getByTestId('copied-link').textContent())!.replace(/^Copied: /, '');
    expect(copied).toContain('#v=1&');
    const other = await app.context.newPage();
    await other.goto(copied);
    await waitDone(other);
    expect(await tableRows(other)).toEqual(after);
    await other.close();
    expect(errors).toEqual([]);
    await page.close();
  }, 300_000);

  it('a bad link shows a notice naming each bad key, and the rest of it applies', async () => {
    const { page, errors } = await openPage(app, 'v=1&depth=abc&act=relux&width=32&in=32&n=16&bogus=1');
    const notice = page.getByRole('alert', { name: 'Problems with the configuration' });
    await notice.waitFor();
    const text = (await notice.textContent()) ?? '';
    expect(text).toContain('depth: "abc"');
    expect(text).toContain('act: relux');
    expect(text).toContain('bogus: unknown key');
    await waitDone(page);
    // width=32 still applied: the table shows fan-in 32 from layer 2 on.
    expect((await tableRows(page))[1][1]).toBe('32');
    expect(errors).toEqual([]);
    await page.close();
  }, 300_000);

  it('records the time from a control change to the first and the last layer drawn (default and large runs)', async () => {
    for (const [name, link] of [
      ['default', 'v=1&net=mlp&in=512&depth=30&width=512&act=relu&init=lecun_normal&n=256'],
      ['large', 'v=1&net=mlp&in=1024&depth=50&width=1024&act=relu&init=lecun_normal&n=1024'],
    ] as const) {
      const { page, errors } = await openPage(app, link);
      await waitDone(page, 600_000);
      const before = await tableRows(page);
      // Timed inside the page (Playwright's polling would add up to 0.5 s): from the select's change
      // event to the frame after the DOM mutations that show the first layer's new numbers, and
      // the run's end, were painted (a task queued from the next animation frame runs after it).
      await page.evaluate((cell) => {
        const w = window as unknown as { __timing: { change?: number; first?: number; last?: number } };
        w.__timing = {};
        const select = [...document.querySelectorAll('label')].find((l) => l.textContent?.trim() === 'Initializer')?.control;
        select?.addEventListener('change', () => (w.__timing.change = performance.now()), { once: true });
        let seenFirst = false;
        let seenLast = false;
        const painted = (key: 'first' | 'last') => requestAnimationFrame(() => setTimeout(() => (w.__timing[key] = performance.now())));
        new MutationObserver(() => {
          if (w.__timing.change === undefined) return;
          const table = [...document.querySelectorAll('table')].find((x) => x.caption?.textContent?.trim() === 'Per-layer statistics');
          const row = table?.querySelector('tbody tr');
          const text = row ? (row.querySelectorAll('th, td')[3]?.textContent ?? '').trim() : cell;
          if (!seenFirst && text !== cell) {
            seenFirst = true;
            painted('first');
          }
          if (seenFirst && !seenLast && document.querySelector('[data-testid="run-done"]') && document.querySelector('progress') === null) {
            seenLast = true;
            painted('last');
          }
        }).observe(document.body, { subtree: true, childList: true, characterData: true });
      }, before[0][3]);
      // The control change: LeCun normal to He normal, the lesson of the first preset.
      await page.getByLabel('Initializer', { exact: true }).selectOption({ label: 'HeNormal(scale, fan_option)' });
      await expect.poll(() => tableRows(page).then((rows) => rows[0][3]), { timeout: 600_000, interval: 20 }).not.toBe(before[0][3]);
      await waitDone(page, 600_000);
      await expect.poll(() => page.evaluate(() => (window as unknown as { __timing: { last?: number } }).__timing.last)).toBeDefined();
      const t = await page.evaluate(() => (window as unknown as { __timing: { change?: number; first?: number; last?: number } }).__timing);
      expect(t.change, 'the change event was seen').toBeDefined();
      expect(t.first, 'the first layer was seen').toBeDefined();
      expect(t.last, 'the end was seen').toBeDefined();
      timings[`${name}FirstLayerMs`] = Math.round(t.first! - t.change!);
      timings[`${name}LastLayerMs`] = Math.round(t.last! - t.change!);
      timings[`${name}Workers`] = Number(/on (\d+) workers/.exec((await page.getByTestId('run-done').textContent()) ?? '')?.[1] ?? 1);
      expect(errors).toEqual([]);
      await page.close();
    }
    console.log('browser timings (ms):', JSON.stringify(timings));
  }, 1_500_000);

  it('back and forward load the configuration they name', async () => {
    const { page, errors } = await openPage(app, SMALL);
    await waitDone(page);
    await page.goto(`${app.url}#v=1&depth=3&width=16&in=16&n=8`);
    await expect.poll(() => tableRows(page).then((r) => r.length)).toBe(3);
    await page.goBack();
    await expect.poll(() => tableRows(page).then((r) => r.length)).toBe(12);
    expect(errors).toEqual([]);
    await page.close();
  }, 300_000);
});
