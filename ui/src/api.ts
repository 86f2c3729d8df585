// Every request the page makes, in one place (docs/UI.md lists them for the
// server side). Same origin; the session is a cookie the server set when the
// page was opened with ?token=, so no request carries a token.

import { bool, list, num, obj, str, stringMap, strings } from './json';
import { parseStats, type StatsSample } from './metrics';
import type { CreateRequest } from './runspec';

const ENGINE = '/v1.44';

export const SESSION_EXPIRED = 'session expired: reopen the URL ctk printed';

/** A non-2xx reply: `message` is the server's {"message": ...} as it said it. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

let sessionExpired: () => void = () => undefined;

/** Called once a request is refused for want of a session (401). */
export function onSessionExpired(handler: () => void): void {
  sessionExpired = handler;
}

type Query = Record<string, string | number | boolean | undefined>;

interface RequestOptions {
  query?: Query;
  /** Sent as application/json. */
  json?: unknown;
  body?: Blob;
  signal?: AbortSignal;
}

function urlOf(path: string, query: Query = {}): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined) continue;
    params.set(key, value === true ? '1' : value === false ? '0' : String(value));
  }
  const search = params.toString();
  return search ? `${path}?${search}` : path;
}

async function errorOf(response: Response): Promise<ApiError> {
  if (response.status === 401) {
    sessionExpired();
    return new ApiError(401, SESSION_EXPIRED);
  }
  const text = await response.text().catch(() => '');
  let message = text.trim();
  try {
    const parsed = obj(JSON.parse(text));
    if (typeof parsed.message === 'string') message = parsed.message;
  } catch {
    // Not JSON (a proxy's page, say): the text as it came.
  }
  return new ApiError(response.status, message || `${response.status} ${response.statusText}`);
}

/** A request whose reply must be 2xx; the reply is handed back unread. */
export async function request(method: string, path: string, options: RequestOptions = {}): Promise<Response> {
  const headers: Record<string, string> = {};
  let body: BodyInit | undefined;
  if (options.json !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(options.json);
  } else if (options.body) {
    headers['Content-Type'] = options.body.type || 'application/octet-stream';
    body = options.body;
  }
  const response = await fetch(urlOf(path, options.query), {
    method,
    headers,
    body,
    credentials: 'same-origin',
    signal: options.signal,
  });
  if (!response.ok) throw await errorOf(response);
  return response;
}

async function getJson(path: string, query?: Query, signal?: AbortSignal): Promise<unknown> {
  const response = await request('GET', path, { query, signal });
  return response.json();
}

async function postJson(path: string, json: unknown, query?: Query): Promise<unknown> {
  const response = await request('POST', path, { json, query });
  // 204 No Content and empty 201s have no JSON to read.
  const text = await response.text();
  return text ? JSON.parse(text) : {};
}

/** A streaming body, checked present: fetch gives none for some statuses. */
function bodyOf(response: Response): ReadableStream<Uint8Array> {
  if (!response.body) throw new ApiError(response.status, 'the server sent no body');
  return response.body;
}

const id = encodeURIComponent;

// ---- containers

export interface PortMapping {
  ip: string;
  privatePort: number;
  /** 0 when the port is exposed but not published. */
  publicPort: number;
  type: string;
}

export interface ContainerSummary {
  id: string;
  name: string;
  image: string;
  state: string;
  /** Docker's own words: "Up 3 minutes", "Exited (0) 2 hours ago". */
  status: string;
  created: number;
  ports: PortMapping[];
  labels: Record<string, string>;
}

function parsePorts(value: unknown): PortMapping[] {
  return list(value).map((item) => {
    const port = obj(item);
    return { ip: str(port.IP), privatePort: num(port.PrivatePort), publicPort: num(port.PublicPort), type: str(port.Type, 'tcp') };
  });
}

