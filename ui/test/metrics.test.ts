import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpuPercent, parseStats } from '../src/metrics';

const streamed = {
  cpu_stats: { cpu_usage: { total_usage: 300_000_000 }, system_cpu_usage: 20_000_000_000, online_cpus: 4 },
  precpu_stats: { cpu_usage: { total_usage: 100_000_000 }, system_cpu_usage: 16_000_000_000, online_cpus: 4 },
  memory_stats: { usage: 50 * 1024 * 1024, limit: 512 * 1024 * 1024, stats: { inactive_file: 10 * 1024 * 1024 } },
};

test('CPU percent the docker CLI way, from precpu_stats', () => {
  // 0.2 s of CPU in 4 s of machine time (1 s on each of 4 CPUs): 20% of one CPU.
  const sample = parseStats(streamed);
  assert.ok(Math.abs((cpuPercent(sample) ?? -1) - 20) < 1e-9);
});

test('memory used leaves out the inactive page cache (cgroup v1 and v2 names)', () => {
  assert.equal(parseStats(streamed).memoryUsed, 40 * 1024 * 1024);
  assert.equal(parseStats(streamed).memoryLimit, 512 * 1024 * 1024);
  const v1 = { memory_stats: { usage: 100, stats: { total_inactive_file: 30 } } };
  assert.equal(parseStats(v1).memoryUsed, 70);
});

test('one-shot samples compare with the one before; the first has no CPU figure', () => {
  const first = parseStats({ cpu_stats: { cpu_usage: { total_usage: 1e9, percpu_usage: [1, 2] }, system_cpu_usage: 100e9 }, precpu_stats: {} });
  assert.equal(first.onlineCpus, 2);
  assert.equal(cpuPercent(first), undefined);
  const second = parseStats({ cpu_stats: { cpu_usage: { total_usage: 2e9 }, system_cpu_usage: 110e9, online_cpus: 2 } });
  assert.ok(Math.abs((cpuPercent(second, first) ?? -1) - 20) < 1e-9);
});

test('garbage in gives no figure, not an exception', () => {
  for (const junk of [null, 42, 'text', [], { cpu_stats: 'x', memory_stats: [1] }]) {
    const sample = parseStats(junk);
    assert.equal(cpuPercent(sample), undefined);
    assert.equal(sample.memoryUsed, 0);
  }
});
