import { createNetwork, inspectNetwork, listNetworks, removeNetwork } from './api';
import { createForm, mountResourceList } from './resources';
import type { ViewContext } from './ui';

export function mountNetworks(ctx: ViewContext): void {
  mountResourceList(ctx, {
    title: 'Networks',
    noun: 'network',
    eventType: 'network',
    rowTest: 'network-row',
    headers: ['Name', 'Driver', 'Scope', 'Subnet', 'ID'],
    load: listNetworks,
    key: (network) => network.id,
    name: (network) => network.name,
    cells: (network) => [network.name, network.driver, network.scope, network.subnet, network.id.slice(0, 12)],
    inspect: inspectNetwork,
    remove: removeNetwork,
    toolbar: (refresh) => createForm('New network', 'network-create', createNetwork, refresh),
  });
}
