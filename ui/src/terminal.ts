// An interactive terminal in the container: xterm.js over a WebSocket that
// carries the raw terminal bytes both ways (binary frames). 'exec' starts a
// shell with a pty; 'attach' joins the container's main process.

import { FitAddon } from '@xterm/addon-fit';
import { Terminal } from '@xterm/xterm';
import '@xterm/xterm/css/xterm.css';
import { attachSocketUrl, createExec, execExitCode, execSocketUrl, resizeContainer, resizeExec, type ContainerDetails, type TerminalSize } from './api';
import { debounce, h } from './dom';
import { reportError, type ViewContext } from './ui';

export type TerminalMode = 'exec' | 'attach';

/** bash where the image has it, else sh. */
const SHELL = ['/bin/sh', '-c', 'command -v bash >/dev/null && exec bash || exec sh'];
const RESIZE_DEBOUNCE_MS = 150;
const MONOSPACE = 'ui-monospace, "Cascadia Mono", "DejaVu Sans Mono", Menlo, Consolas, "Liberation Mono", monospace';

interface Session {
  url: string;
  resize(size: TerminalSize): Promise<void>;
  /** What to say when the socket closes. */
  ended(): Promise<string>;
}

async function openSession(mode: TerminalMode, container: ContainerDetails, size: TerminalSize): Promise<Session> {
  if (mode === 'attach') {
    return {
      url: attachSocketUrl(container.id),
      resize: (next) => resizeContainer(container.id, next),
      ended: async () => '[detached: the main process ended or the connection closed]',
    };
  }
  const execId = await createExec(container.id, SHELL, { interactive: true, env: ['TERM=xterm-256color'] });
  return {
    url: execSocketUrl(execId, size),
    resize: (next) => resizeExec(execId, next),
    ended: async () => {
      const code = await execExitCode(execId).catch(() => undefined);
      return code === undefined ? '[process exited]' : `[process exited with code ${code}]`;
    },
  };
}

export function mountTerminal(ctx: ViewContext, container: ContainerDetails, mode: TerminalMode): void {
  const screen = h('div', { class: 'terminal-screen', 'data-test': 'terminal' });
  const status = h('span', { class: 'muted', 'data-test': 'terminal-status', 'aria-live': 'polite' });
  const wrapper = h('div', { class: 'terminal' });
  const maximize = h('button', { type: 'button', 'aria-pressed': 'false', 'data-test': 'terminal-maximize' }, 'Maximize');
  const restart = h('button', { type: 'button', hidden: true, 'data-test': 'terminal-restart' }, mode === 'exec' ? 'New shell' : 'Attach again');
  wrapper.append(h('div', { class: 'toolbar' }, maximize, restart, status), screen);
  ctx.host.append(wrapper);
  if (!container.running) {
    status.textContent = 'The container is not running: start it to open a terminal.';
    return;
  }
  if (mode === 'attach' && !container.tty) {
    ctx.host.append(h('p', { class: 'muted' }, 'This container has no TTY: its output shows as it comes, and input reaches it only if it was started with stdin open.'));
  }

  const term = new Terminal({ fontFamily: MONOSPACE, fontSize: 14, cursorBlink: true, scrollback: 5000 });
  const fit = new FitAddon();
  term.loadAddon(fit);
  term.open(screen);
  fit.fit();

  let socket: WebSocket | undefined;
  let session: Session | undefined;
  const encoder = new TextEncoder();
  const send = (bytes: Uint8Array<ArrayBuffer>): void => {
    if (socket?.readyState === WebSocket.OPEN) socket.send(bytes);
  };
  term.onData((data) => send(encoder.encode(data)));
  // Mouse reports in the X10 encoding: one byte a character, not UTF-8.
  term.onBinary((data) => send(Uint8Array.from(data, (c) => c.charCodeAt(0) & 0xff)));
  const sendSize = debounce(() => {
    if (socket?.readyState === WebSocket.OPEN) session?.resize({ rows: term.rows, cols: term.cols }).catch(reportError);
  }, RESIZE_DEBOUNCE_MS);
  term.onResize(sendSize);
  const refit = new ResizeObserver(() => fit.fit());
  refit.observe(screen);

  const connect = async (): Promise<void> => {
    restart.hidden = true;
    status.textContent = 'Connecting…';
    session = await openSession(mode, container, { rows: term.rows, cols: term.cols });
    if (ctx.signal.aborted) return;
    const opened = new WebSocket(session.url);
    const ended = session.ended;
    socket = opened;
    opened.binaryType = 'arraybuffer';
    opened.onopen = () => {
      status.textContent = mode === 'exec' ? 'Shell' : 'Attached';
      // An exec learns its size from the URL; an attach starts at the container's.
      if (mode === 'attach') sendSize();
      term.focus();
    };
    opened.onmessage = (message: MessageEvent<unknown>) => {
      if (message.data instanceof ArrayBuffer) term.write(new Uint8Array(message.data));
      else if (typeof message.data === 'string') term.write(message.data);
    };
    opened.onclose = () => {
      if (ctx.signal.aborted) return;
      void ended().then((words) => {
        term.write(`\r\n${words}\r\n`);
        status.textContent = words;
        restart.hidden = false;
      });
    };
  };
  const start = (): void => void connect().catch((error: unknown) => {
    status.textContent = '';
    restart.hidden = false;
    reportError(error);
  });
  restart.addEventListener('click', start);
  maximize.addEventListener('click', () => {
    const maximized = wrapper.classList.toggle('maximized');
    maximize.setAttribute('aria-pressed', String(maximized));
    maximize.textContent = maximized ? 'Restore' : 'Maximize';
    term.focus();
  });

  ctx.signal.addEventListener('abort', () => {
    sendSize.cancel();
    refit.disconnect();
    socket?.close();
    term.dispose();
  });
  start();
}
