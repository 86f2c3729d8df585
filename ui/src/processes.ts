// The container's processes (ps -ef inside it), refreshed every second while
// this view is open: the page's one polling timer. Each row has a kill button.

import { containerTop, killProcess, type ContainerDetails, type ProcessTable } from './api';
import { h } from './dom';
import { actionButton, confirmDialog, dataTable, loading, replaceKeepingFocus, reportError, showError, type ViewContext } from './ui';

const REFRESH_MS = 1000;

export function mountProcesses(ctx: ViewContext, container: ContainerDetails): void {
  const listHost = h('div', { class: 'list' }, loading());
  ctx.host.append(listHost);
  if (!container.running) {
    listHost.replaceChildren(h('p', { class: 'empty' }, 'The container is not running.'));
    return;
  }

  const render = (table: ProcessTable): void => {
    const pidColumn = table.titles.indexOf('PID');
    if (pidColumn < 0) {
      showError('the process list has no PID column');
      return;
    }
    const rows = table.processes.map((process) => {
      const pid = process[pidColumn] ?? '';
      return {
        key: pid,
        attributes: { 'data-test': 'process-row', 'data-pid': pid },
        cells: [
          ...table.titles.map((_, i) => process[i] ?? ''),
          actionButton('Kill', { class: 'danger', 'data-test': 'kill-process', 'aria-label': `Kill process ${pid}` }, async () => {
            if (await confirmDialog(`Kill process ${pid} (${process[process.length - 1] ?? ''}) with SIGKILL?`, 'Kill')) await killProcess(container.id, pid);
          }),
        ],
      };
    });
    replaceKeepingFocus(listHost, dataTable([...table.titles, ''], rows, 'No processes.'));
  };

  // Timed from each reply, so a slow server never has requests piling up.
  let timer: ReturnType<typeof setTimeout> | undefined;
  const refresh = (): void => {
    if (document.hidden) {
      timer = setTimeout(refresh, REFRESH_MS);
      return;
    }
    containerTop(container.id, ctx.signal).then(
      (table) => {
        render(table);
        if (!ctx.signal.aborted) timer = setTimeout(refresh, REFRESH_MS);
      },
      (error: unknown) => {
        // Stopped, not retried every second: the error would only repeat.
        reportError(error);
        listHost.replaceChildren(h('p', { class: 'empty' }, 'The process list stopped refreshing.'), actionButton('Refresh again', { 'data-test': 'processes-retry' }, refresh));
      },
    );
  };
  ctx.signal.addEventListener('abort', () => clearTimeout(timer));
  refresh();
}
