// A tar reader (ustar, with GNU long names and pax headers, as GNU tar and
// libarchive write them) for the container archive endpoint, and a ustar writer
// for uploads. Only what the file browser needs: no sparse files, no devices.

const BLOCK = 512;

export type TarEntryType = 'file' | 'dir' | 'symlink' | 'hardlink' | 'other';

export interface TarEntry {
  name: string;
  type: TarEntryType;
  size: number;
  mode: number;
  /** Seconds since the epoch. */
  mtime: number;
  linkname: string;
  /**
   * The member's bytes, a view into the archive. Shorter than `size` only for
   * the last member of an archive cut short (see `findFirstFile`); reading on
   * past such a member throws TarTruncatedError.
   */
  data: Uint8Array;
}

export class TarFormatError extends Error {}
/** The archive ends inside a header or a member: more bytes may yet come. */
export class TarTruncatedError extends TarFormatError {}

const utf8 = new TextDecoder();

function field(header: Uint8Array, offset: number, length: number): string {
  const raw = header.subarray(offset, offset + length);
  const end = raw.indexOf(0);
  return utf8.decode(end < 0 ? raw : raw.subarray(0, end));
}

function numeric(header: Uint8Array, offset: number, length: number): number {
  const raw = header.subarray(offset, offset + length);
  if (raw[0] & 0x80) {
    // GNU base-256, for values octal cannot hold: big-endian after the flag bit.
    let value = raw[0] & 0x7f;
    for (let i = 1; i < raw.length; i++) value = value * 256 + raw[i];
    return value;
  }
  const text = field(header, offset, length).trim();
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text)) throw new TarFormatError(`bad number in tar header: ${JSON.stringify(text)}`);
  return parseInt(text, 8);
}

function checksumOf(header: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : header[i];
  return sum;
}

function isZeroBlock(header: Uint8Array): boolean {
  return header.every((byte) => byte === 0);
}

/** pax extended header records: "LENGTH key=value\n", LENGTH counting the whole record. */
function parsePax(data: Uint8Array): Map<string, string> {
  const records = new Map<string, string>();
  let at = 0;
  while (at < data.length) {
    const space = data.indexOf(0x20, at);
    if (space < 0) break;
    const length = parseInt(utf8.decode(data.subarray(at, space)), 10);
    if (!(length > space - at) || at + length > data.length) throw new TarFormatError('bad pax record');
    const record = utf8.decode(data.subarray(space + 1, at + length)).replace(/\n$/, '');
    const equals = record.indexOf('=');
    if (equals > 0) records.set(record.slice(0, equals), record.slice(equals + 1));
    at += length;
  }
  return records;
}

function entryType(flag: string, name: string): TarEntryType | undefined {
  switch (flag) {
    case '0':
    case '\0':
    case '7':
      // Pre-POSIX archives mark directories by the name alone.
      return name.endsWith('/') ? 'dir' : 'file';
    case '1':
      return 'hardlink';
    case '2':
      return 'symlink';
    case '5':
      return 'dir';
    case '3':
    case '4':
    case '6':
      return 'other';
    default:
      return undefined;
  }
}

function padded(size: number): number {
  return Math.ceil(size / BLOCK) * BLOCK;
}

/** The members of a tar archive, in order. Throws TarFormatError on a damaged one. */
export function* readTar(bytes: Uint8Array): Generator<TarEntry> {
  let at = 0;
  // Metadata that headers of type L, K and x carry for the member after them.
  let longName: string | undefined;
  let longLink: string | undefined;
  let pax = new Map<string, string>();
  for (;;) {
    // An archive ends with zero blocks; one without them was cut short.
    if (bytes.length - at < BLOCK) throw new TarTruncatedError('tar archive cut short');
    const header = bytes.subarray(at, at + BLOCK);
    if (isZeroBlock(header)) return;
    const checksum = numeric(header, 148, 8);
    if (checksum !== checksumOf(header)) throw new TarFormatError('tar header checksum mismatch');
    const flag = String.fromCharCode(header[156]);
    const paxSize = pax.get('size');
    const size = paxSize !== undefined ? Number(paxSize) : numeric(header, 124, 12);
    if (!Number.isSafeInteger(size) || size < 0) throw new TarFormatError('bad size in tar header');
    const dataStart = at + BLOCK;
    const available = Math.min(size, bytes.length - dataStart);
    const data = bytes.subarray(dataStart, dataStart + available);
    at = dataStart + padded(size);

    if (flag === 'L' || flag === 'K' || flag === 'x' || flag === 'g') {
      if (available < size) throw new TarTruncatedError('tar archive ends inside an extended header');
      if (flag === 'L') longName = field(data, 0, data.length);
      else if (flag === 'K') longLink = field(data, 0, data.length);
      else if (flag === 'x') pax = parsePax(data);
      // 'g' (pax global) holds defaults for the whole archive; none matter here.
      continue;
    }

    const magic = field(header, 257, 6);
    // Only POSIX ustar has the prefix field; GNU tar keeps other things there.
    const prefix = magic === 'ustar' ? field(header, 345, 155) : '';
    const name = pax.get('path') ?? longName ?? (prefix ? `${prefix}/${field(header, 0, 100)}` : field(header, 0, 100));
    const mtime = pax.has('mtime') ? Math.floor(Number(pax.get('mtime'))) : numeric(header, 136, 12);
    yield {
      name,
      type: entryType(flag, name) ?? 'other',
      size,
      mode: numeric(header, 100, 8) & 0o7777,
      mtime,
      linkname: pax.get('linkpath') ?? longLink ?? field(header, 157, 100),
      data,
    };
    if (available < size) throw new TarTruncatedError('tar archive ends inside a member');
    longName = undefined;
    longLink = undefined;
    pax = new Map();
  }
}

