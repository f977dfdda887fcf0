/**
 * End-to-end harness: builds the site once into a temporary folder, serves it with vite preview on
 * a free loopback port, and drives Debian's chromium through playwright-core.
 */
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { build, preview, type PreviewServer } from 'vite';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { main as simulateMain } from '../../src/cli/simulate';
import { formatPercent, formatValue } from '../../src/charts/numbers';

/** Where screenshots go (ignored by git): look at them before calling a UI change done. */
export const SCREENSHOTS = resolve(__dirname, '../../screenshots');

const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** A served build and a browser. */
export interface App {
  url: string;
  context: BrowserContext;
  close(): Promise<void>;
}

/** Debian's chromium with a fresh profile, a 1280x720 viewport, downloads accepted. */
export async function launchBrowser(): Promise<{ context: BrowserContext; profile: string }> {
  const profile = mkdtempSync(join(tmpdir(), 'initscope-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    args: ARGS,
    acceptDownloads: true,
    viewport: { width: 1280, height: 720 },
  });
  mkdirSync(SCREENSHOTS, { recursive: true });
  return { context, profile };
}

/** Options of `startApp`. */
export interface StartOptions {
  /** The vite mode to build in: vite's default (`production`) unless given; `faults` adds the fault hooks (src/ui/testHooks.ts). */
  mode?: string;
}

/**
 * Builds the site into `outDir` as users get it. vitest sets NODE_ENV=test, which would make vite
 * bundle React's development build (slower, and not what is published): production for the build.
 */
export async function buildSite(outDir: string, mode?: string): Promise<void> {
  const nodeEnv = process.env.NODE_ENV;
  process.env.NODE_ENV = 'production';
  try {
    await build({ root: resolve(__dirname, '../..'), logLevel: 'warn', mode, build: { outDir, emptyOutDir: true } });
  } finally {
    process.env.NODE_ENV = nodeEnv;
  }
}

/** Builds and serves the site and opens a browser on it. */
export async function startApp(options: StartOptions = {}): Promise<App> {
  const root = resolve(__dirname, '../..');
  const outDir = mkdtempSync(join(tmpdir(), 'initscope-dist-'));
  await buildSite(outDir, options.mode);
  const server: PreviewServer = await preview({ root, logLevel: 'warn', build: { outDir }, preview: { host: '127.0.0.1', port: 0, strictPort: false } });
  const address = server.httpServer.address();
  const port = typeof address === 'object' && address ? address.port : 4173;
  const { context, profile } = await launchBrowser();
  return {
    url: `http://127.0.0.1:${port}/`,
    context,
    async close() {
      await context.close();
      await new Promise<void>((done) => server.httpServer.close(() => done()));
      rmSync(outDir, { recursive: true, force: true });
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/**
 * Opens a page and collects its console errors and uncaught exceptions; `beforeLoad` gets the page
 * before it loads, to listen for what happens during the load (its first worker, say).
 */
export async function openPage(app: App, hash: string, beforeLoad?: (page: Page) => void | Promise<void>): Promise<{ page: Page; errors: string[] }> {
  const page = await app.context.newPage();
  await beforeLoad?.(page);
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(`${app.url}#${hash}`);
  return { page, errors };
}

/** True for the page's engine worker (its file is engine.worker-<hash>.js), not the pool workers a large run starts inside it. */
export function isEngineWorker(url: string): boolean {
  return /\/engine\.worker[-.]/.test(url);
}

/** Waits until the current run has finished (every layer, forward and backward). */
export async function waitDone(page: Page, timeout = 240_000): Promise<void> {
  await page.getByTestId('run-done').waitFor({ timeout });
}

/** The per-layer statistics table as text cells, one array per body row. */
export async function tableRows(page: Page): Promise<string[][]> {
  const table = page.getByRole('table', { name: 'Per-layer statistics' });
  return table.locator('tbody tr').evaluateAll((rows) => rows.map((r) => Array.from(r.querySelectorAll('th, td'), (c) => (c.textContent ?? '').trim())));
}

/**
 * The per-layer statistics table as `simulate` prints it for `link`: the rows `tableRows` must read
 * once the page has computed that link (the charts' own number formats, A's columns then B's).
 */
export function expectedRows(link: string): string[][] {
  let out = '';
  if (simulateMain([link], (s) => (out += s), () => {}) !== 0) throw new Error(`simulate refused ${link}`);
  const runs: { layers: Record<string, any>[] }[] = JSON.parse(out).runs;
  return runs[0].layers.map((_, i) => [
    String(i + 1),
    ...runs.flatMap((r) => {
      const l = r.layers[i];
      return [String(l.fanIn), formatValue(l.weight.std), formatValue(l.pre.variance), formatValue(l.theory.preVariance), formatPercent(l.post.zeroFraction), formatValue(l.gradient.meanSquare)];
    }),
  ]);
}
