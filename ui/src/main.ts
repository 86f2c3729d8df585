// The page: a header with the sections, the error bar, and one view at a time
// chosen by the URL's hash (#/containers, #/containers/ID/logs, #/images …), so
// that the server serves one index.html. Changing the view aborts the old
// view's signal, which ends its requests, streams and timers.

import './app.css';
import { onSessionExpired, SESSION_EXPIRED } from './api';
import { mountContainerPage, DEFAULT_TAB, type ContainerPage } from './container';
import { mountContainers } from './containers';
import { h } from './dom';
import { onEventsState } from './events';
import { mountImages } from './images';
import { mountNetworks } from './networks';
import { mountRun } from './run';
import { errorBarElement, showError, type ViewContext } from './ui';
import { mountVolumes } from './volumes';

type Route =
  | { page: 'containers' | 'run' | 'images' | 'volumes' | 'networks' }
  | { page: 'container'; id: string; tab: string }
  | { page: 'not-found' };

const SECTIONS = [
  { page: 'containers', label: 'Containers' },
  { page: 'images', label: 'Images' },
  { page: 'volumes', label: 'Volumes' },
  { page: 'networks', label: 'Networks' },
] as const;

function parseRoute(hash: string): Route {
  const parts = hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(decodeURIComponent);
  const [first = 'containers', id, tab] = parts;
  if (first === 'containers' && id) return parts.length <= 3 ? { page: 'container', id, tab: tab ?? DEFAULT_TAB } : { page: 'not-found' };
  if (parts.length <= 1 && ['containers', 'run', 'images', 'volumes', 'networks'].includes(first)) return { page: first as 'containers' };
  return { page: 'not-found' };
}

// The server set the session cookie when it served this page for ?token=…; the
// token has no business staying in the address bar, the history or a bookmark.
if (new URLSearchParams(location.search).has('token')) history.replaceState(null, '', `${location.pathname}${location.hash}`);

const main = h('main', { id: 'main' });
const nav = h('nav', { class: 'sections', 'aria-label': 'Sections' });
const liveness = h('span', { class: 'liveness', 'data-test': 'events-state', title: 'Live updates' });

document.body.append(
  h('a', { href: '#main', class: 'skip' }, 'Skip to content'),
  h('header', { class: 'top' }, h('a', { href: '#/containers', class: 'brand' }, 'ctk'), nav, liveness),
  errorBarElement(),
  main,
);

onSessionExpired(() => showError(SESSION_EXPIRED));
onEventsState((state) => {
  liveness.dataset.state = state;
  liveness.textContent = state === 'live' ? '● live' : state === 'connecting' ? '○ connecting' : '○ reconnecting';
});

let current: { key: string; abort: AbortController; page?: ContainerPage } | undefined;

function show(): void {
  const route = parseRoute(location.hash);
  const section = route.page === 'container' || route.page === 'run' ? 'containers' : route.page;
  nav.replaceChildren(...SECTIONS.map((s) => h('a', { href: `#/${s.page}`, 'aria-current': s.page === section ? 'page' : false }, s.label)));

  // Another tab of the same container keeps the page (and its header) and swaps the tab.
  const key = route.page === 'container' ? `container/${route.id}` : route.page;
  if (current?.key === key && current.page && route.page === 'container') {
    current.page.showTab(route.tab);
    return;
  }
  current?.abort.abort();
  const abort = new AbortController();
  main.replaceChildren();
  const ctx: ViewContext = { host: main, signal: abort.signal };
  current = { key, abort };
  switch (route.page) {
    case 'containers':
      return mountContainers(ctx);
    case 'container':
      current.page = mountContainerPage(ctx, route.id, route.tab);
      return;
    case 'run':
      return mountRun(ctx);
    case 'images':
      return mountImages(ctx);
    case 'volumes':
      return mountVolumes(ctx);
    case 'networks':
      return mountNetworks(ctx);
    case 'not-found':
      main.append(h('h1', {}, 'Not found'), h('p', {}, h('a', { href: '#/containers' }, 'Back to the containers')));
  }
}

window.addEventListener('hashchange', show);
show();
