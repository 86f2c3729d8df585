// The web UI in a real browser: Debian's chromium driven by playwright-core
// against a running `ctk serve --ui` (tests/test_ui_browser.py starts it with
// one busybox container named `box` and passes the URL):
//   node e2e/run.mjs URL SCREENSHOT_DIR
// Each step prints one line "ok NAME" or "FAIL NAME: why"; the exit code is
// the number of failures. Screenshots of each view go to SCREENSHOT_DIR.
// "checkpoint NAME" waits for a line on stdin: the test checks the container
// from outside (ctk exec) before the page stops and removes it. $PULL_IMAGE
// names an image the server can pull (from a local registry) for the pull
// step. "metric NAME VALUE" lines report what a step measured.
import { chromium } from 'playwright-core';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
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

// The run form, with a profile: it shows the boot's steps, then follows the
// new container's logs live.
const formRow = page.locator('[data-test="container-row"][data-name="formbox"]');
await step('run-form', async () => {
  await page.locator('[data-test="run"]').click();
  await page.locator('[data-test="run-image"]').fill('busybox');
  await page.locator('[data-test="run-cmd"]').fill('sh -c "httpd -p 8080 -h /etc; i=0; while :; do i=$((i+1)); echo tick-$i; sleep 1; done"');
  await page.locator('[data-test="run-name"]').fill('formbox');
  await page.locator('[data-test="run-ports"]').fill('8080');
  await page.locator('[data-test="run-profile"] option[value="untrusted"]').waitFor({ state: 'attached', timeout: 30000 });
  await page.locator('[data-test="run-profile"]').selectOption('untrusted');
  const toml = await page.locator('[data-test="run-profile-toml"]').innerText();
  if (!toml.includes("network = 'none'")) throw new Error(`the profile shows ${toml}`);
  const started = Date.now();
  await page.locator('[data-test="run-submit"]').click();
  // Once it runs, the form moves on to its logs.
  await page.waitForURL(/#\/containers\/[0-9a-f]+\/logs$/, { timeout: 60000 });
  console.log(`metric run-to-running-ms ${Date.now() - started}`);
});

await step('logs-follow', async () => {
  const tick = page.locator('[data-test="log-line"][data-stream="stdout"]', { hasText: /^.*tick-\d+/ });
  await tick.first().waitFor({ timeout: 30000 });
  const seen = Math.max(...(await tick.allInnerTexts()).map((t) => Number(/tick-(\d+)/.exec(t)?.[1] ?? 0)));
  // Two more lines arrive while the view is open.
  await page.locator('[data-test="log-line"]', { hasText: `tick-${seen + 2}` }).waitFor({ timeout: 30000 });
});

await step('attach', async () => {
  await page.locator('[data-test="tab-attach"]').click();
  await page.locator('[data-test="terminal"]').waitFor();
  await page.waitForFunction(() => /tick-\d+/.test(document.querySelector('[data-test="terminal"] .xterm-rows')?.textContent ?? ''),
    null, { timeout: 30000 });
});

await step('stats', async () => {
  await page.locator('[data-test="tab-stats"]').click();
  await page.waitForFunction(() => {
    const points = document.querySelector('[data-test="cpu-chart"] polyline')?.getAttribute('points') ?? '';
    return points.trim().split(' ').length >= 2 &&
      /%$/.test(document.querySelector('[data-test="cpu-chart-value"]')?.textContent ?? '') &&
      / of /.test(document.querySelector('[data-test="memory-chart-value"]')?.textContent ?? '');
  }, null, { timeout: 30000 });
  // The untrusted profile's 512M limit.
  const memory = await page.locator('[data-test="memory-chart-value"]').innerText();
  if (!/of 512(\.0)? MiB/.test(memory)) throw new Error(`memory reads ${memory}`);
  await page.goto(origin + '/#/containers');
  await formRow.waitFor({ timeout: 30000 });
  if ((await formRow.getAttribute('data-state')) !== 'running') throw new Error('formbox is not listed as running');
  // The list's own CPU and memory columns (sampled every 5 s; CPU from two samples).
  await formRow.locator('[data-test="memory"]', { hasText: /\d/ }).waitFor({ timeout: 30000 });
  await formRow.locator('[data-test="cpu"]', { hasText: /%$/ }).waitFor({ timeout: 30000 });
});

// The published port is a link, and what it links to answers (busybox httpd
// serving the container's /etc through ctk's port forwarding).
await step('port-link', async () => {
  const link = formRow.locator('[data-test="port-link"]');
  await link.waitFor({ timeout: 30000 });
  const href = await link.getAttribute('href');
  if (!/^http:\/\/127\.0\.0\.1:\d+\/$/.test(href ?? '')) throw new Error(`the port links to ${href}`);
  const reply = await fetch(new URL('passwd', href));
  const text = await reply.text();
  if (!text.includes('root:x:0:0')) throw new Error(`${href}passwd answered ${reply.status}: ${text.slice(0, 200)}`);
});

// The list's buttons: kill, start, restart (each through the Docker API).
await step('lifecycle', async () => {
  const state = (wanted) => page.locator('[data-test="container-row"][data-name="formbox"]' + `[data-state="${wanted}"]`);
  await formRow.locator('[data-test="kill"]').click();
  await state('exited').waitFor({ timeout: 60000 });
  await formRow.locator('[data-test="start"]').click();
  await state('running').waitFor({ timeout: 60000 });
  // A restart is a new start: the container's StartedAt moves on.
  const startedAt = async () => (await (await page.request.get(`${origin}/v1.44/containers/formbox/json`)).json()).State.StartedAt;
  const before = await startedAt();
  await formRow.locator('[data-test="restart"]').click();
  for (let i = 0; (await startedAt()) === before; i++) {
    if (i === 120) throw new Error(`StartedAt is still ${before} after the restart`);
    await page.waitForTimeout(500);
  }
  await state('running').waitFor({ timeout: 60000 });
});

// A run that cannot work (a name in use) says why in the server's words, and
// marks the step that failed.
await step('run-error', async () => {
  await page.locator('[data-test="run"]').click();
  await page.locator('[data-test="run-image"]').fill('busybox');
  await page.locator('[data-test="run-cmd"]').fill('true');
  await page.locator('[data-test="run-name"]').fill('box');
  await page.locator('[data-test="run-submit"]').click();
  const error = page.locator('[data-test="error"]');
  await error.waitFor({ timeout: 30000 });
  const text = await error.innerText();
  if (!/box.*already in use/.test(text)) throw new Error(`the error reads ${text}`);
  const failed = page.locator('[data-test="run-step"].failed');
  if ((await failed.count()) !== 1) throw new Error('no failed step in the progress');
  await page.locator('[data-test="error-dismiss"]').click();
  await page.goto(origin + '/#/containers');
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
});

// The shell's terminal follows the window's size.
await step('terminal-resize', async () => {
  let asked = 0;
  const columns = async () => {
    const label = `size${++asked}`;
    await page.keyboard.type(`clear; stty size | sed "s/^/${label}=/"`);
    await page.keyboard.press('Enter');
    const answer = new RegExp(`^${label}=\\d+ (\\d+)\\s*$`, 'm');
    await page.waitForFunction((source) => new RegExp(source, 'm').test(document.querySelector('[data-test="terminal"] .xterm-rows')?.innerText ?? ''),
      answer.source, { timeout: 30000 });
    return Number(answer.exec(await screen())[1]);
  };
  const wide = await columns();
  await page.setViewportSize({ width: 800, height: 800 });
  await page.waitForTimeout(500);
  const narrow = await columns();
  await page.setViewportSize({ width: 1280, height: 800 });
  await page.waitForTimeout(500);
  if (!(narrow < wide)) throw new Error(`stty says ${wide} columns, then ${narrow} in a narrower window`);
});

// A full-screen program: vi writes a file, and the shell reads it back.
await step('terminal-vi', async () => {
  await page.keyboard.type('vi /tmp/from-vi');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => /~\s*$/m.test(document.querySelector('[data-test="terminal"] .xterm-rows')?.innerText ?? ''),
    null, { timeout: 30000 });
  // vi shows "I" at the start of its status line in insert mode. It reads
  // an Escape with more keys right behind it as one escape sequence, so each
  // mode change is waited for before the next keys.
  const insertMode = (wanted) => page.waitForFunction((insert) => {
    const rows = (document.querySelector('[data-test="terminal"] .xterm-rows')?.innerText ?? '').trimEnd().split('\n');
    return /^I /.test(rows.at(-1) ?? '') === insert && (!insert || rows.some((r) => r.includes('written in vi')));
  }, wanted, { timeout: 30000 });
  await page.keyboard.type('iwritten in vi');
  await insertMode(true);
  await page.keyboard.press('Escape');
  await insertMode(false);
  await page.keyboard.type(':wq');
  await page.keyboard.press('Enter');
  await page.keyboard.type('clear; cat /tmp/from-vi | tr a-z A-Z');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => /^WRITTEN IN VI\s*$/m.test(document.querySelector('[data-test="terminal"] .xterm-rows')?.innerText ?? ''),
    null, { timeout: 30000 });
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

// A file as itself, a folder as tar (GNU tar lists it).
await step('downloads', async () => {
  const passwd = page.locator('[data-test="file-row"][data-name="passwd"]');
  const [file] = await Promise.all([page.waitForEvent('download'), passwd.locator('[data-test="file-download"]').click()]);
  const text = readFileSync(await file.path(), 'utf8');
  if (file.suggestedFilename() !== 'passwd' || !text.includes('root:x:0:0')) throw new Error(`downloaded ${file.suggestedFilename()}: ${text.slice(0, 100)}`);
  const [folder] = await Promise.all([page.waitForEvent('download'), page.locator('[data-test="download-folder"]').click()]);
  const listing = execFileSync('tar', ['-tf', await folder.path()], { encoding: 'utf8' });
  if (folder.suggestedFilename() !== 'etc.tar' || !/^etc\/passwd$/m.test(listing)) throw new Error(`downloaded ${folder.suggestedFilename()}: ${listing.slice(0, 200)}`);
});

// tests/test_ui_browser.py finds the file with ctk exec.
await step('upload', async () => {
  await page.locator('[data-test="file-path"]').fill('/tmp');
  await page.locator('[data-test="file-path"]').press('Enter');
  // Uploads go to the folder shown, once it is.
  await page.locator('[data-test="file-list"][data-path="/tmp"]').waitFor({ timeout: 30000 });
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
  // Search hides what does not match; the download has every line.
  await page.locator('[data-test="log-search"]').fill('STDERR');
  await page.locator('[data-test="log-line"]', { hasText: 'hello from box' }).waitFor({ state: 'hidden', timeout: 30000 });
  if (!(await page.locator('[data-test="log-line"]', { hasText: 'to stderr' }).isVisible())) throw new Error('the search hid its match');
  const [log] = await Promise.all([page.waitForEvent('download'), page.locator('[data-test="log-download"]').click()]);
  const text = readFileSync(await log.path(), 'utf8');
  if (log.suggestedFilename() !== 'box.log' || !/ hello from box\n/.test(text) || !/ stderr to stderr\n/.test(text))
    throw new Error(`downloaded ${log.suggestedFilename()}: ${text.slice(0, 200)}`);
});

await checkpoint('outside');

await step('pull', async () => {
  const image = process.env.PULL_IMAGE;
  if (!image) throw new Error('no $PULL_IMAGE to pull');
  await page.goto(origin + '/#/images');
  await page.locator('[data-test="pull-image"]').fill(image);
  await page.locator('[data-test="pull-submit"]').click();
  await page.locator('[data-test="pull-progress"]').first().waitFor({ timeout: 60000 });
  // Every layer's bar full, and the image listed.
  await page.waitForFunction(() => {
    const bars = [...document.querySelectorAll('[data-test="pull-progress"] progress')];
    return bars.length > 0 && bars.every((b) => b.max > 0 && b.value === b.max);
  }, null, { timeout: 60000 });
  await page.locator('[data-test="image-row"]', { hasText: image }).waitFor({ timeout: 30000 });
});

// The pulled image inspected as formatted JSON and removed; a volume and a
// network made, inspected and removed.
await step('resources', async () => {
  await page.locator('[data-test="image-row"]', { hasText: 'pulled:1' }).locator('[data-test="inspect"]').click();
  await page.locator('[data-test="inspect-json"]', { hasText: '"RepoTags"' }).waitFor({ timeout: 30000 });
  await page.locator('[data-test="dialog-close"]').click();
  const pulled = page.locator('[data-test="image-row"]', { hasText: 'pulled:1' });
  await pulled.locator('[data-test="remove"]').click();
  await page.locator('[data-test="confirm"]').click();
  await pulled.waitFor({ state: 'detached', timeout: 30000 });
  for (const [section, kind] of [['volumes', 'volume'], ['networks', 'network']]) {
    await page.goto(`${origin}/#/${section}`);
    await page.locator(`[data-test="${kind}-create-name"]`).fill(`from-the-page-${kind}`);
    await page.locator(`[data-test="${kind}-create-submit"]`).click();
    const made = page.locator(`[data-test="${kind}-row"][data-name="from-the-page-${kind}"]`);
    await made.waitFor({ timeout: 30000 });
    await made.locator('[data-test="inspect"]').click();
    await page.locator('[data-test="inspect-json"]', { hasText: `"Name": "from-the-page-${kind}"` }).waitFor({ timeout: 30000 });
    await page.locator('[data-test="dialog-close"]').click();
    await made.locator('[data-test="remove"]').click();
    await page.locator('[data-test="confirm"]').click();
    await made.waitFor({ state: 'detached', timeout: 30000 });
  }
});

// A phone's width: the list and a container's page fit without scrolling sideways.
await step('narrow', async () => {
  await page.setViewportSize({ width: 390, height: 844 });
  const fits = () => page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);
  await page.goto(origin + '/#/containers');
  await row.waitFor({ timeout: 30000 });
  if (!(await fits())) throw new Error('the list scrolls sideways at 390 px');
  await page.screenshot({ path: join(shots, 'narrow-list.png') });
  await row.locator('[data-test="container-link"]').click();
  await page.locator('[data-test="tab-processes"]').click();
  await page.locator('[data-test="process-row"]').first().waitFor({ timeout: 30000 });
  if (!(await fits())) throw new Error('the container page scrolls sideways at 390 px');
  await page.setViewportSize({ width: 1280, height: 800 });
});

