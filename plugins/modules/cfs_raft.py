#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, resilience.dr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
---
module: cfs_raft
short_description: Keep ClaudeFS metadata shards led and in quorum; force a leader after a majority loss
version_added: 0.2.0
author: resilience.dr contributors (@resilience-dr)
description:
  - Works on the Raft groups (shards) of a ClaudeFS cluster through its admin API.
  - O(state=healthy) makes every selected shard have a quorum and a leader. It waits through a
    normal election, forces an election (C(POST /v1/raft/shards/N/election)) for a shard still
    without a leader after O(stall_timeout), and fails with the force-leader plan when a shard
    has lost its quorum (an election cannot succeed there).
  - O(force_leader) rebuilds shards that lost their majority from one survivor, in three steps
    like CockroachDB's C(debug recover). B(Plan) - check mode returns the plan and its
    RV(plan_id) - the shards without quorum, the survivor chosen for each and why, the committed
    entries each would lose, and the dead members that will be fenced (a new group epoch, so
    that they can never rejoin with their stale log). B(Apply) - with O(allow_data_loss=true),
    and with O(plan_id), the cluster applies exactly the plan that was reviewed, or refuses
    with C(plan_stale) when it changed since. B(Verify) - the shards are read again until each
    has a leader and a quorum.
  - O(leader_transfer) moves the leadership of the selected shards off a node before
    maintenance (Raft TimeoutNow).
  - Returns per shard the members, their roles and lag, the term and the commit index.
extends_documentation_fragment:
  - resilience.dr.cfs
  - ansible.builtin.action_common_attributes
options:
  state:
    description:
      - V(healthy) - every selected shard has a quorum and a leader.
      - V(status) - only report, change nothing.
      - Ignored when O(force_leader) or O(leader_transfer) is set.
    type: str
    choices: [healthy, status]
    default: healthy
  shards:
    description: V(all), or a list of shard numbers.
    type: list
    elements: str
    default: [all]
  site:
    description: Only the shards of this site (each site runs its own Raft groups).
    type: str
  force_leader:
    description:
      - Rebuild each selected shard that lost its quorum from this survivor, or from the
        reachable member with the highest match index when V(most-up-to-date).
      - Shards that still have a quorum are never touched.
      - Destructive - needs O(allow_data_loss=true) outside check mode.
    type: str
  allow_data_loss:
    description:
      - Allow O(force_leader) to apply. Committed entries that only the lost members held are
        gone; the plan says how many per shard.
    type: bool
    default: false
  plan_id:
    description:
      - The RV(plan_id) of a force-leader plan returned by check mode. The cluster applies that
        plan or refuses with C(plan_stale) when the shards changed since; nothing is applied
        then.
      - Without it, the module asks for a fresh plan and applies it in the same run.
    type: str
  leader_transfer:
    description:
      - Move the leadership of every selected shard led by this node to another member.
    type: dict
    suboptions:
      from:
        description: The node to move leadership off.
        type: str
        required: true
      to:
        description: The node to move it to; by default the reachable follower with the least lag.
        type: str
  stall_timeout:
    description: Seconds a shard with a quorum may stay without a leader before an election is forced.
    type: float
    default: 5
  wait_timeout:
    description: Seconds to wait for every selected shard to be healthy (elections, transfers, verification).
    type: float
    default: 60
attributes:
  check_mode:
    support: full
    details: Returns the plan (with its RV(plan_id) for a force-leader) and changes nothing.
  diff_mode:
    support: full
    details: Per shard leader, term, epoch, condition and members, before and after.
  platform:
    support: full
    platforms: posix
notes:
  - A force-leader plan is computed by the cluster (C(POST /v1/raft/force-leader/plan)); the
    module also computes it from the raft status it read and warns where the two differ.
  - The refusal without O(allow_data_loss) names the shards, the survivor and the entries that
    would be lost, and changes nothing.
seealso:
  - module: resilience.dr.cfs_info
  - module: resilience.dr.cfs_node
'''

EXAMPLES = r'''
- name: Every shard led and in quorum (wait through elections, force stalled ones)
  resilience.dr.cfs_raft:
    endpoints: "{{ cfs_admin_endpoints }}"
    token: "{{ cfs_admin_token }}"
    state: healthy

- name: Plan a force-leader for site-a (check mode returns the plan and its id)
  resilience.dr.cfs_raft:
    endpoints: "{{ cfs_admin_endpoints }}"
    token: "{{ cfs_admin_token }}"
    site: site-a
    force_leader: most-up-to-date
  check_mode: true
  register: cfs_plan

