// The container's filesystem: folders listed by ctk's ls endpoint; files read,
// downloaded and uploaded as tar through docker's archive endpoint.

import { ApiError, getArchive, listDirectory, putArchive, type ContainerDetails, type FileEntry } from './api';
import { h, saveBlob } from './dom';
import { formatBytes, formatMode, formatTime } from './format';
import { concat, readChunks } from './streams';
import { findFirstFile, readTar, writeTar } from './tar';
import { actionButton, dataTable, loading, reportError, type TableRow, type ViewContext } from './ui';

/** The most of a file the viewer shows (and downloads, to show it). */
const VIEW_LIMIT = 1 << 20;

function joinPath(directory: string, name: string): string {
  return directory.endsWith('/') ? `${directory}${name}` : `${directory}/${name}`;
}

function parentOf(path: string): string {
  const trimmed = path.replace(/\/+$/, '');
  const slash = trimmed.lastIndexOf('/');
  return slash <= 0 ? '/' : trimmed.slice(0, slash);
}

function baseName(path: string): string {
  return path.replace(/\/+$/, '').split('/').pop() || 'root';
}

/** Reads just enough of the archive of `path` to show its first MiB. */
async function readHead(containerId: string, path: string, signal: AbortSignal): Promise<{ head: Uint8Array; size: number }> {
  const stop = new AbortController();
  signal.addEventListener('abort', () => stop.abort(), { once: true });
  const response = await getArchive(containerId, path, stop.signal);
  let received: Uint8Array = new Uint8Array(0);
  let result: { head: Uint8Array; size: number } | undefined;
  if (!response.body) throw new Error('the server sent no archive');
  await readChunks(response.body, stop.signal, (chunk) => {
    if (result) return;
    received = concat(received, chunk);
    const first = findFirstFile(received, VIEW_LIMIT);
    if (first.state === 'found') {
      result = { head: first.head, size: first.entry.size };
      stop.abort(); // the rest of a large file is not needed
    } else if (first.state === 'none') {
      throw new Error(`${path}: not a regular file`);
    }
  });
  if (!result) throw new Error(`${path}: the archive ended before the file did`);
  return result;
}

async function downloadFile(containerId: string, path: string): Promise<void> {
  const archive = new Uint8Array(await (await getArchive(containerId, path)).arrayBuffer());
  for (const entry of readTar(archive)) {
    if (entry.type !== 'file') continue;
    // Typed as bytes: Chromium would add .txt to the name of a text file
    // it sniffs (passwd -> passwd.txt).
    saveBlob(new Blob([entry.data.slice()], { type: 'application/octet-stream' }), baseName(path));
    return;
  }
  throw new Error(`${path}: not a regular file`);
}

async function downloadFolder(containerId: string, path: string): Promise<void> {
  const archive = await (await getArchive(containerId, path)).blob();
  saveBlob(new Blob([archive], { type: 'application/x-tar' }), `${baseName(path)}.tar`);
}

