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
options:
  repository:
    description:
      - Any restic repository string (local path, C(rclone:), C(rest:), C(s3:), C(sftp:)).
      - Credentials inside it are masked in every result, message and the logged invocation.
    type: str
    required: true
  password:
    description: The repository password. Mutually exclusive with O(password_file).
    type: str
  password_file:
    description: A file holding the repository password (its path is shown in messages, it is not a secret).
    type: path
  environment:
    description: Extra environment for restic (rclone configuration, S3 keys). Never logged.
    type: dict
    default: {}
  host:
    description: Only list snapshots of this host.
    type: str
  tags:
    description: Only list snapshots with these tags (one C(--tag) per item; C(a,b) needs both).
    type: list
    elements: str
    default: []
  paths:
    description: Only list snapshots that include these exact paths.
    type: list
    elements: str
    default: []
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
  status_file:
    description: A backup status JSON file to read and return as RV(backup_status).
    type: path
  no_lock:
    description: List without taking a repository lock (C(--no-lock)), so listing works while a prune runs.
    type: bool
    default: true
  cache_dir:
    description: restic's cache directory.
    type: path
  retries:
    description: How often to retry after a transient backend failure.
    type: int
    default: 3
  retry_delay:
    description: Seconds before the first retry; doubled each time.
    type: float
    default: 2.0
  executable:
    description: The restic binary.
    type: path
    default: restic
    aliases: [restic_binary]
attributes:
  check_mode:
    support: full
    description: Read-only; runs the same way in check mode.
  diff_mode:
    support: none
    description: Nothing changes, so there is nothing to diff.
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
restic_version:
  description: The detected restic version.
  returned: always
  type: str
repository:
  description: The repository with URL credentials redacted.
  returned: always
  type: str
'''

import json
import time

from ansible_collections.resilience.dr.plugins.module_utils.redact import RedactingModule
from ansible_collections.resilience.dr.plugins.module_utils.runner import Runner, run_module
from ansible_collections.resilience.dr.plugins.module_utils.restic import (
    Restic, group_snapshots, parse_check, parse_time_ns, redact_repository, snapshot_summary)
from ansible_collections.resilience.dr.plugins.module_utils.restic_preflight import check_credentials


def main():
    module = RedactingModule(
        argument_spec=dict(
            repository=dict(type='str', required=True),
            password=dict(type='str', no_log=True),
            password_file=dict(type='path', no_log=False),
            environment=dict(type='dict', default={}, no_log=True),
            host=dict(type='str'),
            tags=dict(type='list', elements='str', default=[]),
            paths=dict(type='list', elements='str', default=[]),
            group_by=dict(type='list', elements='str', default=['host', 'tags'],
                          choices=['host', 'tags', 'paths']),
            check=dict(type='bool', default=False),
            read_data_subset=dict(type='str'),
            status_file=dict(type='path'),
            no_lock=dict(type='bool', default=True),
            cache_dir=dict(type='path'),
            retries=dict(type='int', default=3),
            retry_delay=dict(type='float', default=2.0),
            executable=dict(type='path', default='restic', aliases=['restic_binary']),
        ),
        supports_check_mode=True,
        mutually_exclusive=[('password', 'password_file')],
        url_options=['repository'],
    )
    runner = Runner(module)

    def work():
        p = module.params
        env = dict((str(k), str(v)) for k, v in (p['environment'] or {}).items())
        check_credentials(p['password'], p['password_file'], env)
        executable = p['executable']
        if '/' not in executable:
            executable = runner.which(executable, hint='install restic (apt install restic)')
        restic = Restic(runner, executable=executable, repository=p['repository'],
                        password=p['password'], password_file=p['password_file'],
                        environment=env, cache_dir=p['cache_dir'], retries=p['retries'],
                        backoff=p['retry_delay'], no_lock=p['no_lock'])
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
        if p['check']:
            args = ['check']
            if p['read_data_subset']:
                args += ['--read-data-subset', p['read_data_subset']]
            rc, out, err = runner.run(restic.argv(args, no_lock=False), check_rc=False,
                                      env=restic.env)
            result['check'] = parse_check(out, err, rc)
        if p['status_file']:
            try:
                with open(p['status_file']) as handle:
                    result['backup_status'] = json.load(handle)
            except (IOError, OSError):
                result['backup_status'] = None
            except ValueError as exc:
                result['backup_status'] = {'error': 'unreadable status file: %s' % exc}
        result['commands'] = runner.executed
        return result

    run_module(module, work)


if __name__ == '__main__':
    main()
