import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatBytes, formatDuration, formatMode, parseCpus, parseSize } from '../src/format';

test('formatBytes', () => {
  assert.equal(formatBytes(0), '0 B');
  assert.equal(formatBytes(1023), '1023 B');
  assert.equal(formatBytes(1536), '1.5 KiB');
  assert.equal(formatBytes(10.25 * 1024 * 1024), '10.3 MiB');
  assert.equal(formatBytes(512 * 1024 ** 3), '512 GiB');
  assert.equal(formatBytes(-1), '—');
  assert.equal(formatBytes(NaN), '—');
});

test('formatDuration keeps the two largest units', () => {
  assert.equal(formatDuration(0), '0s');
  assert.equal(formatDuration(59.9), '59s');
  assert.equal(formatDuration(3725), '1h 2m');
  assert.equal(formatDuration(3600), '1h');
  assert.equal(formatDuration(90061), '1d 1h');
  assert.equal(formatDuration(-5), '—');
});

test('formatMode reads as ls -l', () => {
  assert.equal(formatMode(0o755, 'dir'), 'drwxr-xr-x');
  assert.equal(formatMode(0o644, 'file'), '-rw-r--r--');
  assert.equal(formatMode(0o777, 'symlink'), 'lrwxrwxrwx');
  assert.equal(formatMode(0o4755, 'file'), '-rwsr-xr-x');
  assert.equal(formatMode(0o2644, 'file'), '-rw-r-Sr--');
  assert.equal(formatMode(0o1777, 'dir'), 'drwxrwxrwt');
  assert.equal(formatMode(0o600, 'other'), '?rw-------');
});

test('parseSize takes docker run --memory forms', () => {
  assert.equal(parseSize('512m'), 512 * 1024 * 1024);
  assert.equal(parseSize('1G'), 1024 ** 3);
  assert.equal(parseSize('1.5g'), 1.5 * 1024 ** 3);
  assert.equal(parseSize('64MiB'), 64 * 1024 * 1024);
  assert.equal(parseSize('1048576'), 1048576);
  assert.throws(() => parseSize('lots'), /memory: "lots" is not a size/);
  assert.throws(() => parseSize('-1m'), /memory/);
});

test('parseCpus gives NanoCpus', () => {
  assert.equal(parseCpus('1.5'), 1.5e9);
  assert.equal(parseCpus(' 2 '), 2e9);
  assert.throws(() => parseCpus('0'), /cpus/);
  assert.throws(() => parseCpus('two'), /cpus/);
});
