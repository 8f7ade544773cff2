import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterEach, describe, expect, it } from 'vitest';
import { Metrics, registerBuiltins } from '../../src';
import { serveMetrics, type MetricsServer } from '../../src/http';
import { missingPeer } from '../helpers/peers';
import { tempDir, tempRegionPath } from '../helpers/regions';

const CHROMIUM = '/usr/bin/chromium';
// The machine's Chromium, headless, talking to nothing but the page's server.
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
/** Where the screenshot goes: kept after the test for a person to look at. */
const SCREENSHOT = path.join(process.env.SHMETRICS_ARTIFACTS ?? os.tmpdir(), 'shmetrics-status-page.png');

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const noChromium = missingPeer('chromium', fs.existsSync(CHROMIUM), 'apt-get install chromium');

async function browser(): Promise<{ context: BrowserContext; page: Page; requests: string[]; problems: string[] }> {
  const context = await chromium.launchPersistentContext(tempDir('chromium-profile'), {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1280, height: 860 },
  });
  cleanups.push(() => context.close());
  const page = context.pages()[0] ?? (await context.newPage());
  const requests: string[] = [];
  const problems: string[] = [];
  page.on('request', (r) => requests.push(r.url()));
  page.on('console', (msg) => {
    if (msg.type() === 'error' || msg.type() === 'warning') problems.push(msg.text());
  });
  page.on('pageerror', (error) => problems.push(error.message));
  return { context, page, requests, problems };
}

describe.skipIf(noChromium)('the /status page in headless Chromium', () => {
  it('shows the metric tree with live values and sparklines, updates itself, and loads nothing from elsewhere', async () => {
    const m = Metrics.open({ path: tempRegionPath('page') });
    cleanups.push(() => m.close());
    const requests = m.counter('app.requests');
    const queue = m.gauge('app.queue');
    const latency = m.histogram('app.latency', 'exponential:100:2:12');
    m.define('name=app.huge,initial_value=9223372036854775807');
    registerBuiltins(m, { workers: 1 });
    let tick = 0;
    const load = setInterval(() => {
      tick++;
      requests.inc(7 + (tick % 5));
      queue.set(20 + Math.round(15 * Math.sin(tick / 4)));
      for (let i = 0; i < 10; i++) latency.observe(150 + ((tick * 37 + i * 91) % 3000));
    }, 100);
    cleanups.push(() => clearInterval(load));
    const server: MetricsServer = await serveMetrics(m, { address: '127.0.0.1:0', historySeconds: 60, log: () => {} });
    cleanups.push(() => server.close());

    const { page, requests: seen, problems } = await browser();
    await page.goto(`${server.url}status`);
    const value = page.locator('[data-name="app.requests"] .value');
    await expect.poll(() => value.textContent()).toMatch(/^[0-9,]+$/);
    expect(await value.isVisible()).toBe(true);
    expect(await page.locator('[data-name="app.requests"] .type').textContent()).toBe('counter');
    expect(await page.locator('[data-name="app.queue"] .type').textContent()).toBe('gauge');
    expect(await page.locator('[data-name="app.latency"] .type').textContent()).toBe('histogram');
    expect(await page.locator('[data-name="worker.1.requests"]').isVisible()).toBe(true);
    // int64 shown with every digit, though a JavaScript Number cannot hold it.
    expect(await page.locator('[data-name="app.huge"] .value').textContent()).toBe('9,223,372,036,854,775,807');

    // Updating itself: the value shown grows, the sparkline fills, the rate shows.
    const first = Number((await value.textContent())!.replace(/,/g, ''));
    await expect.poll(async () => Number((await value.textContent())!.replace(/,/g, '')), { timeout: 10_000 }).toBeGreaterThan(first);
    await expect
      .poll(async () => Number(await page.locator('[data-name="app.requests"] svg').getAttribute('data-points')), { timeout: 15_000 })
      .toBeGreaterThanOrEqual(4);
    expect(await page.locator('[data-name="app.requests"] .rate').textContent()).toMatch(/\/s$/);
    expect(await page.locator('[data-name="app.latency"] .extra').textContent()).toMatch(/^p50 [0-9,]+ · p99 [0-9,]+/);
    expect(await page.locator('#state').textContent()).toBe('live');
    // The page asks only for the newest points each second; what it has put together is the server's whole history.
    const full = (await (await fetch(`${server.url}status/app.queue?format=json&history=1`)).json()) as {
      tree: { metric: { history: { points: unknown[] } } };
    };
    const held = Number(await page.locator('[data-name="app.queue"] svg').getAttribute('data-points'));
    expect(Math.abs(held - full.tree.metric.history.points.length)).toBeLessThanOrEqual(1);

    await page.screenshot({ path: SCREENSHOT });
    process.stderr.write(`status page screenshot: ${SCREENSHOT}\n`);
    expect(fs.readFileSync(SCREENSHOT).subarray(1, 4).toString()).toBe('PNG');

    // A subtree through its link, then the JSON formats the header links to.
    await page.locator('summary a', { hasText: 'app' }).first().click();
    await page.waitForURL(`${server.url}status/app`);
    await expect.poll(() => page.locator('.row').count()).toBe(4);
    expect(await page.locator('#crumbs').textContent()).toBe(' / app');
    await page.locator('#json').click();
    await page.waitForURL(`${server.url}status/app?format=prettyjson`);
    const shown = JSON.parse((await page.locator('body').textContent())!);
    expect(shown.prefix).toBe('app');
    expect(Object.keys(shown.tree.children)).toEqual(['requests', 'queue', 'latency', 'huge']);
    await page.goto(`${server.url}status/app.requests?format=json`);
    expect(JSON.parse((await page.locator('body').textContent())!).tree.metric.type).toBe('counter');

    const origin = new URL(server.url).origin;
    expect(seen.filter((url) => !url.startsWith(origin))).toEqual([]);
    expect(problems).toEqual([]);
  });

  it('says so when the server goes away, and recovers when it is back on the same port', async () => {
    const m = Metrics.open({ path: tempRegionPath('page-down') });
    cleanups.push(() => m.close());
    const c = m.counter('n');
    c.inc(1);
    const server = await serveMetrics(m, { address: '127.0.0.1:0', log: () => {} });
    const { page } = await browser();
    await page.goto(`${server.url}status/`);
    await expect.poll(() => page.locator('#state').textContent()).toBe('live');
    await server.close();
    await expect.poll(() => page.locator('#state').textContent(), { timeout: 10_000 }).toMatch(/^disconnected/);
    c.inc(41);
    const again = await serveMetrics(m, { address: `127.0.0.1:${server.port}`, log: () => {} });
    cleanups.push(() => again.close());
    await expect.poll(() => page.locator('#state').textContent(), { timeout: 10_000 }).toBe('live');
    await expect.poll(() => page.locator('[data-name="n"] .value').textContent()).toBe('42');
  });
});
