#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, resilience.dr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
---
module: cfs_info
short_description: Read a ClaudeFS cluster in one call - sites, nodes, shards, replication, S3, conflicts
version_added: 0.2.0
author: resilience.dr contributors (@resilience-dr)
description:
  - Reads the cluster through its admin API and returns it as structured data, for
    preflights and verification.
  - Each section is one call (C(status), C(raft-status), C(nodes), C(replication-status),
    C(s3-health), C(s3-queue-status), C(show-conflicts)). A section that cannot be read is
    reported in RV(errors) rather than failing the task, so that a preflight during an outage
    still sees what the cluster can say.
  - RV(problems) lists in plain sentences what is not healthy; RV(healthy) is true when it is empty.
extends_documentation_fragment:
  - resilience.dr.cfs
  - ansible.builtin.action_common_attributes
options:
  sections:
    description:
      - The sections to read; by default all of them but C(files) and C(snapshots).
      - C(files) lists every file (C(GET /v1/files)) into RV(files); C(snapshots) lists the
        metadata snapshots in the cluster's S3 bucket into RV(snapshots). Both are read only
        when asked for.
    type: list
    elements: str
    choices: [status, shards, nodes, replication, s3, s3_queue, conflicts, files, snapshots]
  site:
    description: Only the nodes, shards and files of this site.
    type: str
  fail_on_error:
    description:
      - Fail when a section cannot be read (instead of reporting it in RV(errors)).
      - The module always fails when the token is rejected, when no endpoint answers, or when
        no section could be read.
    type: bool
    default: false
attributes:
  check_mode:
    support: full
    details: Read-only; runs the same in check mode.
  diff_mode:
    support: none
  platform:
    support: full
    platforms: posix
seealso:
  - module: resilience.dr.cfs_raft
  - module: resilience.dr.cfs_node
'''

EXAMPLES = r'''
- name: Read the cluster
  resilience.dr.cfs_info:
    endpoints: "{{ cfs_admin_endpoints }}"
    token: "{{ cfs_admin_token }}"
  register: cfs

- name: Shards of site-a that lost quorum
  ansible.builtin.debug:
    msg: "{{ cfs.shards | selectattr('site', 'equalto', 'site-a')
             | selectattr('condition', 'equalto', 'no_quorum') | map(attribute='shard') | list }}"

- name: The files and the newest metadata snapshot (read-only, e.g. for a DR drill)
  resilience.dr.cfs_info:
    endpoints: "{{ cfs_admin_endpoints }}"
    token: "{{ cfs_admin_token }}"
    sections: [status, files, snapshots]
  register: live
  # live.files | length, live.snapshots | first
'''

RETURN = r'''
cluster:
  description: Cluster name, epoch and active site.
  returned: always
  type: dict
sites:
  description: Sites with their state (Normal, Degraded, Failover, Recovery, SplitBrain), whether
    active, and their shard counts, as the cluster reports them.
  returned: always
  type: list
  elements: dict
nodes:
  description: Nodes with their SWIM state (Alive, Suspect, Dead), state and the shards they replicate.
  returned: always
  type: list
  elements: dict
shards:
  description: Per shard members, roles, lag, term, commit index, leader and condition
    (C(healthy), C(electing), C(no_quorum)).
  returned: always
  type: list
  elements: dict
shard_summary:
  description: Counts of shards per condition and the largest member lag.
  returned: always
  type: dict
replication:
  description: Cross-site replication status (lag, unreplicated operations, state).
  returned: always
  type: dict
s3:
  description: S3 health and the upload queue.
  returned: always
  type: dict
conflicts:
  description: Recorded cross-site conflicts.
  returned: always
  type: list
  elements: dict
files:
  description:
    - Every file (path, inode, size, sha256, seq, shard, site) as the cluster lists it.
    - A shard that no member answered for is named in RV(files_unavailable_shards) and in
      RV(problems), never silently left out.
  returned: when the C(files) section is requested
  type: list
  elements: dict
files_unavailable_shards:
  description: Shards missing from RV(files) because no member answered.
  returned: when the C(files) section is requested
  type: list
  elements: int
snapshots:
  description: The metadata snapshots listed in the S3 bucket (location, size, modified), newest first.
  returned: when the C(snapshots) section is requested
  type: list
  elements: dict
errors:
  description: Sections that could not be read, with the contract's error code and message.
  returned: always
  type: dict
problems:
  description: What is not healthy, one sentence each.
  returned: always
  type: list
  elements: str
healthy:
  description: True when RV(problems) is empty.
  returned: always
  type: bool
api_calls:
  description: Admin API calls made (operation, endpoint, HTTP status, attempts, seconds).
  returned: always
  type: list
  elements: dict
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.resilience.dr.plugins.module_utils.cfs import info
from ansible_collections.resilience.dr.plugins.module_utils.cfs.client import (
    client_from_module, connection_argument_spec)
from ansible_collections.resilience.dr.plugins.module_utils.cfs.module import cfs_run


def main():
    spec = connection_argument_spec()
    spec.update(
        sections=dict(type='list', elements='str', choices=sorted(info.SECTIONS)),
        site=dict(type='str'),
        fail_on_error=dict(type='bool', default=False),
    )
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    client = client_from_module(module)

    def work():
        raw, errors = info.gather(client, module.params['sections'], module.params['site'])
        result = info.build(raw, errors, module.params['site'])
        result['changed'] = False
        fatal = [k for k, v in errors.items() if v['code'] in ('unauthorized', 'unreachable')]
        if errors and (module.params['fail_on_error'] or fatal or len(errors) == len(
                module.params['sections'] or info.DEFAULT_SECTIONS)):
            result['failed'] = True
            result['msg'] = 'could not read: %s' % '; '.join(
                '%s (%s: %s)' % (k, v['code'], v['message']) for k, v in sorted(errors.items()))
        return result

    cfs_run(module, client, work)


if __name__ == '__main__':
    main()
