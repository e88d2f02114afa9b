#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, resilience.dr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
---
module: cfs_s3
short_description: ClaudeFS S3 tiering - health with a diagnosis, failover to the backup endpoint and back, the upload queue
version_added: 0.3.0
author: resilience.dr contributors (@resilience-dr)
description:
  - O(action=health) reads the S3 endpoints as the cluster sees them and the upload queue, and
    diagnoses each endpoint that fails - C(network) (it does not answer), C(auth) (it refuses
    the credentials) or C(endpoint) (it answers with an error) - with what to check. With
    O(wait_healthy), it reads again until the active target is healthy, for at most that many
    seconds (an outage threshold). Read-only.
  - O(action=queue) is the same read, for the queue.
  - O(action=failover) switches uploads (and reads of blobs missing from flash) to O(target).
    Unchanged when O(target) is already active. Refused, with the diagnosis, when O(target)
    does not answer either. With O(wait_drained), waits until the queue is empty.
  - O(action=wait_drained) waits until the upload queue is empty and fails, with the queue and
    the diagnosis, when it is not within O(wait_timeout).
extends_documentation_fragment:
  - resilience.dr.cfs
  - ansible.builtin.action_common_attributes
options:
  action:
    description: What to do.
    type: str
    choices: [health, queue, failover, wait_drained]
    default: health
  target:
    description: The endpoint to switch to (O(action=failover)) - C(primary) or C(backup).
    type: str
  wait_healthy:
    description: With O(action=health), seconds to wait for the active target to become healthy.
    type: float
    default: 0
  wait_drained:
    description: With O(action=failover), wait until the queue is empty.
    type: bool
    default: true
  include_journal:
    description: With O(action=wait_drained), also wait for the journal archive (every node's C(journal_pending) zero).
    type: bool
    default: false
  wait_timeout:
    description: Seconds to wait for the queue to drain.
    type: float
    default: 120
attributes:
  check_mode:
    support: full
    details: Returns the planned switch and the queue that would drain.
  diff_mode:
    support: full
    details: The active S3 target before and after.
  platform:
    support: full
    platforms: posix
notes:
  - The S3 credentials stay on the cluster; this module never sees them.
seealso:
  - module: resilience.dr.cfs_info
  - module: resilience.dr.cfs_replication
'''

EXAMPLES = r'''
- name: Is S3 healthy? Wait up to a minute before calling it an outage
  resilience.dr.cfs_s3:
    endpoints: "{{ claudefs_admin_endpoints }}"
    token: "{{ claudefs_admin_token }}"
    wait_healthy: 60
  register: s3

- name: Switch uploads to the backup bucket and wait for the queue to drain
  resilience.dr.cfs_s3:
    endpoints: "{{ claudefs_admin_endpoints }}"
    token: "{{ claudefs_admin_token }}"
    action: failover
    target: backup
  when: not s3.healthy
'''

RETURN = r'''
target:
  description: The active S3 endpoint (primary or backup).
  returned: always
  type: str
healthy:
  description: Whether the active endpoint answers.
  returned: always
  type: bool
diagnosis:
  description:
    - Per endpoint - name, endpoint, bucket, reachable, failure (network, auth, endpoint), error, advice.
    - The target's failure and the reachable alternatives.
  returned: always
  type: dict
queue:
  description:
    - depth, bytes, mode (write-back, write-through, enospc), target, flash_used_ratio_max, watermarks.
    - journal_pending, unreachable_nodes, above_high_watermark.
  returned: always
  type: dict
problems:
  description: What is not healthy, in sentences.
  returned: always
  type: list
  elements: str
drained:
  description: Whether the queue is empty.
  returned: when the module waited for the queue
  type: bool
waited_seconds:
  description: Seconds spent waiting.
  returned: when the module waited
  type: float
plan:
  description: The planned calls.
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
from ansible_collections.resilience.dr.plugins.module_utils.cfs.s3 import S3Manager


def main():
    spec = connection_argument_spec()
    spec.update(
        action=dict(type='str', default='health',
                    choices=['health', 'queue', 'failover', 'wait_drained']),
        target=dict(type='str'),
        wait_healthy=dict(type='float', default=0.0),
        wait_drained=dict(type='bool', default=True),
        include_journal=dict(type='bool', default=False),
        wait_timeout=dict(type='float', default=120.0),
    )
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True,
                           required_if=[('action', 'failover', ('target',))])
    p = module.params
    client = client_from_module(module)
    manager = S3Manager(client, check_mode=module.check_mode)

    def work():
        action = p['action']
        if action in ('health', 'queue'):
            return manager.health(p['wait_healthy'] if action == 'health' else 0)
        if action == 'failover':
            return manager.failover(p['target'], p['wait_drained'], p['wait_timeout'])
        if module.check_mode:
            return manager.current()
        return manager.wait_drained(p['wait_timeout'], p['include_journal'])

    cfs_run(module, client, work)


if __name__ == '__main__':
    main()
