// The containers list: refetched when a container event arrives (debounced),
// never polled; CPU and memory sampled every 5 s for the running rows on screen.

import { containerAction, containerStatsOnce, listContainers, removeContainer, type ContainerAction, type ContainerSummary, type PortMapping } from './api';
import { debounce, h } from './dom';
import { onEvents } from './events';
import { formatBytes } from './format';
import { cpuPercent, type StatsSample } from './metrics';
import { actionButton, confirmDialog, dataTable, loading, replaceKeepingFocus, reportError, type ViewContext } from './ui';

const STATS_INTERVAL_MS = 5000;
const FIRST_STATS_DELAY_MS = 1000;

function isRunning(state: string): boolean {
  return state === 'running' || state === 'restarting' || state === 'paused';
}

export function stateBadge(state: string): HTMLElement {
  return h('span', { class: `state state-${state || 'unknown'}`, 'data-test': 'state' }, state || 'unknown');
}

/**
 * start, stop, restart, kill and remove for one container, each enabled when
 * it applies. `changed` runs after an action succeeded (the events stream would
 * tell too, but may be down).
 */
export function containerButtons(container: { id: string; name: string; state: string }, changed: (action: ContainerAction | 'remove') => void): HTMLElement {
  const running = isRunning(container.state);
  const act = (action: ContainerAction, label: string, enabled: boolean): HTMLButtonElement =>
    actionButton(label, { 'data-test': action, disabled: !enabled, 'aria-label': `${label} ${container.name}` }, async () => {
      await containerAction(container.id, action);
      changed(action);
    });
  return h(
    'span',
    { class: 'buttons' },
    act('start', 'Start', !running),
    act('stop', 'Stop', running),
    act('restart', 'Restart', true),
    act('kill', 'Kill', running),
    actionButton('Remove', { class: 'danger', 'data-test': 'remove', 'aria-label': `Remove ${container.name}` }, async () => {
      const question = running ? `Remove ${container.name}? It is running: it will be killed, and its anonymous volumes removed.` : `Remove ${container.name} and its anonymous volumes?`;
      if (!(await confirmDialog(question, 'Remove'))) return;
      await removeContainer(container.id);
      changed('remove');
    }),
  );
}

/** Published ports as links to the host port, one per host port and protocol. */
function portLinks(ports: readonly PortMapping[]): HTMLElement {
  const seen = new Set<string>();
  const items: (HTMLElement | string)[] = [];
  for (const port of ports) {
    // Docker lists a port once per address family (0.0.0.0 and ::).
    const key = `${port.publicPort}/${port.privatePort}/${port.type}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const text = port.publicPort ? `${port.publicPort}→${port.privatePort}/${port.type}` : `${port.privatePort}/${port.type}`;
    items.push(
      port.publicPort && port.type === 'tcp'
        ? h('a', { href: `http://127.0.0.1:${port.publicPort}/`, target: '_blank', rel: 'noopener noreferrer', 'data-test': 'port-link' }, text)
        : h('span', {}, text),
    );
  }
  return h('span', { class: 'ports' }, ...items);
}

interface RowFigures {
  cpu: string;
  memory: string;
}

export function mountContainers(ctx: ViewContext): void {
  const listHost = h('div', { class: 'list' }, loading());
  ctx.host.append(
    h('div', { class: 'page-head' }, h('h1', {}, 'Containers'), h('a', { href: '#/run', class: 'button primary', 'data-test': 'run' }, 'Run a container')),
    listHost,
  );

  let containers: ContainerSummary[] = [];
  const figures = new Map<string, RowFigures>();
  const lastSample = new Map<string, StatsSample>();
  const onScreen = new Set<string>();
  const visibility = new IntersectionObserver((entries) => {
    for (const entry of entries) {
      const key = (entry.target as HTMLElement).dataset.key ?? '';
      if (entry.isIntersecting) onScreen.add(key);
      else onScreen.delete(key);
    }
  });
  ctx.signal.addEventListener('abort', () => visibility.disconnect());

  const render = (): void => {
    const rows = containers.map((c) => ({
      key: c.id,
      attributes: { 'data-test': 'container-row', 'data-name': c.name, 'data-state': c.state, 'data-id': c.id },
      cells: [
        h('a', { href: `#/containers/${encodeURIComponent(c.id)}`, 'data-test': 'container-link' }, c.name),
        c.image,
        stateBadge(c.state),
        c.status,
        portLinks(c.ports),
        h('span', { 'data-test': 'cpu' }, figures.get(c.id)?.cpu ?? '—'),
        h('span', { 'data-test': 'memory' }, figures.get(c.id)?.memory ?? '—'),
        containerButtons(c, refresh),
      ],
    }));
    visibility.disconnect();
    onScreen.clear();
    replaceKeepingFocus(listHost, dataTable(['Name', 'Image', 'State', 'Status', 'Ports', 'CPU', 'Memory', ''], rows, 'No containers yet.'));
    listHost.querySelectorAll('tr[data-key]').forEach((row) => visibility.observe(row));
  };

  const refresh = debounce(() => {
    listContainers(ctx.signal).then((list) => {
      containers = list;
      render();
    }, reportError);
  }, 250);
  ctx.signal.addEventListener('abort', refresh.cancel);
  onEvents(['container'], refresh, ctx.signal);
  refresh();

  // One request at a time, only for running rows on screen, none while the tab is hidden.
  const sampleStats = async (): Promise<void> => {
    if (document.hidden) return;
    for (const c of containers.filter((c) => c.state === 'running' && onScreen.has(c.id))) {
      if (ctx.signal.aborted) return;
      try {
        const sample = await containerStatsOnce(c.id, ctx.signal);
        const cpu = cpuPercent(sample, lastSample.get(c.id));
        lastSample.set(c.id, sample);
        const shown = { cpu: cpu === undefined ? '—' : `${cpu.toFixed(1)}%`, memory: formatBytes(sample.memoryUsed) };
        figures.set(c.id, shown);
        const row = listHost.querySelector<HTMLElement>(`tr[data-key="${CSS.escape(c.id)}"]`);
        row?.querySelector('[data-test="cpu"]')?.replaceChildren(shown.cpu);
        row?.querySelector('[data-test="memory"]')?.replaceChildren(shown.memory);
      } catch {
        // The container stopped between the list and this request: its next event redraws the row.
      }
    }
  };
  // Timed from the end of a round, so that slow replies never make rounds overlap;
  // the first round soon after the list arrives, the second gives the first CPU figure.
  let timer = setTimeout(function sampleRound() {
    void sampleStats().then(() => {
      if (!ctx.signal.aborted) timer = setTimeout(sampleRound, STATS_INTERVAL_MS);
    });
  }, FIRST_STATS_DELAY_MS);
  ctx.signal.addEventListener('abort', () => clearTimeout(timer));
}
