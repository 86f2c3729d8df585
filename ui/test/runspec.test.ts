import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildCreateRequest, parsePort, splitCommand, splitImageReference, type RunForm } from '../src/runspec';

test('splitCommand quotes as sh does', () => {
  assert.deepEqual(splitCommand(''), []);
  assert.deepEqual(splitCommand('  sleep   100 '), ['sleep', '100']);
  assert.deepEqual(splitCommand(`sh -c 'echo "hi there"; exit 3'`), ['sh', '-c', 'echo "hi there"; exit 3']);
  assert.deepEqual(splitCommand(`echo "a \\"b\\" \\$HOME \\n" ''`), ['echo', 'a "b" $HOME \\n', '']);
  assert.deepEqual(splitCommand('a\\ b c'), ['a b', 'c']);
  assert.throws(() => splitCommand(`echo 'oops`), /unterminated ' quote/);
});

test('parsePort forms', () => {
  assert.deepEqual(parsePort('8080:80'), { hostIp: '127.0.0.1', hostPort: '8080', containerPort: '80', protocol: 'tcp' });
  assert.deepEqual(parsePort('80'), { hostIp: '127.0.0.1', hostPort: '', containerPort: '80', protocol: 'tcp' });
  assert.deepEqual(parsePort('0.0.0.0:53:53/UDP'), { hostIp: '0.0.0.0', hostPort: '53', containerPort: '53', protocol: 'udp' });
  assert.deepEqual(parsePort('[::1]:8443:443'), { hostIp: '::1', hostPort: '8443', containerPort: '443', protocol: 'tcp' });
  assert.deepEqual(parsePort('127.0.0.1::80'), { hostIp: '127.0.0.1', hostPort: '', containerPort: '80', protocol: 'tcp' });
  for (const bad of ['http', '8080:80/icmp', '70000:80', '1:2:3:4', '8080:']) assert.throws(() => parsePort(bad), /ports:/, bad);
});

const emptyForm: RunForm = { image: '', command: '', name: '', env: '', ports: '', volumes: '', network: '', profile: '', memory: '', cpus: '', tty: false, interactive: false };

test('buildCreateRequest: the whole form', () => {
  const request = buildCreateRequest({
    ...emptyForm,
    image: ' nginx:alpine ',
    command: 'nginx -g "daemon off;"',
    name: 'web',
    env: 'A=1\n\nB=two words\n',
    ports: '8080:80, 8443:443\n127.0.0.1:9090:80',
    volumes: 'site:/usr/share/nginx/html\n/srv/conf:/etc/nginx/conf.d:ro',
    network: 'front',
    profile: 'strict',
    memory: '256m',
    cpus: '0.5',
    tty: true,
    interactive: true,
  });
  assert.deepEqual(request, {
    name: 'web',
    profile: 'strict',
    body: {
      Image: 'nginx:alpine',
      Cmd: ['nginx', '-g', 'daemon off;'],
      Env: ['A=1', 'B=two words'],
      Tty: true,
      OpenStdin: true,
      ExposedPorts: { '80/tcp': {}, '443/tcp': {} },
      HostConfig: {
        PortBindings: {
          '80/tcp': [
            { HostIp: '127.0.0.1', HostPort: '8080' },
            { HostIp: '127.0.0.1', HostPort: '9090' },
          ],
          '443/tcp': [{ HostIp: '127.0.0.1', HostPort: '8443' }],
        },
        Binds: ['site:/usr/share/nginx/html', '/srv/conf:/etc/nginx/conf.d:ro'],
        NetworkMode: 'front',
        Memory: 256 * 1024 * 1024,
        NanoCpus: 5e8,
      },
    },
  });
});

test('buildCreateRequest: only the image, and errors that name the field', () => {
  const request = buildCreateRequest({ ...emptyForm, image: 'alpine' });
  assert.equal(request.body.Cmd, undefined);
  assert.equal(request.body.HostConfig.Memory, undefined);
  assert.equal(request.body.HostConfig.NetworkMode, undefined);
  assert.throws(() => buildCreateRequest(emptyForm), /image: required/);
  assert.throws(() => buildCreateRequest({ ...emptyForm, image: 'a', env: 'NOEQUALS' }), /env: "NOEQUALS"/);
  assert.throws(() => buildCreateRequest({ ...emptyForm, image: 'a', volumes: 'data' }), /volumes: "data"/);
  assert.throws(() => buildCreateRequest({ ...emptyForm, image: 'a', memory: 'big' }), /memory/);
});

test('splitImageReference', () => {
  assert.deepEqual(splitImageReference('alpine'), { name: 'alpine', tag: 'latest' });
  assert.deepEqual(splitImageReference('alpine:3.20'), { name: 'alpine', tag: '3.20' });
  assert.deepEqual(splitImageReference('localhost:5000/team/app'), { name: 'localhost:5000/team/app', tag: 'latest' });
  assert.deepEqual(splitImageReference('localhost:5000/app:v2'), { name: 'localhost:5000/app', tag: 'v2' });
  assert.deepEqual(splitImageReference('alpine@sha256:abc'), { name: 'alpine', tag: 'sha256:abc' });
});
