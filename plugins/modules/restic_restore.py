#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, resilience.dr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
---
module: restic_restore
short_description: Restore a restic snapshot, or one subtree of it, into a target directory
version_added: 0.1.0
author: resilience.dr contributors (@resilience-dr)
description:
  - Selects a snapshot (an id or C(latest), filtered by host, tags and paths), finds the
    subtree named by O(source_path) under whatever timestamped prefix the backup gave it,
    and restores its content directly under O(target).
  - Works with restic 0.14 (Debian 12) through 0.18 (Debian 13). The version is detected with
    C(restic version). From 0.17 on the native C(snapshot:subfolder) syntax with
    C(--overwrite if-changed) is used (method C(native)); older versions restore into a
    staging directory inside O(target) and rename the subtree into place (method C(staging)).
  - A state file (O(state_file)) records what was restored. A second run with the same
    snapshot and an intact target reports C(changed=false) without reading the data again;
    O(verify=true) compares every entry with C(restic ls) instead. An interrupted restore never
    leaves a state file behind, so a re-run finishes the job.
  - Repository errors (missing repository, locked repository, wrong password) fail before
    anything is written to the target, each with what to do next. Transient backend failures
    are retried with exponential backoff.
  - A failure after the restore started (damaged pack, full disk, interrupted merge) says what
    state the target is in (RV(target_state)), removes the staging directory, and reports
    C(changed=true) when anything was written.
  - Backup content is not trusted. Nothing below O(target) is written, chmod-ed, renamed or deleted
    through a symlink the module did not create; symlinks planted in the target are replaced by
    the snapshot's entries. See C(docs/security.md).
extends_documentation_fragment:
  - resilience.dr.restic
  - resilience.dr.restic.snapshot_filters
  - ansible.builtin.action_common_attributes