- name: Apply exactly that plan (gated)
  resilience.dr.cfs_raft:
    endpoints: "{{ cfs_admin_endpoints }}"
    token: "{{ cfs_admin_token }}"
    site: site-a
    force_leader: most-up-to-date
    allow_data_loss: true
    plan_id: "{{ cfs_plan.plan_id }}"
  when: cfs_allow_data_loss | default(false) | bool

- name: Move leadership off storage-2 before maintenance
  resilience.dr.cfs_raft:
    endpoints: "{{ cfs_admin_endpoints }}"
    token: "{{ cfs_admin_token }}"
    leader_transfer:
      from: storage-2
'''

RETURN = r'''
shards:
  description: The selected shards as read last (after the change, when there was one).
  returned: always
  type: list
  elements: dict
  sample:
    - shard: 3
      site: site-a
      epoch: 1
      leader: a3
      term: 9
      commit_index: 120
      has_quorum: true
      condition: healthy
      reachable_members: 3
      members: [{node: a3, role: Leader, match_index: 120, lag: 0, reachable: true}]
summary:
  description: Counts of healthy, electing and quorum-less shards, and the largest member lag.
  returned: always
  type: dict
plan:
  description: The planned steps (API calls); destructive ones are marked.
  returned: always
  type: list
  elements: dict
executed:
  description: The steps that ran.
  returned: always
  type: list
  elements: dict
plan_id:
  description: The force-leader plan's id, to pass back as O(plan_id).
  returned: with force_leader when a shard lacks quorum
  type: str
force_leader_plan:
  description:
    - Per shard without quorum - survivors with their match index and predicted loss, the
      chosen survivor, the reason, the predicted entries lost, and the members to fence.
  returned: with force_leader, and in the failure of state=healthy when quorum is gone
  type: list
  elements: dict
requires:
  description: The option that must be set before the plan can apply (V(allow_data_loss)).
  returned: in check mode when it is missing
  type: str
applied:
  description: The cluster's answer to the apply (per shard the new epoch, predicted and committed).
  returned: when a force-leader was applied
  type: dict
forced_elections:
  description: Shards (C(site/shard)) for which an election was forced.
  returned: with state=healthy when shards were electing
  type: list
  elements: str
seconds_to_quorum:
  description: Seconds from the apply until every planned shard was healthy.
  returned: when a force-leader was applied and verified
  type: float
seconds_to_healthy:
  description: Seconds from the start until every selected shard was healthy.
  returned: with state=healthy when it had to wait
  type: float
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
from ansible_collections.resilience.dr.plugins.module_utils.cfs.raft_manager import RaftManager


def _shards(value):
    if not value or [str(v).strip().lower() for v in value] == ['all']:
        return 'all'
    return [int(v) for v in value]


def main():
    spec = connection_argument_spec()
    spec.update(
        state=dict(type='str', choices=['healthy', 'status'], default='healthy'),
        shards=dict(type='list', elements='str', default=['all']),
        site=dict(type='str'),
        force_leader=dict(type='str'),
        allow_data_loss=dict(type='bool', default=False),
        plan_id=dict(type='str'),
        leader_transfer=dict(type='dict', options={'from': dict(type='str', required=True),
                                                   'to': dict(type='str')}),
        stall_timeout=dict(type='float', default=5.0),
        wait_timeout=dict(type='float', default=60.0),
    )
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True,
                           mutually_exclusive=[('force_leader', 'leader_transfer')],
                           required_by={'plan_id': 'force_leader'})
    p = module.params
    try:
        shards = _shards(p['shards'])
    except ValueError:
        module.fail_json(msg='shards must be "all" or a list of shard numbers, got %s; nothing '
                         'was changed' % p['shards'])
    client = client_from_module(module)
    manager = RaftManager(client, check_mode=module.check_mode)

    def work():
        if p['force_leader']:
            result = manager.force_leader(shards, p['site'], p['force_leader'],
                                          p['allow_data_loss'], p['plan_id'], p['wait_timeout'])
        elif p['leader_transfer']:
            result = manager.transfer(shards, p['site'], p['leader_transfer']['from'],
                                      p['leader_transfer'].get('to'), p['wait_timeout'])
        elif p['state'] == 'status':
            result = manager.status(shards, p['site'])
        else:
            result = manager.healthy(shards, p['site'], p['wait_timeout'], p['stall_timeout'])
        if manager.warnings:
            result['warnings'] = manager.warnings
        return result

    cfs_run(module, client, work)


if __name__ == '__main__':
    main()
