// bench/ui's browser half: Debian's chromium through playwright-core against
// a running `ctk serve --ui` that has a running container named `box`:
//   node e2e/bench.mjs URL LOADS RUNS
// Prints "metric NAME VALUE" lines:
//   load-ms        a cold page load (a fresh browser context each time: no
//                  cache, no cookie; the token exchange included) until the
//                  list shows `box` and the live events are connected
//   load-bytes     bytes the first load received (headers and encoded bodies)
//   form-run-ms    the run form's "Run" (busybox sleep, a new name each time)
//                  until the page says it runs
// Before each form run it prints "checkpoint cli" and waits for a line on
// stdin (bench/ui times `ctk run -d` of the same container then, so the two
// alternate), and after it "checkpoint cleanup NAME".
import { chromium } from 'playwright-core';
import { createInterface } from 'node:readline';

const [url, loads, runs] = process.argv.slice(2);
if (!url || !loads || !runs) {
  console.error('usage: node e2e/bench.mjs URL LOADS RUNS');
  process.exit(2);
}
const origin = new URL(url).origin;
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', args: ['--no-sandbox'] });
const stdinLines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
const checkpoint = async (what) => {
  console.log(`checkpoint ${what}`);
  await stdinLines.next();
};

for (let i = 0; i < Number(loads); i++) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  let bytes = 0;
  page.on('requestfinished', async (request) => {
    const sizes = await request.sizes().catch(() => undefined);
    if (sizes) bytes += sizes.responseHeadersSize + sizes.responseBodySize;
  });
  const started = Date.now();
  await page.goto(url);
  await page.locator('[data-test="container-row"][data-name="box"]').waitFor({ timeout: 60000 });
  await page.locator('[data-test="events-state"][data-state="live"]').waitFor({ timeout: 60000 });
  console.log(`metric load-ms ${Date.now() - started}`);
  // Requests still finishing are counted once they have.
  await page.waitForTimeout(200);
  if (i === 0) console.log(`metric load-bytes ${bytes}`);
  await context.close();
}

const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
const page = await context.newPage();
await page.goto(url);
for (let i = 0; i < Number(runs); i++) {
  await checkpoint('cli');
  await page.goto(`${origin}/#/run`);
  await page.locator('[data-test="run-image"]').fill('busybox');
  await page.locator('[data-test="run-cmd"]').fill('sleep 100000');
  await page.locator('[data-test="run-name"]').fill(`ui-run-${i}`);
  const started = Date.now();
  await page.locator('[data-test="run-submit"]').click();
  // Once it runs, the form moves on to its logs.
  await page.waitForURL(/#\/containers\/[0-9a-f]+\/logs$/, { timeout: 120000 });
  console.log(`metric form-run-ms ${Date.now() - started}`);
  await checkpoint(`cleanup ui-run-${i}`);
}
await browser.close();
// stdin's reader would keep node running.
process.exit(0);