export function mountFiles(ctx: ViewContext, container: ContainerDetails): void {
  let path = '/';
  const pathInput = h('input', { type: 'text', value: path, 'aria-label': 'Path', 'data-test': 'file-path', spellcheck: 'false', autocomplete: 'off' });
  const upload = h('input', { type: 'file', multiple: true, 'data-test': 'upload' });
  const uploadStatus = h('span', { class: 'muted', 'aria-live': 'polite', 'data-test': 'upload-status' });
  const listHost = h('div', { class: 'list', 'data-test': 'file-list' }, loading());
  const viewer = h('section', { class: 'viewer', 'aria-label': 'File contents', hidden: true });
  const pathForm = h(
    'form',
    { class: 'inline-form' },
    h('button', { type: 'button', 'data-test': 'file-up', onclick: () => open(parentOf(path)) }, 'Up'),
    pathInput,
    h('button', { type: 'submit' }, 'Go'),
  );
  pathForm.addEventListener('submit', (event) => {
    event.preventDefault();
    open(pathInput.value.trim() || '/');
  });
  ctx.host.append(
    pathForm,
    h(
      'div',
      { class: 'toolbar' },
      actionButton('Download folder (tar)', { 'data-test': 'download-folder' }, () => downloadFolder(container.id, path)),
      h('label', { class: 'upload' }, 'Upload files here: ', upload),
      uploadStatus,
    ),
    viewer,
    listHost,
  );

  let listing = new AbortController();
  ctx.signal.addEventListener('abort', () => listing.abort());

  const view = async (filePath: string): Promise<void> => {
    viewer.hidden = false;
    viewer.replaceChildren(h('h2', {}, filePath), loading());
    const { head, size } = await readHead(container.id, filePath, ctx.signal);
    const note = size > head.length ? h('p', { class: 'muted' }, `Showing the first ${formatBytes(head.length)} of ${formatBytes(size)}.`) : null;
    const body = head.includes(0)
      ? h('p', { class: 'empty', 'data-test': 'file-binary' }, `Binary file, ${formatBytes(size)}.`)
      : h('pre', { class: 'file-text', 'data-test': 'file-view', tabindex: 0 }, new TextDecoder().decode(head));
    viewer.replaceChildren(
      h('div', { class: 'page-head' }, h('h2', {}, filePath), h('button', { type: 'button', 'data-test': 'viewer-close', onclick: () => (viewer.hidden = true) }, 'Close')),
      ...(note ? [note] : []),
      body,
    );
  };

  const row = (entry: FileEntry): TableRow => {
    const full = joinPath(path, entry.name);
    const nameCell =
      entry.type === 'dir' || entry.type === 'symlink'
        ? h('button', { type: 'button', class: 'link', 'data-test': 'file-open', onclick: () => open(full, entry.type === 'symlink') }, entry.name)
        : entry.type === 'file'
          ? h('button', { type: 'button', class: 'link', 'data-test': 'file-open', onclick: () => view(full).catch(reportError) }, entry.name)
          : h('span', {}, entry.name);
    return {
      key: entry.name,
      attributes: { 'data-test': 'file-row', 'data-name': entry.name, 'data-type': entry.type },
      cells: [
        h('span', {}, nameCell, entry.type === 'symlink' ? h('span', { class: 'muted' }, ` → ${entry.target}`) : ''),
        entry.type === 'dir' ? '' : formatBytes(entry.size),
        h('code', {}, formatMode(entry.mode, entry.type)),
        formatTime(entry.mtime),
        entry.type === 'file'
          ? actionButton('Download', { 'data-test': 'file-download', 'aria-label': `Download ${entry.name}` }, () => downloadFile(container.id, full))
          : entry.type === 'dir'
            ? actionButton('Download (tar)', { 'data-test': 'file-download', 'aria-label': `Download ${entry.name} as tar` }, () => downloadFolder(container.id, full))
            : '',
      ],
    };
  };

  /**
   * Lists a folder. A symlink is tried as a folder first; one the server says
   * is not a directory (400) is shown as a file instead.
   */
  function open(target: string, maybeFile = false): void {
    listing.abort();
    const current = (listing = new AbortController());
    // Uploads go to the folder shown: none while another one loads.
    upload.disabled = true;
    listDirectory(container.id, target, current.signal).then(
      (result) => {
        path = result.path || target;
        pathInput.value = path;
        const entries = [...result.entries].sort((a, b) => Number(b.type === 'dir') - Number(a.type === 'dir') || a.name.localeCompare(b.name));
        listHost.replaceChildren(dataTable(['Name', 'Size', 'Mode', 'Modified', ''], entries.map(row), 'This folder is empty.'));
        listHost.dataset.path = path;
        upload.disabled = false;
      },
      (error: unknown) => {
        if (listing === current) upload.disabled = false;
        if (maybeFile && error instanceof ApiError && error.status === 400) view(target).catch(reportError);
        else reportError(error);
      },
    );
  }

  upload.addEventListener('change', async () => {
    const files = [...(upload.files ?? [])];
    if (files.length === 0) return;
    const target = path;
    uploadStatus.textContent = `Uploading ${files.length} file(s)…`;
    try {
      await putArchive(container.id, target, writeTar(files.map((file) => ({ name: file.name, body: file, mtime: file.lastModified / 1000 }))));
      uploadStatus.textContent = `Uploaded ${files.map((file) => file.name).join(', ')} to ${target}`;
      if (path === target) open(target);
    } catch (error) {
      uploadStatus.textContent = '';
      reportError(error);
    } finally {
      upload.value = '';
    }
  });

  if (!container.running) listHost.before(h('p', { class: 'muted' }, 'The container is not running; ctk may not be able to read its files until it starts.'));
  open(path);
}
