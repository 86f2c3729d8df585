// Sizes, durations, times and file modes as the page shows them, and the
// sizes and CPU counts the run form reads. Pure: no DOM.

const BINARY_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

/** 1536 -> "1.5 KiB"; three significant digits at most. */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return '—';
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < BINARY_UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  const digits = unit === 0 || value >= 100 ? 0 : value >= 10 ? 1 : 2;
  return `${Number(value.toFixed(digits))} ${BINARY_UNITS[unit]}`;
}

/** 3725 -> "1h 2m"; the two largest units, as uptimes read best. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '—';
  const whole = Math.floor(seconds);
  const parts: [number, string][] = [
    [Math.floor(whole / 86400), 'd'],
    [Math.floor(whole / 3600) % 24, 'h'],
    [Math.floor(whole / 60) % 60, 'm'],
    [whole % 60, 's'],
  ];
  const first = parts.findIndex(([value]) => value > 0);
  if (first < 0) return '0s';
  return parts
    .slice(first, first + 2)
    .filter(([value]) => value > 0)
    .map(([value, unit]) => `${value}${unit}`)
    .join(' ');
}

/** Seconds since the epoch as a local date and time, "2024-12-07 14:40". */
export function formatTime(unixSeconds: number): string {
  if (!Number.isFinite(unixSeconds) || unixSeconds <= 0) return '—';
  const date = new Date(unixSeconds * 1000);
  const two = (n: number): string => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${two(date.getMonth() + 1)}-${two(date.getDate())} ${two(date.getHours())}:${two(date.getMinutes())}`;
}

const TYPE_LETTERS: Record<string, string> = { dir: 'd', symlink: 'l', file: '-' };

/** ls -l's mode column: "drwxr-xr-x", with s/S and t/T for the special bits. */
export function formatMode(mode: number, type: string): string {
  const letters = ['r', 'w', 'x'];
  let text = TYPE_LETTERS[type] ?? '?';
  for (let shift = 6; shift >= 0; shift -= 3) {
    for (let bit = 0; bit < 3; bit++) {
      text += mode & (1 << (shift + 2 - bit)) ? letters[bit] : '-';
    }
  }
  const special: [number, number, string][] = [
    [0o4000, 3, 's'],
    [0o2000, 6, 's'],
    [0o1000, 9, 't'],
  ];
  for (const [bit, index, letter] of special) {
    if (!(mode & bit)) continue;
    const executable = text[index] === 'x';
    text = text.slice(0, index) + (executable ? letter : letter.toUpperCase()) + text.slice(index + 1);
  }
  return text;
}

const SIZE_SUFFIXES: Record<string, number> = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/**
 * A memory size as docker run's --memory takes it: "512m", "1g", "1.5G",
 * "1048576" (bytes), binary units. Throws with a message for the form.
 */
export function parseSize(text: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*([bkmgt]?)(?:i?b)?$/i.exec(text.trim());
  if (!match) throw new Error(`memory: "${text}" is not a size (examples: 512m, 2g)`);
  return Math.round(Number(match[1]) * SIZE_SUFFIXES[match[2].toLowerCase()]);
}

/** A CPU count as docker run's --cpus takes it ("1.5"), as NanoCpus. */
export function parseCpus(text: string): number {
  const value = Number(text.trim());
  if (!(value > 0) || !Number.isFinite(value)) throw new Error(`cpus: "${text}" is not a positive number (example: 1.5)`);
  return Math.round(value * 1e9);
}
