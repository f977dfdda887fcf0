/**
 * Classroom mode and accessibility in a real Chromium: embed and hide flags, the Present toggle,
 * lessons with Next/Back, and axe-core finding no serious or critical violation.
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { openPage, SCREENSHOTS, startApp, waitDone, type App } from './harness';

const axeSource: string = createRequire(import.meta.url)('axe-core').source;
const SMALL = 'v=1&net=mlp&in=64&depth=6&width=64&n=32&init=lecun_normal&b.init=he_normal';

interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: string[] }[];
}

/** Runs axe-core in the page (evaluate runs outside the page's CSP) and returns serious and critical violations. */
async function seriousViolations(page: Page): Promise<AxeViolation[]> {
  await page.evaluate(axeSource);
  const result = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run(o: object): Promise<{ violations: AxeViolation[] }> } }).axe;
    return axe.run({ resultTypes: ['violations'] });
  });
  return result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}

const brief = (vs: AxeViolation[]) => vs.map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join('; ')}`);

describe('classroom mode and accessibility', () => {
  let app: App;
  beforeAll(async () => {
    app = await startApp();
  }, 180_000);
  afterAll(async () => app?.close());

  for (const [name, hash] of [
    ['main view', 'v=1&net=mlp&in=64&depth=6&width=64&n=32'],
    ['comparison mode', SMALL],
    ['classroom mode', `${SMALL}&embed=1&present=1`],
    ['a CNN with its position map', 'v=1&net=cnn&in=3x12x12&depth=3&width=8&n=8'],
  ] as const) {
    it(`axe finds no serious or critical violation: ${name}`, async () => {
      const { page, errors } = await openPage(app, hash);
      await waitDone(page);
      expect(brief(await seriousViolations(page))).toEqual([]);
      expect(errors).toEqual([]);
      await page.close();
    }, 120_000);
  }

  it('embed=1 hides every control; hide= hides the named panels; the flags stay in the link', async () => {
    const { page, errors } = await openPage(app, `${SMALL}&embed=1`);
    await waitDone(page);
    expect(await page.getByRole('complementary', { name: 'Controls' }).count()).toBe(0);
    expect(await page.getByRole('table', { name: 'Per-layer statistics' }).count()).toBe(1);
    await page.screenshot({ path: join(SCREENSHOTS, 'embed.png') });
    await page.goto(`${app.url}#${SMALL}&hide=init,data`);
    await page.getByRole('complementary', { name: 'Controls' }).waitFor();
    expect(await page.getByLabel('Initializer', { exact: true }).count()).toBe(0);
    expect(await page.getByLabel('Samples n').count()).toBe(0);
    expect(await page.getByLabel('Activation', { exact: true }).count()).toBe(1);
    expect(new URL(page.url()).hash).toContain('hide=init,data');
    expect(errors).toEqual([]);
    await page.close();
  }, 120_000);

  it('Present enlarges the page and travels in the link; lessons step with Next and Back', async () => {
    const { page, errors } = await openPage(app, '');
    const size = () => page.evaluate(() => parseFloat(getComputedStyle(document.querySelector('.app')!).fontSize));
    const before = await size();
    await page.getByRole('button', { name: 'Present' }).click();
    expect(await size()).toBeGreaterThan(before);
    await expect.poll(() => page.url()).toContain('present=1');
    await page.getByRole('button', { name: 'Next' }).click();
    await page.getByRole('heading', { name: /Lesson 2 of \d+: Why ReLU needs sqrt\(2\)/ }).waitFor();
    expect(page.url()).toContain('present=1');
    expect(page.url()).toContain('init=lecun_normal');
    await page.getByRole('button', { name: 'Back' }).click();
    await page.getByRole('heading', { name: /Lesson 1 of/ }).waitFor();
    await page.screenshot({ path: join(SCREENSHOTS, 'present.png') });
    expect(errors).toEqual([]);
    await page.close();
  }, 120_000);

  it('every control is reachable from the keyboard with a visible focus', async () => {
    const { page, errors } = await openPage(app, SMALL);
    await waitDone(page);
    const seen = new Set<string>();
    for (let i = 0; i < 80; i++) {
      await page.keyboard.press('Tab');
      const info = await page.evaluate(() => {
        const el = document.activeElement as HTMLElement | null;
        if (!el || el === document.body) return null;
        const style = getComputedStyle(el);
        const inSvg = el instanceof SVGElement && el.tagName.toLowerCase() !== 'svg';
        // Chart shapes show focus as a thick stroke; everything else as an outline.
        const visible = inSvg ? style.stroke !== 'none' && parseFloat(style.strokeWidth) >= 2 : style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0;
        return { tag: el.tagName, label: el.getAttribute('aria-label') ?? el.id ?? '', outline: visible };
      });
      if (!info) continue;
      expect(info.outline, `${info.tag} ${info.label} shows no focus outline`).toBe(true);
      seen.add(`${info.tag}:${info.label}`);
    }
    expect(seen.size).toBeGreaterThan(20);
    expect(errors).toEqual([]);
    await page.close();
  }, 120_000);
});