options:
  snapshot:
    description: A snapshot id (or unique prefix of one) or C(latest).
    type: str
    default: latest
  source_path:
    description:
      - The directory of the snapshot to restore. Its content lands directly under O(target).
      - Shell-style globs per path component. An absolute pattern
        (C(/mnt/storage/snapshots/backup_*/homes)) matches whole paths; a relative one
        (C(*/snapshots/backup_*/homes)) matches the last components of a path.
      - It must match exactly one directory of the chosen snapshot; otherwise the module fails
        and lists what it found.
      - When omitted, the whole snapshot is restored with its full paths under O(target).
    type: str
  target:
    description: The directory to restore into. Created when missing.
    type: path
    required: true
  include:
    description:
      - Only restore what matches these patterns. A pattern starting with C(/) is anchored at
        O(source_path); others match at any depth.
    type: list
    elements: str
    default: []
  exclude:
    description: Do not restore what matches these patterns (same rules as O(include)).
    type: list
    elements: str
    default: []
  verify:
    description:
      - After restoring, check every file, directory and symlink against C(restic ls) (type, size,
        mtime, mode and, as root, owner) and pass C(--verify) to restic, which re-reads the content.
      - On a run where the state file says the restore is done, do the same full comparison
        instead of the cheap state check, and restore again when anything differs.
    type: bool
    default: false
  delete:
    description:
      - Remove from the target what the snapshot (after include/exclude) lacks.
      - Refused for C(/) and every top-level system directory (C(/usr), C(/etc), C(/home), ...),
        however the target is spelled (C(/.), C(/tmp/..), C(//), a symlink to C(/)).
    type: bool
    default: false
  unlock_stale:
    description:
      - When the repository is locked, run C(restic unlock), which removes only stale locks
        (dead processes, or older than 30 minutes), and try again. A live lock is never removed.
    type: bool
    default: false
  limit_download:
    description: Download bandwidth limit in KiB/s (C(--limit-download)).
    type: int
  owners:
    description:
      - Map ownership by name onto these accounts. restic restores numeric owners; when this
        host's accounts have other UIDs than the host that was backed up (renumbered users, a
        snapshot of another host), every restored file would belong to the wrong user.
      - Before anything is written, the user and group names that the snapshot recorded for
        each UID/GID (in its trees; C(restic ls --json) carries only numbers) are matched with
        these accounts by name. After the restore, a chown pass gives every restored path the
        mapped owner of its snapshot node, never following a symlink (a symlink gets its own
        owner). Setuid/setgid bits are kept.
      - IDs below O(owners_keep_below) whose name is no account here (root, system users) are
        kept as numbers.
      - The module fails before restoring, listing every problem, when the mapping is
        impossible - a name in the snapshot with no account here, an ID without a recorded
        name, one ID with two names, or two IDs that would become one.
      - Each account is a dict with C(name), C(uid) and optionally C(gid) (by default the
        UID, as with user private groups).
      - When omitted, the snapshot's numeric owners are restored as they are.
    type: list
    elements: dict
  owners_keep_below:
    description: See O(owners). IDs below this that are not accounts are kept as numbers.
    type: int
    default: 1000
  state_file:
    description:
      - Where to record what was restored. Relative paths are inside O(target) (the record goes
        away with the data it describes). An empty string disables the record, and every run
        then restores again.
    type: str
    default: .restic-restore.json
attributes:
  check_mode:
    support: full
    details: Reports the files and bytes that would be restored and the plan; writes nothing.
  diff_mode:
    support: full
    details: Summarises new, changed, unchanged and extra entries in the target.
  platform:
    support: full
    platforms: posix
notes:
  - The state file and the staging directory C(.restic-restore-staging) live in O(target) by
    default and are excluded from O(delete) and from comparisons. These names at the top of the
    restored subtree belong to the module and are never restored from a snapshot.
  - With restic < 0.17 (method C(staging)) the target's filesystem needs room for a second copy
    of the restored selection while it is staged; the module checks it when the listing is known
    and says so in the out-of-space failure.
  - Restic's own exit codes 10/11/12 exist from restic 0.17; older versions are classified by
    their message text. The result carries C(error_kind) on failure.
seealso:
  - module: resilience.dr.restic_snapshot_info
'''

EXAMPLES = r'''
- name: Restore the homes of the latest backup of the train server
  resilience.dr.restic_restore:
    repository: rclone:gdrive:backups/ml-train-server
    password_file: /root/.restic-password
    host: train
    tags: [train-backups]
    source_path: "*/snapshots/backup_*/homes"
    target: /mnt/storage/homes
    verify: true

- name: Bring back the server configuration
  resilience.dr.restic_restore:
    repository: rclone:gdrive:backups/ml-train-server
    password: "{{ vault_restic_password }}"
    environment:
      RCLONE_CONFIG: /root/.config/rclone/rclone.conf
    source_path: /etc/resilience-dr
    target: /etc/resilience-dr

- name: Drill - what would a restore of an older snapshot bring back?
  resilience.dr.restic_restore:
    repository: rest:http://127.0.0.1:8000/
    password_file: /root/.restic-password
    snapshot: 4de0b51c
    source_path: "*/homes"
    target: /srv/drill/homes
  check_mode: true
'''

RETURN = r'''
snapshot:
  description: The snapshot that was (or would be) restored.
  returned: success
  type: dict
  contains:
    id: {description: Full snapshot id., type: str}
    short_id: {description: Short id., type: str}
    time: {description: Snapshot time (RFC 3339)., type: str}
    host: {description: Host name recorded by restic., type: str}
    paths: {description: Paths the backup recorded., type: list, elements: str}
    tags: {description: Tags of the snapshot., type: list, elements: str}
    age_seconds: {description: Age of the snapshot., type: int}
  sample: {id: 4de0b51c797f1ed2..., short_id: 4de0b51c, time: "2026-01-01T02:00:00Z", host: train,
           paths: [/mnt/storage/snapshots/backup_20260101_020000/homes], tags: [train-backups],
           age_seconds: 3600}
source:
  description: The snapshot directory that O(source_path) resolved to.
  returned: success
  type: str
  sample: /mnt/storage/snapshots/backup_20260101_020000/homes
target:
  description: The absolute target directory.
  returned: success
  type: str
mapping:
  description: Source directory in the snapshot -> target directory.
  returned: success
  type: dict
  sample: {/mnt/storage/snapshots/backup_20260101_020000/homes: /mnt/storage/homes}
method:
  description: C(native) (restic >= 0.17, snapshot:subfolder) or C(staging) (older restic).
  returned: success
  type: str
restic_version:
  description: The detected restic version.
  returned: success
  type: str
  sample: 0.14.0
repository:
  description: The repository, with any URL credentials replaced by C(***).
  returned: success
  type: str
files:
  description: Regular files in the selected subtree (after include/exclude).
  returned: success
  type: int
bytes:
  description: Bytes of those files.
  returned: success
  type: int
restored_files:
  description: Files written by this run (0 when nothing was to do).
  returned: success and not check mode
  type: int
restored_bytes:
  description: Bytes written by this run.
  returned: success and not check mode
  type: int
duration:
  description: Seconds the module spent (listing, restore, verification).
  returned: success and not check mode
  type: float
restore_seconds:
  description: Seconds spent in the restore step itself.
  returned: when a restore ran
  type: float
mb_per_s:
  description: Restored megabytes (10^6 bytes) per second of C(duration).
  returned: success and not check mode
  type: float
rpo_seconds:
  description: Now minus the snapshot time, the recovery point actually achieved.
  returned: success
  type: int
verified:
  description: Whether every restored entry was compared with the snapshot.
  returned: success
  type: bool
would_restore:
  description: In check mode, the files and bytes that would be written and entries that would be deleted.
  returned: check mode, when a restore is needed
  type: dict
  sample: {files: 120, bytes: 1048576, would_delete: 0}
comparison:
  description: New, changed, unchanged and extra entries of the target against the snapshot.
  returned: check or diff mode, or verify
  type: dict
restic_dry_run:
  description: The summary of C(restic restore --dry-run) (restic >= 0.17, check mode).
  returned: check mode with restic >= 0.17
  type: dict
restic_summary:
  description: restic's own restore summary (restic >= 0.16).
  returned: when a restore ran
  type: dict
owner_map:
  description:
    - With O(owners), how the snapshot's owners map onto the accounts. C(uid_map) and
      C(gid_map) hold only the IDs that change (snapshot ID as a string -> new ID);
      C(renumbered) says it by name; C(chowned) counts the entries the chown pass changed.
  returned: when O(owners) is set and the snapshot was listed
  type: dict
  sample: {uid_map: {"1000": 2000}, gid_map: {"1000": 2000}, renumbered: ["alice 1000 -> 2000"],
           chowned: 57}
plan:
  description: The steps this run takes (or would take in check mode).
  returned: always
  type: list
  elements: dict
state_file:
  description: The state file path, or null when disabled.
  returned: success
  type: str
unlocked_stale_locks:
  description: Whether stale locks were removed (O(unlock_stale)).
  returned: success
  type: bool
error_kind:
  description:
    - On failure, C(repository_missing), C(locked), C(wrong_password), C(transient), C(corrupt)
      (damaged pack data), C(no_space), C(read_only), C(permission), C(verify_mismatch) or null.
  returned: failure
  type: str
target_state:
  description:
    - When a restore failed while writing, the state it left the target in. C(unchanged) (nothing
      written; staging removed), C(partial) (a re-run of the same task resumes and finishes),
      C(restored-unrecorded) (data in place, state record not written), C(restored-differs)
      (O(verify) found differences).
  returned: failure after the restore started
  type: str
staging_dir:
  description: On failure, the staging directory if it could not be removed, else null.
  returned: failure after the restore started
  type: str
hint:
  description: On failure, what to do next.
  returned: failure
  type: str
steps_done:
  description: On a failure while writing, the steps of RV(plan) that had run.
  returned: failure after the restore started
  type: list
  elements: dict
steps_left:
  description: On a failure while writing, the steps of RV(plan) that did not run or did not finish.
  returned: failure after the restore started
  type: list
  elements: dict
commands:
  description: The commands that ran, each with C(cmd), C(rc) and C(seconds). No secret is on a restic command line.
  returned: always
  type: list
  elements: dict
'''

import time

from ansible_collections.resilience.dr.plugins.module_utils.runner import Runner
from ansible_collections.resilience.dr.plugins.module_utils.restic.compare import comparison_diff
from ansible_collections.resilience.dr.plugins.module_utils.restic.job import RestoreJob
from ansible_collections.resilience.dr.plugins.module_utils.restic.module import (
    restic_from_module, restic_module, run_restic_module)
from ansible_collections.resilience.dr.plugins.module_utils.restic.target import DEFAULT_STATE_FILE


def argument_spec():
    """The options of this module besides the shared ones (module_utils.restic.module)."""
    return dict(
        snapshot=dict(type='str', default='latest'),
        source_path=dict(type='str'),
        target=dict(type='path', required=True),
        include=dict(type='list', elements='str', default=[]),
        exclude=dict(type='list', elements='str', default=[]),
        verify=dict(type='bool', default=False),
        delete=dict(type='bool', default=False),
        unlock_stale=dict(type='bool', default=False),
        limit_download=dict(type='int'),
        state_file=dict(type='str', default=DEFAULT_STATE_FILE),
        owners=dict(type='list', elements='dict'),
        owners_keep_below=dict(type='int', default=1000),
    )


def main():
    module = restic_module(argument_spec())
    runner = Runner(module)

    def work():
        restic = restic_from_module(module, runner)
        job = RestoreJob(restic, module.params, check_mode=module.check_mode,
                         diff=module._diff, now=time.time)
        result = job.run()
        for warning in job.warnings:
            module.warn(warning)
        if module._diff and 'comparison' in result:
            result['diff'] = comparison_diff(
                result['comparison'], result['target'],
                '%s:%s' % (result['snapshot']['short_id'], result['source']),
                module.params['delete'])
        return result

    run_restic_module(module, runner, work)


if __name__ == '__main__':
    main()
