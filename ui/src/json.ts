// Narrowing of JSON from the server, which is untrusted: a field of the wrong
// type reads as absent (the fallback), never as a crash further on.

export type JsonObject = Record<string, unknown>;

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function obj(value: unknown): JsonObject {
  return isObject(value) ? value : {};
}

export function str(value: unknown, fallback = ''): string {
  return typeof value === 'string' ? value : fallback;
}

export function num(value: unknown, fallback = 0): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : fallback;
}

export function bool(value: unknown): boolean {
  return value === true;
}

export function list(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

export function strings(value: unknown): string[] {
  return list(value).filter((item): item is string => typeof item === 'string');
}

/** A string-to-string map (labels, attributes); other values are dropped. */
export function stringMap(value: unknown): Record<string, string> {
  const map: Record<string, string> = {};
  for (const [key, item] of Object.entries(obj(value))) if (typeof item === 'string') map[key] = item;
  return map;
}
