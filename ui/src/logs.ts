// A container's log, followed live: docker's multiplexed frames (or the raw
// bytes of a TTY container) cut into lines, stdout and stderr told apart,
// filtered by a search box, downloadable as text.

import { containerLogs, type ContainerDetails } from './api';
import { debounce, h, saveBlob } from './dom';
import { FrameDecoder, LineDecoder, readChunks, type StreamName } from './streams';
import { reportError, type ViewContext } from './ui';

/** Lines kept (on the page and for download); the oldest go first. */
const MAX_LINES = 10_000;

interface LogLine {
  stream: StreamName;
  timestamp: string;
  text: string;
  element: HTMLElement;
}

// timestamps=1 puts an RFC 3339 time and a space before each line.
const TIMESTAMPED = /^(\d{4}-\d\d-\d\dT[0-9:.]+(?:Z|[+-]\d\d:\d\d)) (.*)$/s;
// Colours and cursor moves of a TTY's output mean nothing in a plain list of lines.
const TERMINAL_CONTROLS = /\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[()][0-9A-Za-z]|[\x00-\x08\x0b-\x1f\x7f]/g;

export function mountLogs(ctx: ViewContext, container: ContainerDetails): void {
  const search = h('input', { type: 'search', placeholder: 'Filter lines', 'aria-label': 'Filter log lines', 'data-test': 'log-search' });
  const follow = h('input', { type: 'checkbox', checked: true, 'data-test': 'log-follow' });
  const output = h('div', { class: 'log', role: 'log', tabindex: 0, 'aria-label': 'Log', 'data-test': 'log' });
  const lines: LogLine[] = [];

  const download = (): void => {
    const text = lines.map((line) => `${line.timestamp} ${line.stream === 'stderr' ? 'stderr ' : ''}${line.text}\n`).join('');
    saveBlob(new Blob([text], { type: 'text/plain' }), `${container.name || container.id.slice(0, 12)}.log`);
  };
  ctx.host.append(
    h(
      'div',
      { class: 'toolbar' },
      search,
      h('label', {}, follow, ' Follow'),
      h('button', { type: 'button', 'data-test': 'log-download', onclick: download }, 'Download'),
    ),
    output,
  );

  const matches = (line: { text: string }): boolean => {
    const wanted = search.value.trim().toLowerCase();
    return wanted === '' || line.text.toLowerCase().includes(wanted);
  };
  search.addEventListener(
    'input',
    debounce(() => {
      for (const line of lines) line.element.hidden = !matches(line);
    }, 150),
  );

  const add = (stream: StreamName, raw: string, into: DocumentFragment): void => {
    const match = TIMESTAMPED.exec(raw);
    const timestamp = match ? match[1] : '';
    const text = (match ? match[2] : raw).replace(TERMINAL_CONTROLS, '');
    const element = h(
      'div',
      { class: `line ${stream}`, 'data-test': 'log-line', 'data-stream': stream },
      h('time', { datetime: timestamp }, timestamp.replace('T', ' ').replace(/\.\d+/, '').replace(/Z$/, '')),
      h('span', {}, text),
    );
    const line = { stream, timestamp, text, element };
    element.hidden = !matches(line);
    lines.push(line);
    into.append(element);
  };

  const show = (fragment: DocumentFragment): void => {
    output.append(fragment);
    for (const old of lines.splice(0, Math.max(0, lines.length - MAX_LINES))) old.element.remove();
    if (follow.checked) output.scrollTop = output.scrollHeight;
  };

  // One line decoder per stream: a frame may end mid-line, and the other stream's
  // frames may come before the rest of it.
  const decoders = { stdout: new LineDecoder(), stderr: new LineDecoder() };
  const frames = new FrameDecoder();
  const onChunk = (chunk: Uint8Array): void => {
    const fragment = document.createDocumentFragment();
    const pieces = container.tty ? [{ stream: 'stdout' as const, payload: chunk }] : frames.push(chunk);
    for (const piece of pieces) for (const line of decoders[piece.stream].push(piece.payload)) add(piece.stream, line, fragment);
    show(fragment);
  };

  const end = (note: string): void => {
    const fragment = document.createDocumentFragment();
    for (const stream of ['stdout', 'stderr'] as const) for (const line of decoders[stream].end()) add(stream, line, fragment);
    fragment.append(h('div', { class: 'note', 'data-test': 'log-end' }, note));
    show(fragment);
  };

  containerLogs(container.id, ctx.signal)
    .then((body) => readChunks(body, ctx.signal, onChunk))
    .then(
      () => {
        if (!ctx.signal.aborted) end(container.running ? '— end of log —' : '— end of log (the container is not running) —');
      },
      (error: unknown) => {
        reportError(error);
        if (!ctx.signal.aborted) end('— log interrupted —');
      },
    );
}
