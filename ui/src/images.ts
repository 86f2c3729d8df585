import { inspectImage, listImages, pullImage, removeImage } from './api';
import { h } from './dom';
import { formatBytes, formatTime } from './format';
import { num, obj, str } from './json';
import { mountResourceList } from './resources';
import { splitImageReference } from './runspec';
import { JsonLinesDecoder, readChunks } from './streams';
import { reportError, type ViewContext } from './ui';

export function mountImages(ctx: ViewContext): void {
  mountResourceList(ctx, {
    title: 'Images',
    noun: 'image',
    eventType: 'image',
    rowTest: 'image-row',
    headers: ['Tags', 'ID', 'Size', 'Created'],
    load: listImages,
    key: (image) => image.id,
    name: (image) => image.tags[0] ?? image.id.replace(/^sha256:/, '').slice(0, 12),
    cells: (image) => [image.tags.join(', ') || '<none>', image.id.replace(/^sha256:/, '').slice(0, 12), formatBytes(image.size), formatTime(image.created)],
    inspect: inspectImage,
    remove: removeImage,
    toolbar: (refresh) => pullForm(ctx.signal, refresh),
  });
}

function pullForm(signal: AbortSignal, pulled: () => void): HTMLElement {
  const input = h('input', { type: 'text', name: 'image', required: true, placeholder: 'alpine:latest', 'data-test': 'pull-image', autocomplete: 'off', spellcheck: 'false' });
  const submit = h('button', { type: 'submit', 'data-test': 'pull-submit' }, 'Pull');
  const progress = h('div', { class: 'pull' });
  const form = h('form', { class: 'inline-form' }, h('label', {}, 'Pull image ', input), submit);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    submit.disabled = true;
    try {
      await pullWithProgress(input.value, progress, signal);
      pulled();
    } catch (error) {
      reportError(error);
    } finally {
      submit.disabled = false;
    }
  });
  return h('div', {}, form, progress);
}

/** Layer statuses after which nothing is left to fetch. */
const LAYER_DONE = /^(Pull complete|Already exists|Download complete)$/;

/**
 * Pulls an image, drawing one bar per layer in `host` (data-test="pull-progress",
 * data-layer=the layer's id). Resolves when the pull finished; rejects with the
 * server's words if it failed, in the reply or in the stream.
 */
export async function pullWithProgress(reference: string, host: HTMLElement, signal: AbortSignal): Promise<void> {
  const { name, tag } = splitImageReference(reference);
  const overall = h('p', { class: 'pull-status', 'aria-live': 'polite' }, `Pulling ${name}:${tag}…`);
  const layersHost = h('div', { class: 'layers' });
  host.replaceChildren(overall, layersHost);
  const layers = new Map<string, { label: HTMLElement; bar: HTMLProgressElement }>();

  const layer = (id: string): { label: HTMLElement; bar: HTMLProgressElement } => {
    let found = layers.get(id);
    if (!found) {
      found = { label: h('span', { class: 'layer-status' }), bar: h('progress', { 'aria-label': `layer ${id}` }) };
      layersHost.append(h('div', { class: 'layer', 'data-test': 'pull-progress', 'data-layer': id }, h('code', {}, id), found.label, found.bar));
      layers.set(id, found);
    }
    return found;
  };

  let failure: string | undefined;
  const handle = (value: unknown): void => {
    const message = obj(value);
    if (message.error !== undefined || message.errorDetail !== undefined) {
      failure = str(obj(message.errorDetail).message, str(message.error, 'pull failed'));
      return;
    }
    const status = str(message.status);
    const id = str(message.id);
    // "Pulling from library/alpine" carries the tag as its id: not a layer.
    if (!id || status.startsWith('Pulling from')) {
      overall.textContent = id && status ? `${status} (${id})` : status;
      return;
    }
    const { label, bar } = layer(id);
    label.textContent = status;
    const detail = obj(message.progressDetail);
    const total = num(detail.total);
    if (LAYER_DONE.test(status)) {
      bar.max = 1;
      bar.value = 1;
    } else if (total > 0) {
      bar.max = total;
      bar.value = Math.min(num(detail.current), total);
    }
  };

  const decoder = new JsonLinesDecoder();
  await readChunks(await pullImage(name, tag, signal), signal, (chunk) => decoder.push(chunk).values.forEach(handle));
  decoder.end().values.forEach(handle);
  if (failure !== undefined) throw new Error(failure);
}
