/**
 * The built site as a teacher publishes it: copied under a sub-path of a plain static server, it
 * works and asks for nothing outside itself; the exports download what the page shows, in
 * simulate's schema; the dark theme follows the system.
 */
import { createServer, type Server } from 'node:http';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { extname, join, normalize } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrowserContext } from 'playwright-core';
import { main } from '../../src/cli/simulate';
import { buildSite, launchBrowser, SCREENSHOTS } from './harness';

const SUB = '/teaching/initscope/';
const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.wasm': 'application/wasm', '.svg': 'image/svg+xml' };
const LINK = 'v=1&net=mlp&in=64&depth=5&width=64&n=32&init=lecun_normal&seed=publish&b.init=he_normal';

describe('the published site', () => {
  let dist: string;
  let server: Server;
  let base: string;
  let context: BrowserContext;
  let profile: string;

  beforeAll(async () => {
    dist = mkdtempSync(join(tmpdir(), 'initscope-site-'));
    await buildSite(dist);
    // A plain static host: files under SUB, nothing else, no special headers.
    server = createServer((req, res) => {
      const path = decodeURIComponent((req.url ?? '/').split('?')[0]);
      if (!path.startsWith(SUB)) {
        res.writeHead(404).end();
        return;
      }
      let file = normalize(join(dist, path.slice(SUB.length)));
      if (!file.startsWith(dist)) return void res.writeHead(403).end();
      try {
        if (statSync(file).isDirectory()) file = join(file, 'index.html');
        res.writeHead(200, { 'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream' }).end(readFileSync(file));
      } catch {
        res.writeHead(404).end();
      }
    });
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    const address = server.address();
    base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}${SUB}`;
    ({ context, profile } = await launchBrowser());
  }, 180_000);

  afterAll(async () => {
    await context?.close();
    await new Promise<void>((done) => (server ? server.close(() => done()) : done()));
    rmSync(dist, { recursive: true, force: true });
    rmSync(profile, { recursive: true, force: true });
  });

  it('works under a sub-path, makes no request outside itself, and exports what it shows', async () => {
    const page = await context.newPage();
    const outside: string[] = [];
    const errors: string[] = [];
    page.on('request', (r) => {
      if (!r.url().startsWith(base) && !r.url().startsWith('data:') && !r.url().startsWith('blob:')) outside.push(r.url());
    });
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(`${base}#${LINK}`);
    await page.getByTestId('run-done').waitFor({ timeout: 120_000 });
    expect(outside).toEqual([]);

    await page.getByText('Export', { exact: true }).click();
    const save = async (name: RegExp) => {
      const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name }).first().click()]);
      return readFileSync((await download.path())!);
    };
    const json = JSON.parse(String(await save(/^Results \(JSON\)$/)));
    let expected = '';
    main([LINK], (s) => (expected = s), () => {});
    expect(json).toEqual(JSON.parse(expected));

    const csv = String(await save(/^Table \(CSV\)$/)).trim().split('\n');
    expect(csv).toHaveLength(6);
    expect(csv[0]).toMatch(/^layer,A_fan_in,.*B_fan_in/);
    expect(Number(csv[1].split(',')[4])).toBe(json.runs[0].layers[0].pre.variance);

    const svg = String(await save(/^SVG$/));
    expect(svg).toMatch(/^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    expect(svg).toContain('Variance and gradient by depth');
    expect(svg).toContain('layer');
    expect(svg).toContain('Var[y]');
    const png = await save(/^PNG$/);
    expect(png.subarray(1, 4).toString()).toBe('PNG');
    expect(png.readUInt32BE(16)).toBeGreaterThan(600);
    expect(errors).toEqual([]);
    await page.close();
  }, 180_000);

  it('follows a dark system theme', async () => {
    const page = await context.newPage();
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.goto(`${base}#${LINK}`);
    await page.getByTestId('run-done').waitFor({ timeout: 120_000 });
    const bg = await page.evaluate(() => getComputedStyle(document.documentElement).backgroundColor);
    const [r, g, b] = bg.match(/\d+/g)!.map(Number);
    expect(r + g + b).toBeLessThan(150);
    await page.screenshot({ path: join(SCREENSHOTS, 'dark.png') });
    await page.close();
  }, 180_000);
});
