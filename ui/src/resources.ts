// The images, volumes and networks pages share one shape: a list that refetches
// when an event of its kind arrives, a create form, remove and inspect per row.

import { debounce, h, type Child } from './dom';
import { onEvents } from './events';
import { actionButton, confirmDialog, dataTable, loading, replaceKeepingFocus, reportError, showJsonDialog, type ViewContext } from './ui';

export interface ResourceSpec<T> {
  /** Page heading, and the dialog titles' noun. */
  title: string;
  noun: string;
  /** The events stream's Type for this kind. */
  eventType: string;
  /** data-test of each row; rows also carry data-name. */
  rowTest: string;
  headers: readonly string[];
  load(signal: AbortSignal): Promise<T[]>;
  /** What remove and inspect take. */
  key(item: T): string;
  name(item: T): string;
  cells(item: T): Child[];
  inspect(key: string, signal: AbortSignal): Promise<unknown>;
  remove(key: string): Promise<void>;
  /** Above the list: a create or pull form, handed the list's refresh. */
  toolbar(refresh: () => void): Node;
}

/** A list refetched on its events, debounced: a burst of events costs one request. */
export function mountResourceList<T>(ctx: ViewContext, spec: ResourceSpec<T>): void {
  const listHost = h('div', { class: 'list' }, loading());

  const render = (items: T[]): void => {
    const rows = items.map((item) => ({
      key: spec.key(item),
      attributes: { 'data-test': spec.rowTest, 'data-name': spec.name(item) },
      cells: [
        ...spec.cells(item),
        h(
          'span',
          { class: 'buttons' },
          actionButton('Inspect', { 'data-test': 'inspect' }, () => showJsonDialog(`${spec.noun} ${spec.name(item)}`, (signal) => spec.inspect(spec.key(item), signal))),
          actionButton('Remove', { class: 'danger', 'data-test': 'remove' }, async () => {
            if (await confirmDialog(`Remove ${spec.noun} ${spec.name(item)}?`, 'Remove')) {
              await spec.remove(spec.key(item));
              refresh();
            }
          }),
        ),
      ],
    }));
    replaceKeepingFocus(listHost, dataTable([...spec.headers, ''], rows, `No ${spec.title.toLowerCase()}.`));
  };

  const refresh = debounce(() => {
    spec.load(ctx.signal).then(render, reportError);
  }, 200);
  ctx.signal.addEventListener('abort', refresh.cancel);
  ctx.host.append(h('h1', {}, spec.title), spec.toolbar(refresh), listHost);
  onEvents([spec.eventType], refresh, ctx.signal);
  refresh();
}

/** A one-field create form (volumes, networks): the name, then Create. */
export function createForm(label: string, testId: string, create: (name: string) => Promise<void>, created: () => void): HTMLFormElement {
  const input = h('input', { type: 'text', name: 'name', required: true, 'data-test': `${testId}-name`, autocomplete: 'off' });
  const submit = h('button', { type: 'submit', 'data-test': `${testId}-submit` }, 'Create');
  const form = h('form', { class: 'inline-form' }, h('label', {}, label, ' ', input), submit);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    submit.disabled = true;
    try {
      await create(input.value.trim());
      input.value = '';
      created();
    } catch (error) {
      reportError(error);
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}
