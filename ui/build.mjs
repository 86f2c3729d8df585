// Builds the page into dist/ (default, or --outdir DIR) or the unit tests into build-test/ and
// runs them (--test). esbuild does the bundling; tsc only typechecks (npm run build
// runs it first), so this script never needs a type checker.
import { build } from 'esbuild';
import { copyFile, mkdir, readdir, rm } from 'node:fs/promises';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const here = new URL('.', import.meta.url).pathname;

// --outdir DIR: where the page goes (ctk's build embeds it from its build directory).
function outdir() {
  const at = process.argv.indexOf('--outdir');
  return at >= 0 && process.argv[at + 1] ? process.argv[at + 1] : join(here, 'dist');
}

async function buildPage() {
  const out = outdir();
  await rm(out, { recursive: true, force: true });
  await mkdir(out, { recursive: true });
  await build({
    // Named "app" so that the bundle is app.js and the CSS it imports is app.css.
    entryPoints: { app: join(here, 'src/main.ts') },
    bundle: true,
    minify: true,
    sourcemap: false,
    legalComments: 'none',
    format: 'esm',
    target: ['chrome109', 'firefox115', 'safari16'],
    outdir: out,
    logLevel: 'warning',
  });
  await copyFile(join(here, 'src/index.html'), join(out, 'index.html'));
}

async function buildAndRunTests() {
  const out = join(here, 'build-test');
  await rm(out, { recursive: true, force: true });
  const tests = (await readdir(join(here, 'test'))).filter((name) => name.endsWith('.test.ts'));
  await build({
    entryPoints: tests.map((name) => join(here, 'test', name)),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node18',
    outdir: out,
    outExtension: { '.js': '.mjs' },
    packages: 'external',
    logLevel: 'warning',
  });
  // Files named one by one: node 18 and 20 take a directory here, node 22 a glob.
  const files = tests.map((name) => join(out, name.replace(/\.ts$/, '.mjs')));
  const run = spawnSync(process.execPath, ['--test', ...files], { stdio: 'inherit' });
  process.exitCode = run.status ?? 1;
}

await (process.argv.includes('--test') ? buildAndRunTests() : buildPage());
