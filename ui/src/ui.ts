// The page's shared pieces: the error bar, buttons that run a request, dialogs,
// tables that keep keyboard focus across refreshes.

import { ApiError } from './api';
import { append, h, type Attributes, type Child } from './dom';

/** What a view is mounted with: where to draw, and when to stop (the signal aborts when the view closes). */
export interface ViewContext {
  host: HTMLElement;
  signal: AbortSignal;
}

// ---- the error bar

const errorText = h('span', { class: 'error-text' });
const errorBar = h(
  'div',
  { class: 'error-bar', role: 'alert', 'data-test': 'error', hidden: true },
  errorText,
  h('button', { type: 'button', class: 'quiet', 'aria-label': 'Dismiss error', 'data-test': 'error-dismiss', onclick: () => (errorBar.hidden = true) }, '✕'),
);

export function errorBarElement(): HTMLElement {
  return errorBar;
}

/** Shows a message in the error bar, as the server worded it. */
export function showError(message: string): void {
  errorText.textContent = message;
  errorBar.hidden = false;
}

function isAbort(error: unknown): boolean {
  return error instanceof DOMException && error.name === 'AbortError';
}

/** Shows an error unless it is a cancelled request (the view closed: nobody to tell). */
export function reportError(error: unknown): void {
  if (isAbort(error)) return;
  if (error instanceof ApiError || error instanceof Error) showError(error.message);
  else showError(String(error));
}

/**
 * A button that runs `action`, marked busy while it runs (clicks meanwhile are
 * ignored), its failure shown in the error bar. Not disabled while busy: a
 * disabled button loses keyboard focus. Real <button>s, so keyboard and screen
 * readers work.
 */
export function actionButton(label: Child, attributes: Attributes, action: () => Promise<unknown> | void): HTMLButtonElement {
  const button = h('button', { type: 'button', ...attributes }, label);
  button.addEventListener('click', async () => {
    if (button.getAttribute('aria-busy') === 'true') return;
    button.setAttribute('aria-busy', 'true');
    try {
      await action();
    } catch (error) {
      reportError(error);
    } finally {
      button.removeAttribute('aria-busy');
    }
  });
  return button;
}

// ---- dialogs

/**
 * A modal <dialog>: the browser traps focus in it and closes it on Escape.
 * It removes itself once closed; `onClose` runs then.
 */
function openDialog(title: string, content: Child[], onClose?: () => void): HTMLDialogElement {
  const dialog = h(
    'dialog',
    { 'aria-label': title },
    h('header', {}, h('h2', {}, title), h('button', { type: 'button', class: 'quiet', 'aria-label': 'Close', 'data-test': 'dialog-close', onclick: () => dialog.close() }, '✕')),
  );
  const body = h('div', { class: 'dialog-body' });
  append(body, ...content);
  dialog.append(body);
  dialog.addEventListener('close', () => {
    dialog.remove();
    onClose?.();
  });
  document.body.append(dialog);
  dialog.showModal();
  return dialog;
}

/** Asks before something that cannot be undone; resolves true on confirm. */
export function confirmDialog(message: string, confirmLabel: string): Promise<boolean> {
  return new Promise((resolve) => {
    let confirmed = false;
    const confirm = h('button', { type: 'button', class: 'danger', 'data-test': 'confirm', onclick: () => ((confirmed = true), dialog.close()) }, confirmLabel);
    const cancel = h('button', { type: 'button', 'data-test': 'cancel', onclick: () => dialog.close() }, 'Cancel');
    const dialog = openDialog('Are you sure?', [h('p', {}, message), h('div', { class: 'buttons' }, cancel, confirm)], () => resolve(confirmed));
    cancel.focus();
  });
}

/** An inspect object, loaded then shown as indented JSON. */
export function showJsonDialog(title: string, load: (signal: AbortSignal) => Promise<unknown>): void {
  const abort = new AbortController();
  const pre = h('pre', { class: 'json', 'data-test': 'inspect-json', tabindex: 0 }, 'Loading…');
  openDialog(title, [pre], () => abort.abort());
  load(abort.signal).then(
    (value) => (pre.textContent = JSON.stringify(value, null, 2)),
    (error: unknown) => {
      pre.textContent = '';
      reportError(error);
    },
  );
}

// ---- tables

export interface TableRow {
  /** Identifies the row across refreshes, so keyboard focus can stay on it. */
  key: string;
  attributes: Attributes;
  cells: Child[];
}

/**
 * A table whose cells carry their column's name, so that narrow screens can
 * show each row as a card (see app.css).
 */
export function dataTable(headers: readonly string[], rows: readonly TableRow[], emptyText: string): HTMLElement {
  if (rows.length === 0) return h('p', { class: 'empty' }, emptyText);
  const body = h('tbody');
  for (const row of rows) {
    const tr = h('tr', { ...row.attributes, 'data-key': row.key });
    row.cells.forEach((cell, i) => tr.append(h('td', { 'data-label': headers[i] }, cell)));
    body.append(tr);
  }
  return h('table', { class: 'data' }, h('thead', {}, h('tr', {}, ...headers.map((header) => h('th', { scope: 'col' }, header)))), body);
}

/**
 * Replaces `host`'s content; if focus was on a control in a keyed row, it moves
 * to the same control of the same row in the new content, or, if that one is
 * now disabled (Stop once stopped), to the row's first enabled button.
 */
export function replaceKeepingFocus(host: HTMLElement, content: Child): void {
  const active = document.activeElement;
  const row = active instanceof HTMLElement && host.contains(active) ? active.closest<HTMLElement>('[data-key]') : null;
  const key = row?.dataset.key;
  const control = active instanceof HTMLElement ? active.dataset.test : undefined;
  host.replaceChildren();
  append(host, content);
  if (key === undefined) return;
  const sameRow = [...host.querySelectorAll<HTMLElement>('[data-key]')].find((element) => element.dataset.key === key);
  if (!sameRow) return;
  const buttons = [...sameRow.querySelectorAll<HTMLElement>('button:not(:disabled)')];
  const others = [...sameRow.querySelectorAll<HTMLElement>('a[href], input:not(:disabled)')];
  (buttons.find((element) => element.dataset.test === control) ?? others.find((element) => element.dataset.test === control) ?? buttons[0] ?? others[0])?.focus();
}

/** "Loading…" until the first answer. */
export function loading(): HTMLElement {
  return h('p', { class: 'empty', 'aria-busy': 'true' }, 'Loading…');
}
