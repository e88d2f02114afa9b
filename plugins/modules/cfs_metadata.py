#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, resilience.dr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
---
module: cfs_metadata
short_description: ClaudeFS metadata - consistency check, repair, snapshot, restore, journal replay
version_added: 0.2.0
author: resilience.dr contributors (@resilience-dr)
description:
  - O(action=check) runs the consistency check (record and journal checksums on every
    reachable replica, replicas compared, the sites compared with O(cross_site)). Read-only.
  - O(action=repair) checks, and when problems are found rewrites the bad records from the
    healthy replicas (only with O(allow_repair=true)), then checks again. Check mode returns
    what the cluster would repair.
  - O(action=snapshot) writes a metadata snapshot to S3 or a file. It counts only once verified
    - a local archive by its SHA-256 and its C(manifest.json), an S3 one by being listed with
    its size. With O(max_age), a snapshot younger than that makes the task unchanged.
  - O(action=restore) restores a snapshot. Into an empty (new) cluster it just restores. Over
    a cluster that holds files it is refused unless O(allow_live_restore=true), and then a
    pre-restore snapshot is taken first.
  - With O(source=newest-verified) the restore takes the newest listed snapshot that verifies
    - a local archive against its C(.sha256) and C(manifest.json) here, an S3 one by the
    cluster, which checks the archive and every member against the manifest before it
    replaces anything. Each snapshot that fails is skipped and named in RV(skipped) with the
    reason; the pre-restore snapshot then goes to C(pre-restore/) beside the candidates (never
    under C(metadata/), so it cannot become a later restore's "newest").
  - O(action=replay) replays journal entries newer than the restored snapshot, up to a point.
extends_documentation_fragment:
  - resilience.dr.cfs
  - ansible.builtin.action_common_attributes
options:
  action:
    description: What to do.
    type: str
    choices: [check, repair, snapshot, restore, replay]
    required: true
  cross_site:
    description: Compare the sites too (O(action=check) and O(action=repair)).
    type: bool
    default: false
  fail_on_problems:
    description: With O(action=check), fail when the metadata is not consistent.
    type: bool
    default: false
  allow_repair:
    description: Allow O(action=repair) to rewrite records.
    type: bool
    default: false
  destination:
    description: Where a snapshot goes - C(s3://bucket/key.tar.gz) or C(file:///abs/path.tar.gz); the cluster's default when omitted.
    type: str
  max_age:
    description: With O(action=snapshot), seconds; a listed snapshot younger than this makes the task unchanged.
    type: int
  source:
    description:
      - The snapshot to restore (O(action=restore)) - C(s3://bucket/key), C(file:///path) or
        C(newest-verified) - or the journal archive prefix (O(action=replay)).
    type: str
  allow_live_restore:
    description: Allow a restore over a cluster that holds files (a pre-restore snapshot is taken first).
    type: bool
    default: false
  pre_restore_destination:
    description: Where the pre-restore snapshot goes; the cluster's default when omitted.
    type: str
  site:
    description: The site (default the active one).
    type: str
  from_seq:
    description: Replay entries from this sequence number.
    type: int
  from_time:
    description: Replay entries with a timestamp (epoch seconds) at or after this.
    type: float
  until_time:
    description: Replay entries with a timestamp (epoch seconds) at or before this.
    type: float
attributes:
  check_mode:
    support: full
    details: Returns the planned calls; a repair's plan carries what the cluster would repair.
  diff_mode:
    support: none
  platform:
    support: full
    platforms: posix
notes:
  - A restore of the same snapshot twice yields the same state; the cluster reports it unchanged.
seealso:
  - module: resilience.dr.cfs_info
'''

EXAMPLES = r'''
- name: Consistency check across the sites
  resilience.dr.cfs_metadata:
    endpoints: "{{ claudefs_admin_endpoints }}"
    token: "{{ claudefs_admin_token }}"
    action: check
    cross_site: true

- name: Repair from the healthy replicas
  resilience.dr.cfs_metadata:
    endpoints: "{{ claudefs_admin_endpoints }}"
    token: "{{ claudefs_admin_token }}"
    action: repair
    allow_repair: true

- name: Daily snapshot to S3 (unchanged when one is younger than a day)
  resilience.dr.cfs_metadata:
    endpoints: "{{ claudefs_admin_endpoints }}"
    token: "{{ claudefs_admin_token }}"
    action: snapshot
    max_age: 86400

- name: Restore the newest snapshot that verifies over the live cluster
  resilience.dr.cfs_metadata:
    endpoints: "{{ claudefs_admin_endpoints }}"
    token: "{{ claudefs_admin_token }}"
    action: restore
    source: newest-verified
    allow_live_restore: true
'''

RETURN = r'''
report:
  description: The consistency report (consistent, checked nodes, problems, summary).
  returned: with action check and repair
  type: dict
consistent:
  description: Whether the metadata is consistent (after the repair, for a repair).
  returned: with action check and repair
  type: bool
would_repair:
  description: What the cluster would repair (check mode).
  returned: with action repair in check mode
  type: dict
repaired:
  description: What the cluster repaired and what remains.
  returned: when a repair ran
  type: dict
snapshot:
  description: The snapshot (id, location, sha256, size, manifest, how it was verified).
  returned: with action snapshot
  type: dict
restored:
  description: The cluster's answer to the restore (shards, files, last sequence per shard).
  returned: when a restore ran
  type: dict
skipped:
  description: Snapshots newer than the one restored that did not verify, each with its location, the reason and who verified it.
  returned: with action restore and source newest-verified
  type: list
  elements: dict
candidates:
  description: The listed snapshots, newest first, that O(source=newest-verified) chose from.
  returned: with action restore and source newest-verified
  type: list
  elements: str
pre_restore_snapshot:
  description: The snapshot of the live metadata taken before the restore.
  returned: when a restore over a live cluster ran
  type: dict
live_files:
  description: Files the cluster held before the restore.
  returned: with action restore
  type: int
replayed:
  description: Journal entries replayed and skipped, per shard.
  returned: when a replay ran
  type: dict
plan:
  description: The planned API calls; destructive ones are marked.
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
from ansible_collections.resilience.dr.plugins.module_utils.cfs.metadata import MetadataManager
from ansible_collections.resilience.dr.plugins.module_utils.cfs.module import cfs_run


def main():
    spec = connection_argument_spec()
    spec.update(
        action=dict(type='str', required=True,
                    choices=['check', 'repair', 'snapshot', 'restore', 'replay']),
        cross_site=dict(type='bool', default=False),
        fail_on_problems=dict(type='bool', default=False),
        allow_repair=dict(type='bool', default=False),
        destination=dict(type='str'),
        max_age=dict(type='int'),
        source=dict(type='str'),
        allow_live_restore=dict(type='bool', default=False),
        pre_restore_destination=dict(type='str'),
        site=dict(type='str'),
        from_seq=dict(type='int'),
        from_time=dict(type='float'),
        until_time=dict(type='float'),
    )
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True,
                           required_if=[('action', 'restore', ('source',))],
                           mutually_exclusive=[('from_seq', 'from_time')])
    p = module.params
    client = client_from_module(module)
    manager = MetadataManager(client, check_mode=module.check_mode)

    def work():
        action = p['action']
        if action == 'check':
            result = manager.check(p['cross_site'])
            if p['fail_on_problems'] and not result['consistent']:
                result.update(failed=True, msg='metadata is not consistent: %d problem(s); '
                              'repair them with action=repair' % len(result['report']['problems']))
            return result
        if action == 'repair':
            return manager.repair(p['cross_site'], p['allow_repair'])
        if action == 'snapshot':
            return manager.snapshot(p['destination'], p['site'], p['max_age'])
        if action == 'restore':
            return manager.restore(p['source'], p['site'], p['allow_live_restore'],
                                   p['pre_restore_destination'])
        return manager.replay(p['from_seq'], p['from_time'], p['until_time'], p['source'])

    cfs_run(module, client, work)


if __name__ == '__main__':
    main()
