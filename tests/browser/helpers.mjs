// What the console's browser tests share: Debian's Chromium driven by playwright-core (no
// downloaded browser), signing in as someone, screenshots of a page at 360 and 1280 px,
// axe-core over every page, the database and the SMTP sink's Maildir.
//
// The environment comes from tests/integration/t0015-console.sh: BASE (the daemon),
// TOCSIN (the binary), TOCSIN_DATABASE_URL, PGBIN, MAILDIR (the sink), SPOOL (SMS files),
// SCREENSHOTS (the directory for the PNGs).
import { createRequire } from 'node:module';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import assert from 'node:assert/strict';

const require = createRequire(new URL('../../web/package.json', import.meta.url));
const { chromium } = require('playwright-core');
const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

export const BASE = process.env.BASE;
export const SCREENSHOTS = process.env.SCREENSHOTS;

// Without the background-networking flags Chromium's own connections are refused here,
// many at a time; a fresh profile directory per run.
export async function launch() {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--headless', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--disable-dev-shm-usage'],
  });
}

export function tocsin(...args) {
  return execFileSync(process.env.TOCSIN, args, { env: process.env, stdio: ['ignore', 'pipe', 'pipe'] })
    .toString().trim();
}

export function sql(query) {
  return execFileSync(join(process.env.PGBIN, 'psql'),
    ['-X', '-q', '-t', '-A', '-v', 'ON_ERROR_STOP=1', '-d', process.env.TOCSIN_DATABASE_URL, '-c', query],
    { stdio: ['ignore', 'pipe', 'pipe'] }).toString().trim();
}

// A page that fails the test on a dialog (an alert() of injected script) or a script error.
export async function newPage(context, problems) {
  const page = await context.newPage();
  page.on('dialog', async (d) => { problems.push(`dialog: ${d.message()}`); await d.dismiss(); });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && /Content Security Policy|Refused/.test(m.text())) problems.push(`csp on ${page.url()}: ${m.text()}`);
  });
  return page;
}

// Sign in with a one-time link, as `tocsin user login-link` prints it: the page asks,
// the button signs in, its link opens the console.
export async function signInWithLink(page, contact) {
  const link = tocsin('user', 'login-link', contact);
  const path = new URL(link).pathname;
  await page.goto(BASE + path);
  await page.getByRole('button').click();
  await page.getByRole('link', { name: /console/i }).click();
  await page.waitForURL(BASE + '/admin/');
}

// Every serious or critical axe-core violation on the page, as text.
export async function axeProblems(page) {
  if (!(await page.evaluate(() => typeof window.axe !== 'undefined'))) {
    // Evaluated through the DevTools protocol, which the page's CSP does not govern: a
    // <script> tag with axe inline would be refused (and must be).
    await page.evaluate(axeSource);
  }
  const result = await page.evaluate(async () => window.axe.run(document, { resultTypes: ['violations'] }));
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', ')}`);
}

// A screenshot of the page as it is at 360 and 1280 px, and axe at both widths.
export const axeReport = [];
export async function look(page, name) {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const url = page.url();
  for (const width of [360, 1280]) {
    await page.setViewportSize({ width, height: 900 });
    await page.waitForTimeout(50);
    // caret: 'initial', or Playwright injects a <style> to hide the caret, which the CSP refuses.
    await page.screenshot({ path: join(SCREENSHOTS, `${name}-${width}.png`), fullPage: true, caret: 'initial' });
    for (const p of await axeProblems(page)) axeReport.push(`${name} @${width}px (${url}): ${p}`);
    const wide = await page.evaluate(() => document.documentElement.scrollWidth);
    if (wide > width) axeReport.push(`${name} @${width}px (${url}): the page is ${wide} px wide (it scrolls sideways)`);
  }
}

// Messages the SMTP sink delivered, as text.
export function delivered() {
  const dir = join(process.env.MAILDIR, 'new');
  if (!existsSync(dir)) return [];
  return readdirSync(dir).map((f) => readFileSync(join(dir, f), 'latin1'));
}

export async function until(what, fn, seconds = 20) {
  const end = Date.now() + seconds * 1000;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

// The SMS the spool transport wrote to a number, newest last.
export function smsTo(number) {
  const dir = join(process.env.SPOOL, 'sms');
  if (!existsSync(dir)) return [];
  return readdirSync(dir).sort((a, b) => parseInt(a) - parseInt(b))
    .map((f) => readFileSync(join(dir, f), 'utf8'))
    .filter((t) => t.includes(`To: ${number}\n`));
}
