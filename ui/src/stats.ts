// CPU and memory of the last minutes, from the stats stream (one object a
// second), drawn as two small SVG charts.

import { containerStatsStream, type ContainerDetails } from './api';
import { h } from './dom';
import { formatBytes } from './format';
import { cpuPercent, parseStats } from './metrics';
import { JsonLinesDecoder, readChunks } from './streams';
import { reportError, type ViewContext } from './ui';

const WINDOW_MS = 5 * 60 * 1000;
const WIDTH = 300;
const HEIGHT = 80;
const SVG = 'http://www.w3.org/2000/svg';

interface Point {
  time: number;
  value: number;
}

interface Chart {
  element: HTMLElement;
  draw(points: readonly Point[], max: number, now: number, caption: string): void;
}

/** A chart of the last WINDOW_MS; `formatScale` words its top value. */
function chart(title: string, testId: string, formatScale: (max: number) => string): Chart {
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', `0 0 ${WIDTH} ${HEIGHT}`);
  svg.setAttribute('preserveAspectRatio', 'none');
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', `${title} over the last ${WINDOW_MS / 60000} minutes`);
  const area = document.createElementNS(SVG, 'polygon');
  area.setAttribute('class', 'area');
  const line = document.createElementNS(SVG, 'polyline');
  line.setAttribute('class', 'line');
  svg.append(area, line);
  const caption = h('span', { class: 'figure', 'data-test': `${testId}-value` }, '—');
  const scale = h('span', { class: 'muted' });
  const element = h('figure', { class: 'chart', 'data-test': testId }, h('figcaption', {}, h('strong', {}, title), ' ', caption, ' ', scale), svg);
  return {
    element,
    draw(points, max, now, text) {
      const coordinates = points.map((p) => {
        const x = ((p.time - (now - WINDOW_MS)) / WINDOW_MS) * WIDTH;
        const y = HEIGHT - (Math.min(p.value, max) / max) * HEIGHT;
        return `${x.toFixed(1)},${y.toFixed(1)}`;
      });
      line.setAttribute('points', coordinates.join(' '));
      // The area under the line: down to the baseline at both ends.
      const x = (coordinate: string | undefined): string => coordinate?.split(',')[0] ?? '0';
      area.setAttribute('points', coordinates.length ? `${x(coordinates[0])},${HEIGHT} ${coordinates.join(' ')} ${x(coordinates.at(-1))},${HEIGHT}` : '');
      caption.textContent = text;
      scale.textContent = `(scale 0–${formatScale(max)})`;
    },
  };
}

export function mountStats(ctx: ViewContext, container: ContainerDetails): void {
  if (!container.running) {
    ctx.host.append(h('p', { class: 'empty' }, 'The container is not running.'));
    return;
  }
  const cpuChart = chart('CPU', 'cpu-chart', (max) => `${max}%`);
  const memoryChart = chart('Memory', 'memory-chart', formatBytes);
  ctx.host.append(h('div', { class: 'charts' }, cpuChart.element, memoryChart.element));

  const cpu: Point[] = [];
  const memory: Point[] = [];
  const handle = (value: unknown): void => {
    const sample = parseStats(value);
    const now = Date.now();
    const percent = cpuPercent(sample);
    if (percent !== undefined) cpu.push({ time: now, value: percent });
    memory.push({ time: now, value: sample.memoryUsed });
    for (const points of [cpu, memory]) while (points.length && points[0].time < now - WINDOW_MS) points.shift();

    // CPU in whole hundreds (one CPU each); memory up to the limit.
    const cpuMax = Math.max(100, Math.ceil(Math.max(...cpu.map((p) => p.value)) / 100) * 100);
    const memoryMax = sample.memoryLimit > 0 ? sample.memoryLimit : Math.max(1, ...memory.map((p) => p.value));
    cpuChart.draw(cpu, cpuMax, now, percent === undefined ? '—' : `${percent.toFixed(1)}%`);
    memoryChart.draw(memory, memoryMax, now, `${formatBytes(sample.memoryUsed)} of ${formatBytes(sample.memoryLimit)}`);
  };

  const decoder = new JsonLinesDecoder();
  containerStatsStream(container.id, ctx.signal)
    .then((body) => readChunks(body, ctx.signal, (chunk) => decoder.push(chunk).values.forEach(handle)))
    .catch(reportError);
}
