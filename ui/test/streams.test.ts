import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FrameDecoder, JsonLinesDecoder, LineDecoder, readChunks } from '../src/streams';

const encoder = new TextEncoder();

function frame(kind: number, text: string): Uint8Array {
  const payload = encoder.encode(text);
  const bytes = new Uint8Array(8 + payload.length);
  bytes[0] = kind;
  new DataView(bytes.buffer).setUint32(4, payload.length);
  bytes.set(payload, 8);
  return bytes;
}

function joined(...parts: Uint8Array[]): Uint8Array {
  return Uint8Array.from(parts.flatMap((part) => [...part]));
}

function decodeAll(decoder: FrameDecoder, chunks: Uint8Array[]): { stream: string; text: string }[] {
  return chunks.flatMap((chunk) => decoder.push(chunk)).map((f) => ({ stream: f.stream, text: new TextDecoder().decode(f.payload) }));
}

const expectedFrames = [
  { stream: 'stdout', text: 'hello\n' },
  { stream: 'stderr', text: 'oops: ünïcödé\n' },
  { stream: 'stdout', text: '' },
  { stream: 'stderr', text: 'daemon error' },
  { stream: 'stdout', text: 'x'.repeat(70000) },
];
const stream = joined(frame(1, 'hello\n'), frame(2, 'oops: ünïcödé\n'), frame(1, ''), frame(3, 'daemon error'), frame(1, 'x'.repeat(70000)));

test('frames split into two chunks at every byte position', () => {
  for (let cut = 0; cut <= stream.length; cut++) {
    const decoder = new FrameDecoder();
    assert.deepEqual(decodeAll(decoder, [stream.subarray(0, cut), stream.subarray(cut)]), expectedFrames, `cut at ${cut}`);
    assert.equal(decoder.buffered, 0);
  }
});

test('frames fed one byte at a time', () => {
  const decoder = new FrameDecoder();
  const chunks: Uint8Array[] = Array.from(stream.subarray(0, 200), (byte) => Uint8Array.of(byte));
  chunks.push(stream.subarray(200));
  assert.deepEqual(decodeAll(decoder, chunks), expectedFrames);
});

test('frame payloads survive the chunk they came in being reused', () => {
  const decoder = new FrameDecoder();
  const chunk = frame(1, 'abc');
  const [decoded] = decoder.push(chunk);
  chunk.fill(0);
  assert.equal(new TextDecoder().decode(decoded.payload), 'abc');
});

test('an unfinished frame is held, not emitted', () => {
  const decoder = new FrameDecoder();
  assert.deepEqual(decoder.push(frame(1, 'abcdef').subarray(0, 11)), []);
  assert.equal(decoder.buffered, 11);
});

test('lines split across chunks inside a UTF-8 sequence, CRLF dropped', () => {
  const bytes = encoder.encode('añb\r\n€uro\n\nlast');
  for (let cut = 0; cut <= bytes.length; cut++) {
    const decoder = new LineDecoder();
    const lines = [...decoder.push(bytes.subarray(0, cut)), ...decoder.push(bytes.subarray(cut)), ...decoder.end()];
    assert.deepEqual(lines, ['añb', '€uro', '', 'last'], `cut at ${cut}`);
  }
});

test('JSON lines: split anywhere, blank lines skipped, malformed lines reported and passed over', () => {
  const bytes = encoder.encode('{"status":"Pulling","id":"a1"}\n\nnot json\n{"progressDetail":{"current":5,"total":10}}\n[1,2]');
  for (let cut = 0; cut <= bytes.length; cut++) {
    const decoder = new JsonLinesDecoder();
    const parts = [decoder.push(bytes.subarray(0, cut)), decoder.push(bytes.subarray(cut)), decoder.end()];
    assert.deepEqual(
      parts.flatMap((p) => p.values),
      [{ status: 'Pulling', id: 'a1' }, { progressDetail: { current: 5, total: 10 } }, [1, 2]],
    );
    assert.deepEqual(
      parts.flatMap((p) => p.malformed),
      ['not json'],
    );
  }
});

test('readChunks delivers every chunk, and an abort ends it quietly', async () => {
  const seen: string[] = [];
  const done = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(encoder.encode('a'));
      controller.enqueue(encoder.encode('b'));
      controller.close();
    },
  });
  await readChunks(done, new AbortController().signal, (chunk) => seen.push(new TextDecoder().decode(chunk)));
  assert.deepEqual(seen, ['a', 'b']);

  let cancelled = false;
  const endless = new ReadableStream<Uint8Array>({
    pull: () => new Promise(() => undefined),
    cancel() {
      cancelled = true;
    },
  });
  const abort = new AbortController();
  const reading = readChunks(endless, abort.signal, () => undefined);
  abort.abort();
  await reading;
  assert.ok(cancelled);
});

test('readChunks cancels the stream when onChunk throws, and rejects with its error', async () => {
  let cancelled = false;
  const body = new ReadableStream<Uint8Array>({
    pull: (controller) => controller.enqueue(encoder.encode('x')),
    cancel() {
      cancelled = true;
    },
  });
  await assert.rejects(
    readChunks(body, new AbortController().signal, () => {
      throw new Error('bad chunk');
    }),
    /bad chunk/,
  );
  assert.ok(cancelled);
});
