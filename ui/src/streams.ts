// Decoders for the server's streaming bodies. Each takes the body's chunks as
// they arrive, cut wherever the network cut them, and never throws on bad input:
// a server (or a proxy) may send anything, and one bad chunk must not end a view.

export type StreamName = 'stdout' | 'stderr';

export interface Frame {
  stream: StreamName;
  payload: Uint8Array;
}

const FRAME_HEADER_SIZE = 8;

/**
 * Docker's multiplexed stream (logs and attach of a container without a TTY):
 * an 8-byte header (byte 0 the stream: 0 stdin, 1 stdout, 2 stderr, 3 an error
 * from the daemon; bytes 4-7 the payload's length, big-endian), then the payload.
 */
export class FrameDecoder {
  private pending = new Uint8Array(0);

  push(chunk: Uint8Array): Frame[] {
    const bytes = concat(this.pending, chunk);
    const frames: Frame[] = [];
    let at = 0;
    while (bytes.length - at >= FRAME_HEADER_SIZE) {
      const view = new DataView(bytes.buffer, bytes.byteOffset + at, FRAME_HEADER_SIZE);
      const kind = view.getUint8(0);
      const length = view.getUint32(4);
      if (bytes.length - at - FRAME_HEADER_SIZE < length) break;
      const start = at + FRAME_HEADER_SIZE;
      // Copied so that the frame outlives the buffer it was cut from.
      frames.push({ stream: kind === 2 || kind === 3 ? 'stderr' : 'stdout', payload: bytes.slice(start, start + length) });
      at = start + length;
    }
    this.pending = bytes.slice(at);
    return frames;
  }

  /** Bytes of an unfinished frame still waiting for the rest of it. */
  get buffered(): number {
    return this.pending.length;
  }
}

/**
 * Text cut into lines, from bytes cut anywhere (inside a UTF-8 sequence too).
 * `end` hands back the last line when the stream ends without a newline.
 */
export class LineDecoder {
  private readonly text = new TextDecoder();
  private partial = '';

  push(chunk: Uint8Array): string[] {
    return this.split(this.text.decode(chunk, { stream: true }));
  }

  end(): string[] {
    const rest = this.partial + this.text.decode();
    this.partial = '';
    return rest === '' ? [] : [rest.replace(/\r$/, '')];
  }

  private split(decoded: string): string[] {
    const lines = (this.partial + decoded).split('\n');
    this.partial = lines.pop() ?? '';
    return lines.map((line) => line.replace(/\r$/, ''));
  }
}

export interface JsonLines {
  values: unknown[];
  /** Lines that were not JSON, for the caller to report or ignore. */
  malformed: string[];
}

/** Newline-separated JSON (events, stats, pull progress). */
export class JsonLinesDecoder {
  private readonly lines = new LineDecoder();

  push(chunk: Uint8Array): JsonLines {
    return parseLines(this.lines.push(chunk));
  }

  end(): JsonLines {
    return parseLines(this.lines.end());
  }
}

function parseLines(lines: string[]): JsonLines {
  const result: JsonLines = { values: [], malformed: [] };
  for (const line of lines) {
    if (line.trim() === '') continue;
    try {
      result.values.push(JSON.parse(line));
    } catch {
      result.malformed.push(line);
    }
  }
  return result;
}

/**
 * Reads a response body to its end (or until `signal` aborts), handing each
 * chunk to `onChunk`. Resolves when the stream ends; an abort resolves too,
 * since the caller asked for it. If `onChunk` throws, the stream is cancelled
 * and the promise rejects with that error.
 */
export async function readChunks(body: ReadableStream<Uint8Array>, signal: AbortSignal, onChunk: (chunk: Uint8Array) => void): Promise<void> {
  const reader = body.getReader();
  const cancel = (): void => void reader.cancel().catch(() => undefined);
  signal.addEventListener('abort', cancel, { once: true });
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      onChunk(value);
    }
  } catch (error) {
    if (signal.aborted) return;
    // A failing onChunk leaves the body unread: let the connection go.
    await reader.cancel().catch(() => undefined);
    throw error;
  } finally {
    signal.removeEventListener('abort', cancel);
  }
}

export function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b;
  if (b.length === 0) return a;
  const joined = new Uint8Array(a.length + b.length);
  joined.set(a);
  joined.set(b, a.length);
  return joined;
}
