// The run form: docker run's main flags as fields. Creating a container whose
// image is missing pulls it and creates again, as the docker CLI does; each
// step shows as it happens, and a failure in the server's own words.

import { containerAction, createContainer, isMissingImage, listNetworks, listProfiles, type Profile } from './api';
import { h } from './dom';
import { pullWithProgress } from './images';
import { buildCreateRequest, type RunForm } from './runspec';
import { reportError, type ViewContext } from './ui';

type TextField = Exclude<keyof RunForm, 'tty' | 'interactive' | 'network' | 'profile'>;

interface FieldSpec {
  key: TextField;
  /** The data-test hook (docs/UI.md). */
  test: string;
  label: string;
  placeholder: string;
  multiline?: boolean;
  help?: string;
}

const FIELDS: readonly FieldSpec[] = [
  { key: 'image', test: 'run-image', label: 'Image', placeholder: 'nginx:alpine' },
  { key: 'command', test: 'run-cmd', label: 'Command', placeholder: 'the image’s default', help: 'Quoted as in a shell: sh -c "echo hi; sleep 60"' },
  { key: 'name', test: 'run-name', label: 'Name', placeholder: 'picked by the server' },
  { key: 'env', test: 'run-env', label: 'Environment', placeholder: 'KEY=value', multiline: true, help: 'One KEY=value a line.' },
  { key: 'ports', test: 'run-ports', label: 'Ports', placeholder: '8080:80', multiline: true, help: 'HOST:CONTAINER[/udp], one a line; published on 127.0.0.1 unless an address is given (0.0.0.0:8080:80).' },
  { key: 'volumes', test: 'run-volumes', label: 'Volumes', placeholder: 'data:/data', multiline: true, help: 'VOLUME:/path or /host/path:/path[:ro], one a line.' },
  { key: 'memory', test: 'run-memory', label: 'Memory limit', placeholder: '512m' },
  { key: 'cpus', test: 'run-cpus', label: 'CPUs', placeholder: '1.5' },
];

function select(testId: string, firstOption: string): HTMLSelectElement {
  return h('select', { 'data-test': testId }, h('option', { value: '' }, firstOption));
}

export function mountRun(ctx: ViewContext): void {
  const inputs = new Map<TextField, HTMLInputElement | HTMLTextAreaElement>();
  const fields = FIELDS.map((field) => {
    const id = `run-${field.key}`;
    const attributes = { id, name: field.key, placeholder: field.placeholder, 'data-test': field.test, autocomplete: 'off', spellcheck: 'false', required: field.key === 'image' };
    const input = field.multiline ? h('textarea', { ...attributes, rows: 2 }) : h('input', { ...attributes, type: 'text' });
    inputs.set(field.key, input);
    return h('div', { class: 'field' }, h('label', { for: id }, field.label), input, field.help ? h('small', { class: 'muted' }, field.help) : null);
  });

  const network = select('run-network', 'default');
  network.id = 'run-network';
  const profile = select('run-profile', 'none');
  profile.id = 'run-profile';
  const profileToml = h('pre', { class: 'json', hidden: true, 'data-test': 'run-profile-toml' });
  const tty = h('input', { type: 'checkbox', 'data-test': 'run-tty' });
  const interactive = h('input', { type: 'checkbox', 'data-test': 'run-interactive' });
  const submit = h('button', { type: 'submit', class: 'primary', 'data-test': 'run-submit' }, 'Run');
  const steps = h('ol', { class: 'steps', 'aria-live': 'polite', 'data-test': 'run-progress' });
  const pullHost = h('div', { class: 'pull' });

  const form = h(
    'form',
    { class: 'run-form', 'data-test': 'run-form' },
    ...fields,
    h('div', { class: 'field' }, h('label', { for: 'run-network' }, 'Network'), network),
    h('div', { class: 'field' }, h('label', { for: 'run-profile' }, 'ctk profile'), profile, profileToml),
    h('div', { class: 'field checks' }, h('label', {}, tty, ' Allocate a TTY (-t)'), h('label', {}, interactive, ' Keep stdin open (-i)')),
    h('div', { class: 'buttons' }, submit, h('a', { href: '#/containers', class: 'button' }, 'Cancel')),
  );
  ctx.host.append(h('h1', {}, 'Run a container'), form, steps, pullHost);
  inputs.get('image')?.focus();

  listNetworks(ctx.signal).then((networks) => network.append(...networks.map((n) => h('option', { value: n.name }, n.name))), reportError);
  let profiles: Profile[] = [];
  listProfiles(ctx.signal).then((list) => {
    profiles = list;
    profile.append(...list.map((p) => h('option', { value: p.name }, `${p.name} (${p.source})`)));
  }, reportError);
  profile.addEventListener('change', () => {
    const chosen = profiles.find((p) => p.name === profile.value);
    profileToml.hidden = !chosen;
    profileToml.textContent = chosen?.toml ?? '';
  });

  const readForm = (): RunForm => {
    const text = (key: TextField): string => inputs.get(key)?.value ?? '';
    return {
      image: text('image'),
      command: text('command'),
      name: text('name'),
      env: text('env'),
      ports: text('ports'),
      volumes: text('volumes'),
      memory: text('memory'),
      cpus: text('cpus'),
      network: network.value,
      profile: profile.value,
      tty: tty.checked,
      interactive: interactive.checked,
    };
  };

  const step = (text: string): void => {
    steps.querySelector('li:last-child')?.classList.add('done');
    steps.append(h('li', { 'data-test': 'run-step' }, text));
  };

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    submit.disabled = true;
    steps.replaceChildren();
    pullHost.replaceChildren();
    try {
      const request = buildCreateRequest(readForm());
      step('Creating the container…');
      let id: string;
      try {
        id = await createContainer(request);
      } catch (error) {
        if (!isMissingImage(error)) throw error;
        step(`Pulling ${request.body.Image}…`);
        await pullWithProgress(request.body.Image, pullHost, ctx.signal);
        step('Creating the container…');
        id = await createContainer(request);
      }
      step('Starting…');
      await containerAction(id, 'start');
      step('Running.');
      location.hash = `#/containers/${encodeURIComponent(id)}/logs`;
    } catch (error) {
      steps.querySelector('li:last-child')?.classList.add('failed');
      reportError(error);
    } finally {
      submit.disabled = false;
    }
  });
}