export type FirstFile =
  | { state: 'found'; entry: TarEntry; /** at most `wanted` bytes */ head: Uint8Array }
  | { state: 'need-more' }
  | { state: 'none' };

/**
 * The first regular file of an archive that may still be arriving: 'found' once
 * its header and its first `wanted` bytes (or all of it, if smaller) are there,
 * so a viewer can stop downloading a large file early.
 */
export function findFirstFile(bytes: Uint8Array, wanted: number): FirstFile {
  try {
    for (const entry of readTar(bytes)) {
      if (entry.type !== 'file') continue;
      if (entry.data.length < Math.min(entry.size, wanted)) return { state: 'need-more' };
      return { state: 'found', entry, head: entry.data.subarray(0, wanted) };
    }
  } catch (error) {
    if (error instanceof TarTruncatedError) return { state: 'need-more' };
    throw error;
  }
  return { state: 'none' };
}

export interface TarInput {
  name: string;
  body: Blob;
  /** Permission bits; 0644 when absent. */
  mode?: number;
  /** Seconds since the epoch. */
  mtime: number;
}

const utf8Encoder = new TextEncoder();
// The largest size 11 octal digits hold; uploads larger than 8 GiB are refused.
const MAX_OCTAL_SIZE = 0o77777777777;

function writeString(header: Uint8Array, offset: number, length: number, value: string): void {
  header.set(utf8Encoder.encode(value).subarray(0, length), offset);
}

function writeOctal(header: Uint8Array, offset: number, length: number, value: number): void {
  // length-1 digits, then NUL.
  writeString(header, offset, length - 1, value.toString(8).padStart(length - 1, '0'));
}

function ustarHeader(name: string, flag: string, size: number, mode: number, mtime: number): Uint8Array<ArrayBuffer> {
  if (size > MAX_OCTAL_SIZE) throw new RangeError(`${name}: too large for a tar upload (over 8 GiB)`);
  const header = new Uint8Array(BLOCK);
  writeString(header, 0, 100, name);
  writeOctal(header, 100, 8, mode);
  writeOctal(header, 108, 8, 0);
  writeOctal(header, 116, 8, 0);
  writeOctal(header, 124, 12, size);
  writeOctal(header, 136, 12, Math.max(0, Math.floor(mtime)));
  writeString(header, 156, 1, flag);
  writeString(header, 257, 6, 'ustar');
  writeString(header, 263, 2, '00');
  // The checksum is computed with its own field read as spaces, then written as
  // six octal digits, NUL, space.
  writeString(header, 148, 8, `${checksumOf(header).toString(8).padStart(6, '0')}\0 `);
  return header;
}

function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  const bodyLength = utf8Encoder.encode(body).length;
  // The length counts its own digits, which may add a digit.
  let length = bodyLength + String(bodyLength).length;
  if (String(length).length > String(bodyLength).length) length += 1;
  return `${length}${body}`;
}

function zeroPadding(size: number): Uint8Array<ArrayBuffer> {
  return new Uint8Array(padded(size) - size);
}

/**
 * A ustar archive of regular files as a Blob, built from the files' own Blobs so
 * that an upload never holds their contents in memory. A name over 100 bytes
 * gets a pax header with its path.
 */
export function writeTar(files: readonly TarInput[]): Blob {
  const parts: BlobPart[] = [];
  for (const file of files) {
    if (utf8Encoder.encode(file.name).length > 100) {
      const records = utf8Encoder.encode(paxRecord('path', file.name));
      parts.push(ustarHeader('PaxHeaders/entry', 'x', records.length, 0o644, file.mtime), records, zeroPadding(records.length));
    }
    parts.push(ustarHeader(file.name, '0', file.body.size, file.mode ?? 0o644, file.mtime), file.body, zeroPadding(file.body.size));
  }
  parts.push(new Uint8Array(2 * BLOCK));
  return new Blob(parts, { type: 'application/x-tar' });
}
