#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, resilience.dr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
---
module: restic_manifest_verify
short_description: Verify a restored restic snapshot against the checksum manifest it carries
version_added: 0.1.0
author: resilience.dr contributors (@resilience-dr)
description:
  - The train server's backup job (C(resilience.dr.train_backups)) hashes the read-only btrfs
    snapshot it backs up and stores the sha256 manifest in the same restic snapshot. After
    C(resilience.dr.restic_restore) restored that whole snapshot into O(target), this module
    reads the manifest from the restored tree and compares every regular file with it (size and
    sha256), reporting files missing, files changed, files the manifest does not know, and symlinks or
    special files where the manifest has a file.
  - The manifest is refused when its root is not one of O(snapshot_paths), the paths of the
    restored snapshot, so a manifest never vouches for other data.
  - Read-only. The restored tree is backup content and not trusted; it is read through
    directory descriptors, never through a symlink, and only regular files are opened.
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
options:
  target:
    description: The directory the whole snapshot was restored into (its full paths below it).
    type: path
    required: true
  manifest:
    description: The manifest's absolute path as the backup job wrote it (inside the snapshot).
    type: str
    default: /var/lib/resilience-dr/backup-manifest/manifest.jsonl
  snapshot_paths:
    description: The paths of the restored snapshot (RV(resilience.dr.restic_restore#module:snapshot.paths)).
    type: list
    elements: str
    required: true
  fail_on_mismatch:
    description: Fail when anything differs. With V(false) the differences are only returned (RV(ok)).
    type: bool
    default: true
attributes:
  check_mode:
    support: full
    details: Read-only; runs the same way in check mode.
  diff_mode:
    support: none
    details: Nothing changes.
  platform:
    support: full
    platforms: posix
seealso:
  - module: resilience.dr.restic_restore
'''

EXAMPLES = r'''
- name: Restore the latest backup into the drill's scratch directory
  resilience.dr.restic_restore:
    repository: rclone:gdrive:backups/ml-train-server
    password_file: /root/.restic-password
    host: train
    tags: [train-backups]
    target: /var/lib/resilience-dr/drill-scratch/restore
    state_file: ""
  register: restore

- name: Verify it against the manifest the backup job stored with it
  resilience.dr.restic_manifest_verify:
    target: /var/lib/resilience-dr/drill-scratch/restore
    snapshot_paths: "{{ restore.snapshot.paths }}"
  register: manifest
'''

RETURN = r'''
ok:
  description: Every manifest file was restored with its size and sha256, and nothing else was.
  returned: success
  type: bool
root:
  description: The read-only btrfs snapshot the manifest describes (paths are relative to it).
  returned: success
  type: str
  sample: /mnt/storage/snapshots/backup_20260101_020000
manifest_files:
  description: Files the manifest lists.
  returned: success
  type: int
manifest_bytes:
  description: Their bytes.
  returned: success
  type: int
files_compared:
  description: Manifest files found restored as regular files and hashed.
  returned: success
  type: int
bytes_hashed:
  description: Bytes read and hashed.
  returned: success
  type: int
matched:
  description: Files whose size and sha256 equal the manifest's.
  returned: success
  type: int
mismatched:
  description: Files restored with another size or sha256.
  returned: success
  type: int
missing:
  description: Manifest files not restored.
  returned: success
  type: int
extra:
  description: Regular files restored below the manifest's paths that it does not list.
  returned: success
  type: int
unsafe:
  description: Symlinks or special files restored where the manifest has a regular file (never followed).
  returned: success
  type: int
examples:
  description: Up to 20 paths of each kind of difference (relative to RV(root)).
  returned: success
  type: dict
  sample: {mismatched: [homes/alice/model.pt], missing: [], extra: [], unsafe: []}
seconds:
  description: Seconds spent reading and hashing.
  returned: success
  type: float
hash_bytes_per_second:
  description: Hashing rate.
  returned: success
  type: float
detail:
  description: One line saying what matched and the first differences.
  returned: always
  type: str
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.resilience.dr.plugins.module_utils.runner import ModuleFailure, run_module
from ansible_collections.resilience.dr.plugins.module_utils.restic.manifest import (
    DEFAULT_MANIFEST, ManifestError, check_header, describe, parse_manifest, read_manifest,
    verify_tree)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            target=dict(type='path', required=True),
            manifest=dict(type='str', default=DEFAULT_MANIFEST),
            snapshot_paths=dict(type='list', elements='str', required=True),
            fail_on_mismatch=dict(type='bool', default=True),
        ),
        supports_check_mode=True,
    )

    def work():
        p = module.params
        try:
            header, entries = parse_manifest(read_manifest(p['target'], p['manifest']))
        except (OSError, UnicodeError) as exc:
            raise ManifestError('cannot read the manifest %s below %s: %s'
                                % (p['manifest'], p['target'], exc))
        check_header(header, p['snapshot_paths'])
        try:
            result = verify_tree(p['target'], header, entries)
        except OSError as exc:
            raise ModuleFailure('reading the restored tree %s failed: %s' % (p['target'], exc))
        result['detail'] = describe(result)
        result['changed'] = False
        if p['fail_on_mismatch'] and not result['ok']:
            raise ModuleFailure('the restore does not match its manifest: %s' % result['detail'],
                                details=result)
        return result

    run_module(module, work)


if __name__ == '__main__':
    main()
