import { createVolume, inspectVolume, listVolumes, removeVolume } from './api';
import { createForm, mountResourceList } from './resources';
import type { ViewContext } from './ui';

export function mountVolumes(ctx: ViewContext): void {
  mountResourceList(ctx, {
    title: 'Volumes',
    noun: 'volume',
    eventType: 'volume',
    rowTest: 'volume-row',
    headers: ['Name', 'Driver', 'Created', 'Mountpoint'],
    load: listVolumes,
    key: (volume) => volume.name,
    name: (volume) => volume.name,
    cells: (volume) => [volume.name, volume.driver, volume.createdAt.replace('T', ' ').replace(/\..*$|Z$/, ''), volume.mountpoint],
    inspect: inspectVolume,
    remove: removeVolume,
    toolbar: (refresh) => createForm('New volume', 'volume-create', createVolume, refresh),
  });
}
