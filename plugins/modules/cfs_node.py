#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, resilience.dr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
---
module: cfs_node
short_description: Join, drain, remove or replace a ClaudeFS storage node
version_added: 0.2.0
author: resilience.dr contributors (@resilience-dr)
description:
  - Declares a storage node's membership through the ClaudeFS admin API and waits until the
    cluster shows it.
  - O(state=present) joins a new node (C(cfs node add)) and waits until SWIM reports it
    Alive and it has caught up in every shard it replicates.
  - O(replace) does the runbook's permanent-loss sequence in one step - the new node joins in
    place of the old one, the old one is drained (when it still holds replicas) and removed,
    and the module waits until the new node replicates the old one's shards with no lag.
  - O(state=drained) moves the node's replicas away (C(node-drain)) and waits until it holds none.
  - O(state=absent) removes the node (C(node-remove)). A live node is drained first, so that
    every shard keeps its replication factor. A node that cannot be reached and holds the last
    up-to-date replica of a shard is refused unless O(allow_data_loss=true); the refusal names
    the shards and the entries only that node holds.
extends_documentation_fragment:
  - resilience.dr.cfs
  - ansible.builtin.action_common_attributes
options:
  name:
    description: The node's name.
    type: str
    required: true
  state:
    description: V(present), V(drained) or V(absent).
    type: str
    choices: [present, drained, absent]
    default: present
  address:
    description: The node's address; needed to add it.
    type: str
  site:
    description: The node's site; needed to add it.
    type: str
  replace:
    description: A node that O(name) permanently replaces (only with O(state=present)).
    type: str
  allow_data_loss:
    description: Allow removing an unreachable node that holds the last up-to-date replica of a shard.
    type: bool
    default: false
  max_lag:
    description:
      - How many entries a joined node may trail the leader in each shard and count as caught up.
        V(0) on a quiet cluster; a little more while clients keep writing.
    type: int
    default: 0
  wait_timeout:
    description: Seconds to wait for the cluster to show the outcome (join and catch-up, drain, removal).
    type: float
    default: 300
attributes:
  check_mode:
    support: full
    details: Returns the planned API calls and changes nothing.
  diff_mode:
    support: full
    details: The node (and the replaced node) before and after - SWIM state, state and replicas.
  platform:
    support: full
    platforms: posix
notes:
  - The node's service must run before it can join; start it with the collection's
    C(cfs_service) role (systemd on real nodes).
seealso:
  - module: resilience.dr.cfs_info
  - module: resilience.dr.cfs_raft
'''

EXAMPLES = r'''
- name: A new node replaces storage-1 (lost for good)
  resilience.dr.cfs_node:
    endpoints: "{{ cfs_admin_endpoints }}"
    token: "{{ cfs_admin_token }}"
    name: storage-1-new
    address: 10.0.1.21
    site: site-a
    replace: storage-1

- name: Drain storage-2 before maintenance
  resilience.dr.cfs_node:
    endpoints: "{{ cfs_admin_endpoints }}"
    token: "{{ cfs_admin_token }}"
    name: storage-2
    state: drained

- name: Remove storage-2
  resilience.dr.cfs_node:
    endpoints: "{{ cfs_admin_endpoints }}"
    token: "{{ cfs_admin_token }}"
    name: storage-2
    state: absent
'''

RETURN = r'''
node:
  description: The node as the cluster reports it (null when absent).
  returned: always
  type: dict
replicas:
  description: The shards the node replicates, with its role and lag in each.
  returned: always
  type: list
  elements: dict
nodes:
  description: Every node with its SWIM state.
  returned: always
  type: list
  elements: dict
under_replicated:
  description: Shards with fewer than three reachable, caught-up members.
  returned: always
  type: list
  elements: dict
last_replicas:
  description: Shards for which the node holds the last up-to-date replica.
  returned: when a removal is refused
  type: list
  elements: dict
plan:
  description: The planned API calls.
  returned: always
  type: list
  elements: dict
executed:
  description: The calls that ran.
  returned: always
  type: list
  elements: dict
api_calls:
  description: Admin API calls made (operation, endpoint, HTTP status, attempts, seconds).
  returned: always
  type: list
  elements: dict
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.resilience.dr.plugins.module_utils.cfs.client import (
    client_from_module, connection_argument_spec)
from ansible_collections.resilience.dr.plugins.module_utils.cfs.module import cfs_run
from ansible_collections.resilience.dr.plugins.module_utils.cfs.node_manager import NodeManager


def main():
    spec = connection_argument_spec()
    spec.update(
        name=dict(type='str', required=True),
        state=dict(type='str', choices=['present', 'drained', 'absent'], default='present'),
        address=dict(type='str'),
        site=dict(type='str'),
        replace=dict(type='str'),
        allow_data_loss=dict(type='bool', default=False),
        max_lag=dict(type='int', default=0),
        wait_timeout=dict(type='float', default=300.0),
    )
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    p = module.params
    if p['replace'] and p['state'] != 'present':
        module.fail_json(msg='replace only goes with state=present; nothing was changed')
    if p['replace'] and p['replace'] == p['name']:
        module.fail_json(msg='a node cannot replace itself; give the new node another name')
    client = client_from_module(module)
    manager = NodeManager(client, check_mode=module.check_mode, max_lag=p['max_lag'])

    def work():
        if p['state'] == 'present':
            return manager.present(p['name'], p['address'], p['site'], p['replace'],
                                   p['wait_timeout'])
        if p['state'] == 'drained':
            return manager.drained(p['name'], p['wait_timeout'])
        return manager.absent(p['name'], p['allow_data_loss'], p['wait_timeout'])

    cfs_run(module, client, work)


if __name__ == '__main__':
    main()
