// The web UI in a real browser: Debian's chromium driven by playwright-core
// against a running `ctk serve --ui` (tests/test_ui_browser.py starts it with
// one busybox container named `box` and passes the URL):
//   node e2e/run.mjs URL SCREENSHOT_DIR
// Each step prints one line "ok NAME" or "FAIL NAME: why"; the exit code is
// the number of failures. Screenshots of each view go to SCREENSHOT_DIR.
// "checkpoint NAME" waits for a line on stdin: the test checks the container
// from outside (ctk exec) before the page stops and removes it.
import { chromium } from 'playwright-core';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

const [url, shots] = process.argv.slice(2);
if (!url || !shots) {
  console.error('usage: node e2e/run.mjs URL SCREENSHOT_DIR');
  process.exit(2);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  // Root has no user namespace sandbox here; the page is ctk's own.
  args: ['--no-sandbox'],
});
const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
const origin = new URL(url).origin;
const foreign = [];
page.on('request', (r) => {
  if (!r.url().startsWith(origin) && !r.url().startsWith('data:')) foreign.push(r.url());
});
const pageErrors = [];
page.on('pageerror', (e) => pageErrors.push(String(e)));

let failures = 0;
async function step(name, fn) {
  try {
    await fn();
    console.log(`ok ${name}`);
  } catch (e) {
    failures++;
    console.log(`FAIL ${name}: ${String(e.message || e).split('\n')[0]}`);
  }
  await page.screenshot({ path: join(shots, `${name}.png`) }).catch(() => {});
}

const stdinLines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
async function checkpoint(name) {
  console.log(`checkpoint ${name}`);
  await stdinLines.next();
}

const row = page.locator('[data-test="container-row"][data-name="box"]');
// The terminal's screen as text (xterm's DOM renderer keeps one row per line).
const screen = () => page.locator('[data-test="terminal"] .xterm-rows').innerText();

await step('list', async () => {
  await page.goto(url);
  await row.waitFor({ timeout: 30000 });
  const state = await row.getAttribute('data-state');
  if (state !== 'running') throw new Error(`box is ${state}`);
});

await step('terminal', async () => {
  await row.locator('[data-test="container-link"]').click();
  await page.locator('[data-test="tab-terminal"]').click();
  const term = page.locator('[data-test="terminal"]');
  await term.waitFor();
  await page.waitForFunction(() => document.querySelector('[data-test="terminal"] .xterm-rows')?.textContent?.includes('#'),
    null, { timeout: 30000 });
  await term.click();
  await page.keyboard.type('echo $((6*7))');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => /^42\s*$/m.test(document.querySelector('[data-test="terminal"] .xterm-rows')?.innerText ?? ''),
    null, { timeout: 30000 });
});

await step('terminal-interrupt', async () => {
  await page.keyboard.type('sleep 1000');
  await page.keyboard.press('Enter');
  await page.waitForTimeout(1000);
  await page.keyboard.press('Control+C');
  await page.keyboard.type('echo back-$((1+1))');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => /^back-2\s*$/m.test(document.querySelector('[data-test="terminal"] .xterm-rows')?.innerText ?? ''),
    null, { timeout: 30000 });
  if (!(await screen()).includes('^C')) throw new Error('no ^C on the screen');
  // For the process list to kill.
  await page.keyboard.type('sleep 4242 &');
  await page.keyboard.press('Enter');
});

await step('files', async () => {
  await page.locator('[data-test="tab-files"]').click();
  const etc = page.locator('[data-test="file-row"][data-name="etc"]');
  await etc.waitFor({ timeout: 30000 });
  await etc.locator('[data-test="file-open"]').click();
  const passwd = page.locator('[data-test="file-row"][data-name="passwd"]');
  await passwd.waitFor({ timeout: 30000 });
  await passwd.locator('[data-test="file-open"]').click();
  const view = page.locator('[data-test="file-view"]');
  await view.waitFor({ timeout: 30000 });
  if (!(await view.innerText()).includes('root:x:0:0')) throw new Error(`/etc/passwd reads ${await view.innerText()}`);
  await page.locator('[data-test="viewer-close"]').click();
});

// tests/test_ui_browser.py finds the file with ctk exec.
await step('upload', async () => {
  await page.locator('[data-test="file-path"]').fill('/tmp');
  await page.locator('[data-test="file-path"]').press('Enter');
  await page.locator('[data-test="upload"]').setInputFiles({
    name: 'uploaded.txt', mimeType: 'text/plain', buffer: Buffer.from('from the browser\n'),
  });
  await page.locator('[data-test="file-row"][data-name="uploaded.txt"]').waitFor({ timeout: 30000 });
});

await step('processes', async () => {
  await page.locator('[data-test="tab-processes"]').click();
  const sleeper = page.locator('[data-test="process-row"]', { hasText: 'sleep 100000' });
  await sleeper.first().waitFor({ timeout: 30000 });
  // The terminal's shell started a second sleep to kill here.
  const victim = page.locator('[data-test="process-row"]', { hasText: 'sleep 4242' });
  await victim.first().waitFor({ timeout: 30000 });
  await victim.first().locator('[data-test="kill-process"]').click();
  await page.locator('[data-test="confirm"]').click();
  await victim.first().waitFor({ state: 'detached', timeout: 30000 });
});

await step('logs', async () => {
  await page.locator('[data-test="tab-logs"]').click();
  await page.locator('[data-test="log-line"][data-stream="stdout"]', { hasText: 'hello from box' }).waitFor({ timeout: 30000 });
  await page.locator('[data-test="log-line"][data-stream="stderr"]', { hasText: 'to stderr' }).waitFor({ timeout: 30000 });
});

await checkpoint('outside');

await step('stop-and-remove', async () => {
  await page.locator('[data-test="stop"]').first().click();
  await page.goto(origin + '/#/containers');
  await page.locator('[data-test="container-row"][data-name="box"][data-state="exited"]').waitFor({ timeout: 60000 });
  await row.locator('[data-test="remove"]').click();
  await page.locator('[data-test="confirm"]').click();
  await row.waitFor({ state: 'detached', timeout: 60000 });
});

await step('no-foreign-requests', async () => {
  if (foreign.length) throw new Error(`requests outside ${origin}: ${foreign.join(' ')}`);
  if (pageErrors.length) throw new Error(`page errors: ${pageErrors.join(' | ')}`);
});

await browser.close();
process.exit(failures);
