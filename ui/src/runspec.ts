// What the run form's fields mean, as docker run reads its flags: pure
// functions from the fields' text to the container create request. Each
// throws an Error whose message names the field, for the page to show.

import { parseCpus, parseSize } from './format';

export interface RunForm {
  image: string;
  command: string;
  name: string;
  /** One KEY=VALUE a line. */
  env: string;
  /** One HOST:CONTAINER[/PROTO] or IP:HOST:CONTAINER[/PROTO] a line or a comma. */
  ports: string;
  /** One SOURCE:TARGET[:OPTIONS] a line. */
  volumes: string;
  network: string;
  profile: string;
  memory: string;
  cpus: string;
  tty: boolean;
  interactive: boolean;
}

export interface PortBinding {
  HostIp: string;
  HostPort: string;
}

export interface CreateBody {
  Image: string;
  Cmd?: string[];
  Env: string[];
  Tty: boolean;
  OpenStdin: boolean;
  ExposedPorts: Record<string, Record<string, never>>;
  HostConfig: {
    PortBindings: Record<string, PortBinding[]>;
    Binds: string[];
    NetworkMode?: string;
    Memory?: number;
    NanoCpus?: number;
  };
}

export interface CreateRequest {
  /** Empty: the server picks a name. */
  name: string;
  /** Empty: no ctk sandbox profile. */
  profile: string;
  body: CreateBody;
}

/**
 * A command line cut into words as a POSIX shell would for a simple command:
 * single quotes, double quotes (with \" \\ \$ \` escapes), backslashes. No
 * expansions: the words go to the container as typed.
 */
export function splitCommand(line: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let quote: '' | "'" | '"' = '';
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quote === "'") {
      if (c === "'") quote = '';
      else word += c;
    } else if (quote === '"') {
      if (c === '"') quote = '';
      else if (c === '\\' && i + 1 < line.length && '"\\$`'.includes(line[i + 1])) word += line[++i];
      else word += c;
    } else if (c === "'" || c === '"') {
      quote = c;
      inWord = true;
    } else if (c === '\\') {
      if (i + 1 < line.length) word += line[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else {
      word += c;
      inWord = true;
    }
  }
  if (quote) throw new Error(`command: unterminated ${quote} quote`);
  if (inWord) words.push(word);
  return words;
}

function items(text: string, separators: RegExp): string[] {
  return text
    .split(separators)
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

function parseEnv(text: string): string[] {
  return items(text, /\n/).map((line) => {
    if (!/^[^=\s]+=/.test(line)) throw new Error(`env: "${line}" is not KEY=VALUE`);
    return line;
  });
}

export interface PortSpec {
  hostIp: string;
  hostPort: string;
  containerPort: string;
  protocol: string;
}

/**
 * docker run -p's forms: CONTAINER, HOST:CONTAINER, IP:HOST:CONTAINER (IPv6
 * addresses in brackets), each with an optional /tcp, /udp or /sctp. The host
 * address defaults to 127.0.0.1, not docker's 0.0.0.0: a port opened from the
 * UI is for the person at this machine.
 */
export function parsePort(spec: string): PortSpec {
  const fail = (): never => {
    throw new Error(`ports: "${spec}" is not HOST:CONTAINER[/tcp|udp] (example: 8080:80)`);
  };
  const slash = spec.lastIndexOf('/');
  const protocol = slash < 0 ? 'tcp' : spec.slice(slash + 1).toLowerCase();
  if (!['tcp', 'udp', 'sctp'].includes(protocol)) fail();
  const addresses = slash < 0 ? spec : spec.slice(0, slash);
  const match = /^(?:(\[[0-9a-fA-F:.]+\]|\d{1,3}(?:\.\d{1,3}){3}):)?(?:(\d*):)?(\d+)$/.exec(addresses) ?? fail();
  const [, ip = '', hostPort = '', containerPort] = match;
  const isPort = (p: string): boolean => p === '' || (Number(p) >= 1 && Number(p) <= 65535);
  if (!isPort(hostPort) || !isPort(containerPort)) fail();
  return { hostIp: ip.replace(/^\[|\]$/g, '') || '127.0.0.1', hostPort, containerPort, protocol };
}

function parseVolumes(text: string): string[] {
  return items(text, /\n/).map((line) => {
    const [source, target] = line.split(':');
    if (!source || !target || !target.startsWith('/')) throw new Error(`volumes: "${line}" is not SOURCE:/PATH[:ro] (examples: data:/data, /srv/site:/usr/share/nginx/html:ro)`);
    return line;
  });
}

export function buildCreateRequest(form: RunForm): CreateRequest {
  const image = form.image.trim();
  if (image === '') throw new Error('image: required');
  const command = splitCommand(form.command);
  const exposed: CreateBody['ExposedPorts'] = {};
  const bindings: CreateBody['HostConfig']['PortBindings'] = {};
  for (const spec of items(form.ports, /[\n,]/).map(parsePort)) {
    const key = `${spec.containerPort}/${spec.protocol}`;
    exposed[key] = {};
    (bindings[key] ??= []).push({ HostIp: spec.hostIp, HostPort: spec.hostPort });
  }
  const body: CreateBody = {
    Image: image,
    Env: parseEnv(form.env),
    Tty: form.tty,
    OpenStdin: form.interactive,
    ExposedPorts: exposed,
    HostConfig: { PortBindings: bindings, Binds: parseVolumes(form.volumes) },
  };
  if (command.length > 0) body.Cmd = command;
  if (form.network.trim()) body.HostConfig.NetworkMode = form.network.trim();
  if (form.memory.trim()) body.HostConfig.Memory = parseSize(form.memory);
  if (form.cpus.trim()) body.HostConfig.NanoCpus = parseCpus(form.cpus);
  return { name: form.name.trim(), profile: form.profile.trim(), body };
}

/**
 * An image reference as the pull endpoint takes it: fromImage and tag, the tag
 * "latest" when none is given, a digest as the tag (as the docker CLI sends it).
 */
export function splitImageReference(reference: string): { name: string; tag: string } {
  const ref = reference.trim();
  const at = ref.indexOf('@');
  if (at >= 0) return { name: ref.slice(0, at), tag: ref.slice(at + 1) };
  const colon = ref.lastIndexOf(':');
  // A colon before the last slash belongs to a registry's port (host:5000/x).
  if (colon > ref.lastIndexOf('/')) return { name: ref.slice(0, colon), tag: ref.slice(colon + 1) };
  return { name: ref, tag: 'latest' };
}
