// One container's page: a header (state, image, uptime, the action buttons) over
// tabs, one view each. Switching tabs closes the old view (its streams and
// timers end with its signal) and keeps the header.

import { inspectContainer, type ContainerDetails } from './api';
import { h } from './dom';
import { onEvents } from './events';
import { formatDuration } from './format';
import { containerButtons, stateBadge } from './containers';
import { mountFiles } from './files';
import { mountLogs } from './logs';
import { mountProcesses } from './processes';
import { mountStats } from './stats';
import { mountTerminal } from './terminal';
import { reportError, type ViewContext } from './ui';

type TabView = (ctx: ViewContext, container: ContainerDetails) => void;

const TABS: readonly { id: string; label: string; mount: TabView }[] = [
  { id: 'logs', label: 'Logs', mount: mountLogs },
  { id: 'terminal', label: 'Terminal', mount: (ctx, c) => mountTerminal(ctx, c, 'exec') },
  { id: 'attach', label: 'Attach', mount: (ctx, c) => mountTerminal(ctx, c, 'attach') },
  { id: 'files', label: 'Files', mount: mountFiles },
  { id: 'processes', label: 'Processes', mount: mountProcesses },
  { id: 'stats', label: 'Stats', mount: mountStats },
  { id: 'inspect', label: 'Inspect', mount: mountInspect },
];

export const DEFAULT_TAB = 'logs';

function mountInspect(ctx: ViewContext, container: ContainerDetails): void {
  ctx.host.append(h('pre', { class: 'json', 'data-test': 'inspect-json', tabindex: 0 }, JSON.stringify(container.raw, null, 2)));
}

// Docker's StartedAt for a container never started.
const ZERO_TIME = /^0001-01-01/;

function uptime(container: ContainerDetails): string {
  if (!container.running || ZERO_TIME.test(container.startedAt)) return '';
  const started = Date.parse(container.startedAt);
  return Number.isNaN(started) ? '' : `up ${formatDuration((Date.now() - started) / 1000)}`;
}

export interface ContainerPage {
  showTab(tab: string): void;
}

export function mountContainerPage(ctx: ViewContext, containerId: string, firstTab: string): ContainerPage {
  const head = h('div', { class: 'container-head' }, h('h1', {}, containerId.slice(0, 12)));
  const tabsNav = h('nav', { class: 'tabs', 'aria-label': 'Container views' });
  const tabHost = h('section', { class: 'tab' });
  ctx.host.append(h('p', {}, h('a', { href: '#/containers' }, '← Containers')), head, tabsNav, tabHost);

  let container: ContainerDetails | undefined;
  let tab = firstTab;
  let tabAbort = new AbortController();
  ctx.signal.addEventListener('abort', () => tabAbort.abort());

  const uptimeText = h('span', { class: 'muted', 'data-test': 'uptime' });
  // The uptime counts on between reloads.
  const ticker = setInterval(() => {
    if (container) uptimeText.textContent = uptime(container);
  }, 1000);
  ctx.signal.addEventListener('abort', () => clearInterval(ticker));

  const renderHead = (c: ContainerDetails): void => {
    uptimeText.textContent = uptime(c);
    head.replaceChildren(
      h('h1', { 'data-test': 'container-name' }, c.name),
      stateBadge(c.state),
      h('span', { class: 'muted' }, c.image),
      uptimeText,
      containerButtons(c, (action) => {
        if (action === 'remove') location.hash = '#/containers';
        else reload(false);
      }),
    );
  };

  const renderTab = (): void => {
    tabAbort.abort();
    tabAbort = new AbortController();
    const current = TABS.find((t) => t.id === tab) ?? TABS[0];
    tabsNav.replaceChildren(
      ...TABS.map((t) =>
        h('a', { href: `#/containers/${encodeURIComponent(containerId)}/${t.id}`, 'aria-current': t === current ? 'page' : false, 'data-test': `tab-${t.id}` }, t.label),
      ),
    );
    tabHost.replaceChildren();
    if (container) current.mount({ host: tabHost, signal: tabAbort.signal }, container);
  };

  /** Reads the container again; the open tab restarts only if asked (a start or restart changes its streams). */
  const reload = (remountTab: boolean): void => {
    inspectContainer(containerId, ctx.signal).then((c) => {
      const first = container === undefined;
      container = c;
      renderHead(c);
      if (first || remountTab) renderTab();
    }, reportError);
  };

  onEvents(
    ['container'],
    (event) => {
      if (event !== null && event.action === 'destroy' && event.actorId === container?.id) {
        location.hash = '#/containers';
      } else if (event === null || event.actorId === containerId || event.actorId === container?.id) {
        // A start gives logs, stats and terminals a new process to follow.
        reload(event?.action === 'start');
      }
    },
    ctx.signal,
  );
  renderTab();
  reload(false);

  return {
    showTab(next: string): void {
      tab = next;
      renderTab();
    },
  };
}
