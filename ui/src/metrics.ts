// CPU and memory figures from docker's stats objects, computed as the docker
// CLI computes them for `docker stats`.

import { num, obj } from './json';

export interface StatsSample {
  /** Nanoseconds of CPU time the container has used. */
  cpuTotal: number;
  /** Nanoseconds of CPU time the whole machine has used (all CPUs). */
  systemTotal: number;
  onlineCpus: number;
  /** Nanoseconds, from precpu_stats: the sample before this one, when the server sent it. */
  previousCpuTotal: number;
  previousSystemTotal: number;
  /** Bytes in use, less the inactive page cache (what docker stats shows). */
  memoryUsed: number;
  memoryLimit: number;
}

function cpuFields(value: unknown): { total: number; system: number; online: number } {
  const stats = obj(value);
  const usage = obj(stats.cpu_usage);
  const perCpu = Array.isArray(usage.percpu_usage) ? usage.percpu_usage.length : 0;
  return { total: num(usage.total_usage), system: num(stats.system_cpu_usage), online: num(stats.online_cpus, perCpu) };
}

export function parseStats(value: unknown): StatsSample {
  const stats = obj(value);
  const cpu = cpuFields(stats.cpu_stats);
  const previous = cpuFields(stats.precpu_stats);
  const memory = obj(stats.memory_stats);
  const details = obj(memory.stats);
  const usage = num(memory.usage);
  // cgroup v2 names it inactive_file, v1 total_inactive_file.
  const inactive = num(details.inactive_file, num(details.total_inactive_file));
  return {
    cpuTotal: cpu.total,
    systemTotal: cpu.system,
    onlineCpus: cpu.online,
    previousCpuTotal: previous.total,
    previousSystemTotal: previous.system,
    memoryUsed: inactive < usage ? usage - inactive : usage,
    memoryLimit: num(memory.limit),
  };
}

/**
 * CPU use in percent of one CPU (so up to 100 × CPUs), between `earlier` and
 * `sample`; without `earlier`, from the sample's own precpu_stats. Undefined
 * when there is nothing to compare (a one-shot sample with no earlier one).
 */
export function cpuPercent(sample: StatsSample, earlier?: StatsSample): number | undefined {
  const cpuBefore = earlier ? earlier.cpuTotal : sample.previousCpuTotal;
  const systemBefore = earlier ? earlier.systemTotal : sample.previousSystemTotal;
  if (systemBefore === 0) return undefined;
  const cpuDelta = sample.cpuTotal - cpuBefore;
  const systemDelta = sample.systemTotal - systemBefore;
  if (systemDelta <= 0 || cpuDelta < 0) return undefined;
  return (cpuDelta / systemDelta) * Math.max(1, sample.onlineCpus) * 100;
}