// Without a mouse: Tab to a container's link, Enter, Tab to a tab, Enter;
// Tab to "Run a container", Enter, and the form's first field has the focus.
await step('keyboard', async () => {
  const tabTo = async (test, name) => {
    for (let i = 0; i < 60; i++) {
      await page.keyboard.press('Tab');
      const here = await page.evaluate(() => {
        const e = document.activeElement;
        return { test: e?.getAttribute('data-test'), name: e?.closest('[data-name]')?.getAttribute('data-name') };
      });
      if (here.test === test && (!name || here.name === name)) return;
    }
    throw new Error(`Tab never reached ${test}`);
  };
  await page.goto(origin + '/#/containers');
  await row.waitFor({ timeout: 30000 });
  await tabTo('container-link', 'box');
  await page.keyboard.press('Enter');
  await page.waitForURL(/#\/containers\/[0-9a-f]+/, { timeout: 30000 });
  await tabTo('tab-files');
  await page.keyboard.press('Enter');
  await page.locator('[data-test="file-row"]').first().waitFor({ timeout: 30000 });
  await page.goto(origin + '/#/containers');
  await row.waitFor({ timeout: 30000 });
  await tabTo('run');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => document.activeElement?.getAttribute('data-test') === 'run-image', null, { timeout: 30000 });
});

await step('stop-and-remove', async () => {
  await page.goto(origin + '/#/containers');
  await row.locator('[data-test="container-link"]').click();
  await page.locator('[data-test="container-name"]', { hasText: 'box' }).waitFor({ timeout: 30000 });
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
