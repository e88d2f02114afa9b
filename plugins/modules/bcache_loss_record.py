#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, resilience.dr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
---
module: bcache_loss_record
short_description: Keep the record of an accepted dirty-cache loss until a scrub has run
version_added: 0.1.0
author: resilience.dr contributors (@resilience-dr)
description:
  - When bcache backing devices are started without a lost cache that held dirty data, the
    writes that were only on the cache are gone. Once the devices run, nothing on the machine
    remembers it; a recovery interrupted after that point would, re-run, report a plain success.
  - V(present) records the loss (the devices, the missing cache set, when and in which
    scenario) in one JSON file, written atomically; a re-run with the same devices changes
    nothing. V(query) reads it. V(absent) clears it, but only with the findings of a BTRFS
    scrub that ran to its end (O(scrub)), and returns the line the report prints.
  - Never writes through a symbolic link. All logic lives in the collection's C(bcache)
    module_utils package (C(loss_record)).
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
options:
  state:
    description:
      - V(present) records the loss of O(devices); V(absent) clears the record after the scrub
        in O(scrub); V(query) only reads it.
    type: str
    choices: [present, absent, query]
    default: query
  path:
    description: The record file. Its directory is created (mode 0700) when missing.
    type: path
    default: /var/lib/resilience-dr/dirty-cache-loss.json
  devices:
    description:
      - The backing devices whose lost cache held dirty data, as C(resilience.dr.bcache_info)
        returns them (C(device), C(missing_cache_set_uuid), C(superblock_state)) or as paths.
      - Required with O(state=present).
    type: list
    elements: raw
  scenario:
    description: The recovery that accepted the loss (for the report).
    type: str
  scrub:
    description:
      - The result of C(resilience.dr.btrfs_scrub) over the array, with C(status=finished).
        Required with O(state=absent); the record is cleared only after a scrub.
    type: dict
seealso:
  - module: resilience.dr.bcache_cache
  - module: resilience.dr.btrfs_scrub
attributes:
  check_mode:
    support: full
    details: Returns the record that would be written or cleared and changes nothing.
  diff_mode:
    support: full
    details: The record before and after, as JSON text.
  platform:
    support: full
    platforms: posix
'''

EXAMPLES = r'''
- name: Record the accepted loss before starting the HDDs without their cache
  resilience.dr.bcache_loss_record:
    state: present
    devices: "{{ info.backing_devices | selectattr('waiting_for_cache') | selectattr('superblock_state', 'equalto', 'dirty') | list }}"
    scenario: bcache-ssd

- name: Clear it after the scrub
  resilience.dr.bcache_loss_record:
    state: absent
    scrub: "{{ scrub_result }}"
'''

RETURN = r'''
record:
  description: The record after the run (null when there is none).
  returned: always
  type: dict
  sample:
    format: resilience.dr/dirty-cache-loss/v1
    recorded_at: "2026-12-01T07:40:00Z"
    scenario: bcache-ssd
    scrubbed: false
    devices: [{device: /dev/vdb, missing_cache_set_uuid: 2f3a2b9e-6d0c-4d38-9e67-3d9b2c6a1f10,
               superblock_state: dirty}]
recorded:
  description: Whether a loss is on record after the run.
  returned: always
  type: bool
cleared:
  description: The record that was cleared by O(state=absent) (null otherwise).
  returned: always
  type: dict
message:
  description: The line for the recovery report (what was lost and whether it was scrubbed).
  returned: always
  type: str
'''

import datetime
import json

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.resilience.dr.plugins.module_utils.bcache import loss_record
from ansible_collections.resilience.dr.plugins.module_utils.bcache.preflight import BcacheFailure
from ansible_collections.resilience.dr.plugins.module_utils.runner import run_module


def _text(record):
    return json.dumps(record, indent=2, sort_keys=True) + '\n' if record else ''


def main():
    module = AnsibleModule(
        argument_spec=dict(
            state=dict(type='str', default='query', choices=['present', 'absent', 'query']),
            path=dict(type='path', default=loss_record.DEFAULT_PATH),
            devices=dict(type='list', elements='raw'),
            scenario=dict(type='str'),
            scrub=dict(type='dict'),
        ),
        required_if=[('state', 'present', ('devices',)), ('state', 'absent', ('scrub',))],
        supports_check_mode=True,
    )

    def work():
        p = module.params
        store = loss_record.RecordFile(p['path'], module)
        before = store.read()
        after, cleared, message = before, None, ''
        if p['state'] == 'present':
            if before is None:
                now = datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')
                after = loss_record.new_record(p['devices'], p['scenario'], now)
            else:
                after, _added = loss_record.merge(before, p['devices'])
        elif p['state'] == 'absent' and before is not None:
            if not loss_record.scrub_done(p['scrub']):
                raise BcacheFailure('the dirty-cache loss record is cleared only after a scrub '
                                    'that ran to its end (scrub.status=finished); this one has '
                                    'status %r. The record was kept'
                                    % (p['scrub'] or {}).get('status'), record=before)
            after, cleared = None, before
            message = loss_record.cleared_summary(before, p['scrub'])
        if after is not None:
            message = loss_record.summary(after)
        changed = after != before
        if changed and not module.check_mode:
            if after is None:
                store.remove()
            else:
                store.write(after)
        result = dict(changed=changed, record=after, recorded=after is not None,
                      cleared=cleared, message=message)
        if module._diff:
            result['diff'] = {'before': _text(before), 'after': _text(after),
                              'before_header': p['path'], 'after_header': p['path']}
        return result

    run_module(module, work)


if __name__ == '__main__':
    main()
