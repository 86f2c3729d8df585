// DOM building without HTML strings: everything from the server reaches the
// page as text nodes and attribute values, never as markup.

export type Child = Node | string | number | null | undefined | false;

type Listener = (event: Event) => void;
export type Attributes = Record<string, string | number | boolean | null | undefined | Listener>;

/**
 * h('button', {class: 'danger', 'data-test': 'stop', onclick: stop}, 'Stop').
 * "on…" keys add listeners; true sets an empty attribute; false, null and
 * undefined leave it out.
 */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attributes: Attributes = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (typeof value === 'function') element.addEventListener(name.slice(2), value);
    else if (value === true) element.setAttribute(name, '');
    else if (value !== false && value !== null && value !== undefined) element.setAttribute(name, String(value));
  }
  append(element, ...children);
  return element;
}

export function append(parent: Node, ...children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    parent.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replaces an element's children. */
export function fill(parent: Element, ...children: Child[]): void {
  parent.replaceChildren();
  append(parent, ...children);
}

/** A function that runs `fn` `ms` after the last of a burst of calls. */
export function debounce(fn: () => void, ms: number): { (): void; cancel(): void } {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const debounced = (): void => {
    clearTimeout(timer);
    timer = setTimeout(fn, ms);
  };
  debounced.cancel = (): void => clearTimeout(timer);
  return debounced;
}

/** Saves a Blob as a file, the browser's download way. */
export function saveBlob(blob: Blob, filename: string): void {
  const url = URL.createObjectURL(blob);
  const link = h('a', { href: url, download: filename });
  document.body.append(link);
  link.click();
  link.remove();
  // The download has started from the URL by now; a later revoke frees the Blob.
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}
