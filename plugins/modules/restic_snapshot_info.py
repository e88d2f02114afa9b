#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, resilience.dr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
---
module: restic_snapshot_info
short_description: List restic snapshots, the latest per group with its age, and optionally check the repository
version_added: 0.1.0
author: resilience.dr contributors (@resilience-dr)
description:
  - Read-only. Lists the snapshots of a restic repository with host, tag and path filters.
  - Groups them like C(restic forget --group-by) and gives the latest snapshot of each group
    and its age, so that monitoring can alert on a stale backup (RPO).
  - Optionally runs C(restic check), with C(--read-data-subset).
  - Optionally reads the JSON status file that the C(resilience.dr.train_backups) backup job
    writes after each run.
extends_documentation_fragment:
  - resilience.dr.restic
  - resilience.dr.restic.snapshot_filters
  - ansible.builtin.action_common_attributes
options:
  group_by:
    description: How to group snapshots for RV(groups); the same grouping forget should use.
    type: list
    elements: str
    choices: [host, tags, paths]
    default: [host, tags]
  check:
    description: Run C(restic check). It takes a lock on the repository.
    type: bool
    default: false
  read_data_subset:
    description: With O(check), also read this subset of the data, for example C(5%) or C(1/10).
    type: str
  stats:
    description:
      - Sizes from C(restic stats). V(restore-size) is the size of a full restore of the latest
        snapshot (of the filtered ones); V(raw-data) the data the whole repository holds
        (deduplicated, as stored). A DR drill extrapolates the full-restore time from them.
    type: list
    elements: str
    choices: [restore-size, raw-data]
    default: []
  status_file:
    description: A backup status JSON file to read and return as RV(backup_status).
    type: path
  no_lock:
    description: List without taking a repository lock (C(--no-lock)), so listing works while a prune runs.
    type: bool
    default: true
attributes:
  check_mode:
    support: full
    details: Read-only; runs the same way in check mode.
  diff_mode:
    support: none
    details: Nothing changes, so there is nothing to diff.
  platform:
    support: full
    platforms: posix
seealso:
  - module: resilience.dr.restic_restore
'''

EXAMPLES = r'''
- name: How old is the newest backup of the train server?
  resilience.dr.restic_snapshot_info:
    repository: rclone:gdrive:backups/ml-train-server
    password_file: /root/.restic-password
    host: train
    tags: [train-backups]
    status_file: /var/lib/resilience-dr/backup-status.json
  register: backups

- name: Fail when the last backup is older than a day
  ansible.builtin.assert:
    that: backups.latest.age_seconds < 86400

- name: Monthly - check 5% of the data
  resilience.dr.restic_snapshot_info:
    repository: /srv/restic
    password_file: /root/.restic-password
    check: true
    read_data_subset: 5%
'''

RETURN = r'''
snapshots:
  description: The matching snapshots, oldest first.
  returned: always
  type: list
  elements: dict
  sample: [{id: 4de0b51c..., short_id: 4de0b51c, time: "2026-01-01T02:00:00Z", host: train,
            paths: [/mnt/storage/snapshots/backup_20260101_020000/homes], tags: [train-backups],
            age_seconds: 3600}]
count:
  description: Number of matching snapshots.
  returned: always
  type: int
latest:
  description: The newest matching snapshot (null when there is none).
  returned: always
  type: dict
groups:
  description: Snapshots grouped by O(group_by), each with C(group), C(count), C(latest) and C(age_seconds).
  returned: always
  type: list
  elements: dict
check:
  description: The outcome of C(restic check) (C(ok), C(rc), C(num_errors) where restic reports it, C(output)).
  returned: when O(check=true)
  type: dict
backup_status:
  description: The content of O(status_file), or null when it does not exist.
  returned: when O(status_file) is set
  type: dict
commands:
  description: The commands that ran, each with C(cmd), C(rc) and C(seconds). No secret is on a restic command line.
  returned: always
  type: list
  elements: dict
restic_version:
  description: The detected restic version.
  returned: always
  type: str
stats:
  description:
    - With O(stats), the C(restic stats --json) document per mode (C(restore_size) of the latest
      snapshot, C(raw_data) of the repository); empty when there is no snapshot to measure.
  returned: always
  type: dict
  sample: {restore_size: {total_size: 353258, total_file_count: 22, snapshot: 4de0b51c},
           raw_data: {total_size: 204844, total_blob_count: 23, snapshots_count: 1}}
repository:
  description: The repository with URL credentials redacted.
  returned: always
  type: str
'''

import json
import time

from ansible_collections.resilience.dr.plugins.module_utils.runner import Runner
from ansible_collections.resilience.dr.plugins.module_utils.restic.client import redact_repository
from ansible_collections.resilience.dr.plugins.module_utils.restic.module import (
    restic_from_module, restic_module, run_restic_module)
from ansible_collections.resilience.dr.plugins.module_utils.restic.parsers import (
    group_snapshots, parse_time_ns, snapshot_summary)


def argument_spec():
    """The options of this module besides the shared ones (module_utils.restic.module)."""
    return dict(
        group_by=dict(type='list', elements='str', default=['host', 'tags'],
                      choices=['host', 'tags', 'paths']),
        check=dict(type='bool', default=False),
        read_data_subset=dict(type='str'),
        stats=dict(type='list', elements='str', default=[], choices=['restore-size', 'raw-data']),
        status_file=dict(type='path'),
        no_lock=dict(type='bool', default=True),
    )


def read_status(path):
    """The backup job's status file, None when absent, or the reason it cannot be read."""
    try:
        with open(path) as handle:
            return json.load(handle)
    except (IOError, OSError):
        return None
    except ValueError as exc:
        return {'error': 'unreadable status file: %s' % exc}


def main():
    module = restic_module(argument_spec())
    runner = Runner(module)

    def work():
        p = module.params
        restic = restic_from_module(module, runner, no_lock=p['no_lock'])
        now = time.time()
        snaps = restic.snapshots(host=[p['host']] if p['host'] else None, tags=p['tags'],
                                 paths=p['paths'])
        snaps.sort(key=lambda s: parse_time_ns(s['time']))
        summaries = [snapshot_summary(s, now=now) for s in snaps]
        result = {
            'changed': False,
            'snapshots': summaries,
            'count': len(summaries),
            'latest': summaries[-1] if summaries else None,
            'groups': group_snapshots(snaps, tuple(p['group_by']), now=now),
            'restic_version': restic.version_string,
            'repository': redact_repository(p['repository']),
        }
        result['stats'] = {}
        if summaries:
            latest = summaries[-1]['id']
            for mode in p['stats']:
                doc = restic.stats(latest if mode == 'restore-size' else None, mode)
                if mode == 'restore-size':
                    doc['snapshot'] = summaries[-1]['short_id']
                result['stats'][mode.replace('-', '_')] = doc
        if p['check']:
            result['check'] = restic.check(p['read_data_subset'])
        if p['status_file']:
            result['backup_status'] = read_status(p['status_file'])
        return result

    run_restic_module(module, runner, work)


if __name__ == '__main__':
    main()