export async function listContainers(signal?: AbortSignal): Promise<ContainerSummary[]> {
  const items = list(await getJson(`${ENGINE}/containers/json`, { all: true }, signal));
  return items.map((item) => {
    const c = obj(item);
    return {
      id: str(c.Id),
      name: (strings(c.Names)[0] ?? str(c.Id).slice(0, 12)).replace(/^\//, ''),
      image: str(c.Image),
      state: str(c.State),
      status: str(c.Status),
      created: num(c.Created),
      ports: parsePorts(c.Ports),
      labels: stringMap(c.Labels),
    };
  });
}

export interface ContainerDetails {
  id: string;
  name: string;
  image: string;
  state: string;
  running: boolean;
  /** RFC 3339; docker's zero time when never started. */
  startedAt: string;
  tty: boolean;
  /** The whole inspect object, for the Inspect tab. */
  raw: unknown;
}

export async function inspectContainer(containerId: string, signal?: AbortSignal): Promise<ContainerDetails> {
  const raw = await getJson(`${ENGINE}/containers/${id(containerId)}/json`, undefined, signal);
  const c = obj(raw);
  const state = obj(c.State);
  return {
    id: str(c.Id),
    name: str(c.Name).replace(/^\//, ''),
    image: str(obj(c.Config).Image, str(c.Image)),
    state: str(state.Status),
    running: bool(state.Running),
    startedAt: str(state.StartedAt),
    tty: bool(obj(c.Config).Tty),
    raw,
  };
}

export type ContainerAction = 'start' | 'stop' | 'restart' | 'kill';

export async function containerAction(containerId: string, action: ContainerAction): Promise<void> {
  await request('POST', `${ENGINE}/containers/${id(containerId)}/${action}`);
}

export async function removeContainer(containerId: string): Promise<void> {
  await request('DELETE', `${ENGINE}/containers/${id(containerId)}`, { query: { force: true, v: true } });
}

/** Creates a container; the new container's id. */
export async function createContainer(create: CreateRequest): Promise<string> {
  const query = { name: create.name || undefined, profile: create.profile || undefined };
  return str(obj(await postJson(`${ENGINE}/containers/create`, create.body, query)).Id);
}

/** docker's words for a create refused because the image is not here (pull, then create again). */
export function isMissingImage(error: unknown): boolean {
  return error instanceof ApiError && error.status === 404 && /image/i.test(error.message);
}

export async function containerLogs(containerId: string, signal: AbortSignal): Promise<ReadableStream<Uint8Array>> {
  const query = { follow: true, stdout: true, stderr: true, timestamps: true, tail: 500 };
  return bodyOf(await request('GET', `${ENGINE}/containers/${id(containerId)}/logs`, { query, signal }));
}

export async function containerStatsStream(containerId: string, signal: AbortSignal): Promise<ReadableStream<Uint8Array>> {
  return bodyOf(await request('GET', `${ENGINE}/containers/${id(containerId)}/stats`, { query: { stream: true }, signal }));
}

export async function containerStatsOnce(containerId: string, signal?: AbortSignal): Promise<StatsSample> {
  return parseStats(await getJson(`${ENGINE}/containers/${id(containerId)}/stats`, { stream: false, 'one-shot': true }, signal));
}

export interface ProcessTable {
  titles: string[];
  processes: string[][];
}

export async function containerTop(containerId: string, signal?: AbortSignal): Promise<ProcessTable> {
  const top = obj(await getJson(`${ENGINE}/containers/${id(containerId)}/top`, { ps_args: '-ef' }, signal));
  return { titles: strings(top.Titles), processes: list(top.Processes).map((row) => list(row).map((cell) => String(cell ?? ''))) };
}

interface ExecOptions {
  interactive: boolean;
  env?: string[];
}

export async function createExec(containerId: string, cmd: string[], options: ExecOptions): Promise<string> {
  const body = {
    Cmd: cmd,
    AttachStdin: options.interactive,
    AttachStdout: options.interactive,
    AttachStderr: options.interactive,
    Tty: options.interactive,
    Env: options.env,
  };
  return str(obj(await postJson(`${ENGINE}/containers/${id(containerId)}/exec`, body)).Id);
}

/** kill -9 of one process, run in the container (the Engine API has no such call). */
export async function killProcess(containerId: string, pid: string): Promise<void> {
  const execId = await createExec(containerId, ['kill', '-9', pid], { interactive: false });
  await postJson(`${ENGINE}/exec/${id(execId)}/start`, { Detach: true });
}

export async function execExitCode(execId: string): Promise<number | undefined> {
  const info = obj(await getJson(`${ENGINE}/exec/${id(execId)}/json`));
  return typeof info.ExitCode === 'number' ? info.ExitCode : undefined;
}

export interface TerminalSize {
  rows: number;
  cols: number;
}

export async function resizeExec(execId: string, size: TerminalSize): Promise<void> {
  await request('POST', `${ENGINE}/exec/${id(execId)}/resize`, { query: { h: size.rows, w: size.cols } });
}

export async function resizeContainer(containerId: string, size: TerminalSize): Promise<void> {
  await request('POST', `${ENGINE}/containers/${id(containerId)}/resize`, { query: { h: size.rows, w: size.cols } });
}

function socketUrl(path: string): string {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${location.host}${path}`;
}

export function execSocketUrl(execId: string, size: TerminalSize): string {
  return socketUrl(urlOf(`/ui/ws/exec/${id(execId)}`, { h: size.rows, w: size.cols }));
}

export function attachSocketUrl(containerId: string): string {
  return socketUrl(`/ui/ws/attach/${id(containerId)}`);
}

// ---- files

export type FileType = 'file' | 'dir' | 'symlink' | 'other';

export interface FileEntry {
  name: string;
  type: FileType;
  size: number;
  mode: number;
  mtime: number;
  /** Symlinks only. */
  target: string;
}

const FILE_TYPES: readonly string[] = ['file', 'dir', 'symlink', 'other'];

export async function listDirectory(containerId: string, path: string, signal?: AbortSignal): Promise<{ path: string; entries: FileEntry[] }> {
  const listing = obj(await getJson(`/ui/api/containers/${id(containerId)}/ls`, { path }, signal));
  const entries = list(listing.entries).map((item): FileEntry => {
    const e = obj(item);
    const type = str(e.type);
    return {
      name: str(e.name),
      type: FILE_TYPES.includes(type) ? (type as FileType) : 'other',
      size: num(e.size),
      mode: num(e.mode),
      mtime: num(e.mtime),
      target: str(e.target),
    };
  });
  return { path: str(listing.path, path), entries: entries.filter((e) => e.name !== '') };
}

/** A tar of a file or folder in the container. */
export async function getArchive(containerId: string, path: string, signal?: AbortSignal): Promise<Response> {
  return request('GET', `${ENGINE}/containers/${id(containerId)}/archive`, { query: { path }, signal });
}

export async function putArchive(containerId: string, directory: string, tar: Blob): Promise<void> {
  await request('PUT', `${ENGINE}/containers/${id(containerId)}/archive`, { query: { path: directory }, body: tar });
}

// ---- images, volumes, networks

export interface ImageSummary {
  id: string;
  tags: string[];
  size: number;
  created: number;
}

export async function listImages(signal?: AbortSignal): Promise<ImageSummary[]> {
  return list(await getJson(`${ENGINE}/images/json`, undefined, signal)).map((item) => {
    const image = obj(item);
    return { id: str(image.Id), tags: strings(image.RepoTags).filter((t) => t !== '<none>:<none>'), size: num(image.Size), created: num(image.Created) };
  });
}

/** Pull progress: newline JSON objects, one per change. */
export async function pullImage(name: string, tag: string, signal?: AbortSignal): Promise<ReadableStream<Uint8Array>> {
  return bodyOf(await request('POST', `${ENGINE}/images/create`, { query: { fromImage: name, tag }, signal }));
}

export async function removeImage(imageId: string): Promise<void> {
  await request('DELETE', `${ENGINE}/images/${id(imageId)}`);
}

export async function inspectImage(nameOrId: string, signal?: AbortSignal): Promise<unknown> {
  return getJson(`${ENGINE}/images/${id(nameOrId)}/json`, undefined, signal);
}

export interface VolumeSummary {
  name: string;
  driver: string;
  mountpoint: string;
  createdAt: string;
}

export async function listVolumes(signal?: AbortSignal): Promise<VolumeSummary[]> {
  const reply = obj(await getJson(`${ENGINE}/volumes`, undefined, signal));
  return list(reply.Volumes).map((item) => {
    const v = obj(item);
    return { name: str(v.Name), driver: str(v.Driver), mountpoint: str(v.Mountpoint), createdAt: str(v.CreatedAt) };
  });
}

export async function createVolume(name: string): Promise<void> {
  await postJson(`${ENGINE}/volumes/create`, { Name: name });
}

export async function removeVolume(name: string): Promise<void> {
  await request('DELETE', `${ENGINE}/volumes/${id(name)}`);
}

export async function inspectVolume(name: string, signal?: AbortSignal): Promise<unknown> {
  return getJson(`${ENGINE}/volumes/${id(name)}`, undefined, signal);
}

export interface NetworkSummary {
  id: string;
  name: string;
  driver: string;
  scope: string;
  subnet: string;
}

export async function listNetworks(signal?: AbortSignal): Promise<NetworkSummary[]> {
  return list(await getJson(`${ENGINE}/networks`, undefined, signal)).map((item) => {
    const n = obj(item);
    const firstConfig = obj(list(obj(n.IPAM).Config)[0]);
    return { id: str(n.Id), name: str(n.Name), driver: str(n.Driver), scope: str(n.Scope), subnet: str(firstConfig.Subnet) };
  });
}

export async function createNetwork(name: string): Promise<void> {
  await postJson(`${ENGINE}/networks/create`, { Name: name });
}

export async function removeNetwork(networkId: string): Promise<void> {
  await request('DELETE', `${ENGINE}/networks/${id(networkId)}`);
}

export async function inspectNetwork(networkId: string, signal?: AbortSignal): Promise<unknown> {
  return getJson(`${ENGINE}/networks/${id(networkId)}`, undefined, signal);
}

// ---- ctk's own

export interface Profile {
  name: string;
  /** "built-in" or the file it came from. */
  source: string;
  toml: string;
}

export async function listProfiles(signal?: AbortSignal): Promise<Profile[]> {
  return list(await getJson('/ui/api/profiles', undefined, signal))
    .map((item) => {
      const p = obj(item);
      return { name: str(p.name), source: str(p.source), toml: str(p.toml) };
    })
    .filter((p) => p.name !== '');
}

/** The page's one events stream (events.ts keeps it open). */
export async function eventStream(signal: AbortSignal): Promise<ReadableStream<Uint8Array>> {
  return bodyOf(await request('GET', `${ENGINE}/events`, { signal }));
}
