import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync, utimesSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findFirstFile, readTar, TarFormatError, writeTar } from '../src/tar';

/** Runs `body` in a fresh temporary directory, removed afterwards. */
async function inScratch<T>(body: (dir: string) => T | Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'ctk-ui-tar-'));
  try {
    return await body(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const longName = `${'a-rather-long-directory-name-'.repeat(3)}/and-a-file-name-that-goes-past-one-hundred-bytes-ü.txt`.replace('/', '_');
const uploads = [
  { name: 'hello.txt', text: 'hello, world\n', mode: 0o644 },
  { name: 'empty', text: '', mode: 0o600 },
  { name: 'run.sh', text: '#!/bin/sh\necho hi\n', mode: 0o755 },
  { name: 'exactly-512', text: 'x'.repeat(512), mode: 0o644 },
  { name: longName, text: 'long name\n', mode: 0o644 },
  { name: 'ünïcödé 名前.txt', text: 'unicode\n', mode: 0o644 },
];

async function uploadArchive(): Promise<Uint8Array> {
  const blob = writeTar(uploads.map((u) => ({ name: u.name, body: new Blob([u.text]), mode: u.mode, mtime: 1733580000 })));
  return new Uint8Array(await blob.arrayBuffer());
}

test('GNU tar lists and extracts what writeTar wrote', () =>
  inScratch(async (dir) => {
    const archive = join(dir, 'upload.tar');
    writeFileSync(archive, await uploadArchive());
    const listing = execFileSync('tar', ['-tvf', archive], { encoding: 'utf8' });
    const lines = listing.trim().split('\n');
    assert.equal(lines.length, uploads.length, listing);
    assert.match(lines[0], /^-rw-r--r-- 0\/0 +13 2024-12-07 \d\d:\d\d hello\.txt$/);
    assert.match(lines[2], /^-rwxr-xr-x .* run\.sh$/);
    assert.ok(lines[4].endsWith(longName), lines[4]);

    const out = join(dir, 'out');
    mkdirSync(out);
    execFileSync('tar', ['-xf', archive, '-C', out, '--no-same-owner']);
    for (const u of uploads) assert.equal(readFileSync(join(out, u.name), 'utf8'), u.text, u.name);
  }));

test('readTar reads back what writeTar wrote', async () => {
  const entries = [...readTar(await uploadArchive())];
  assert.deepEqual(
    entries.map((e) => [e.name, e.type, e.size, e.mode, e.mtime, new TextDecoder().decode(e.data)]),
    uploads.map((u) => [u.name, 'file', new TextEncoder().encode(u.text).length, u.mode, 1733580000, u.text]),
  );
});

// 179 bytes: a GNU L header in gnu format, a pax path in pax, the prefix field in ustar.
const deep = `${'nested-directory-level/'.repeat(6)}a-file-at-the-bottom-with-a-long-name.txt`;
const longTarget = `../${'t'.repeat(120)}`;

/**
 * An archive GNU tar made in `format` of a tree with a deep path, a setuid file
 * and, where the format can hold it (not ustar), a symlink with a long target.
 */
function gnuTar(format: 'gnu' | 'pax' | 'ustar'): Promise<Uint8Array> {
  return inScratch((dir) => {
    const src = join(dir, 'src');
    mkdirSync(join(src, deep, '..'), { recursive: true });
    writeFileSync(join(src, deep), 'deep\n');
    writeFileSync(join(src, 'setuid'), 'x');
    chmodSync(join(src, 'setuid'), 0o4755);
    utimesSync(join(src, 'setuid'), 1700000000, 1700000000);
    if (format !== 'ustar') symlinkSync(longTarget, join(src, 'link'));
    const archive = join(dir, 'a.tar');
    execFileSync('tar', [`--format=${format}`, '-cf', archive, '-C', src, '--sort=name', '.']);
    return new Uint8Array(readFileSync(archive));
  });
}

for (const format of ['gnu', 'pax', 'ustar'] as const) {
  test(`readTar reads GNU tar's ${format} format`, async () => {
    const byName = new Map([...readTar(await gnuTar(format))].map((e) => [e.name.replace(/^\.\//, ''), e]));
    const file = byName.get(deep);
    assert.ok(file, [...byName.keys()].join(', '));
    assert.equal(file.type, 'file');
    assert.equal(new TextDecoder().decode(file.data), 'deep\n');
    assert.equal(byName.get('nested-directory-level/')?.type, 'dir');
    const setuid = byName.get('setuid');
    assert.equal(setuid?.mode, 0o4755);
    assert.equal(setuid?.mtime, 1700000000);
    if (format !== 'ustar') {
      assert.equal(byName.get('link')?.type, 'symlink');
      assert.equal(byName.get('link')?.linkname, longTarget);
    }
  });
}

test('findFirstFile: need-more until the head is there, then found, at every cut', async () => {
  const bytes = await uploadArchive();
  const wanted = 5;
  for (let cut = 0; cut <= bytes.length; cut += 1) {
    const result = findFirstFile(bytes.subarray(0, cut), wanted);
    if (cut < 512 + wanted) assert.equal(result.state, 'need-more', `cut ${cut}`);
    else {
      assert.equal(result.state, 'found', `cut ${cut}`);
      if (result.state === 'found') {
        assert.equal(result.entry.name, 'hello.txt');
        assert.equal(new TextDecoder().decode(result.head), 'hello');
      }
    }
  }
});

test('findFirstFile skips directories and long-name headers; none in an archive without files', async () => {
  const bytes = await gnuTar('gnu');
  const found = findFirstFile(bytes, 1 << 20);
  assert.equal(found.state, 'found');
  if (found.state === 'found') assert.ok(found.entry.name.endsWith(deep));
  const onlyEnd = new Uint8Array(1024);
  assert.equal(findFirstFile(onlyEnd, 10).state, 'none');
});

test('a damaged header is an error, not a crash', async () => {
  const bytes = await uploadArchive();
  bytes[10] ^= 0xff;
  assert.throws(() => [...readTar(bytes)], TarFormatError);
  assert.throws(() => findFirstFile(bytes, 10), /checksum/);
  const junk = new Uint8Array(1024).fill(0x41);
  assert.throws(() => [...readTar(junk)], TarFormatError);
});
