#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, resilience.dr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
---
module: cfs_file_checksums
short_description: Prove ClaudeFS files are intact against a manifest of SHA-256 checksums
version_added: 0.2.0
author: resilience.dr contributors (@resilience-dr)
description:
  - Reads every file of a manifest (or a repeatable sample of it) from ClaudeFS, hashes the
    content and compares it with the manifest. The end of every ClaudeFS recovery playbook.
  - O(source=api) reads through the admin contract's data path (C(GET /v1/files/{path}));
    O(source=mount) reads from a ClaudeFS mount under O(mount_path), never following a
    symlink and never leaving the mount.
  - The hash is computed from the content read, never taken from the server's header.
  - "Returns RV(dr_report_verified) for the recovery report."
extends_documentation_fragment:
  - resilience.dr.cfs
  - ansible.builtin.action_common_attributes
options:
  manifest:
    description: "The checksums, C({path: sha256}). One of O(manifest) or O(manifest_file) is required."
    type: dict
  manifest_file:
    description:
      - A file on the managed host with the checksums - JSON (a mapping, or a list of
        C({path, sha256})) or C(sha256sum) output.
    type: path
  source:
    description: Where to read the files.
    type: str
    choices: [api, mount]
    default: api
  mount_path:
    description: The ClaudeFS mount point (O(source=mount)).
    type: path
  sample:
    description: Check only this many files, chosen at random with O(seed); V(0) checks all.
    type: int
    default: 0
  seed:
    description: Seed of the sample, so that a re-run checks the same files.
    type: int
    default: 0
  rotation:
    description:
      - A rotating sample instead of a random one - the files are ordered by the SHA-256 of
        their path and cut into slices of O(sample); this number (a drill's run number, e.g.
        the days since the epoch) picks the slice, so successive rotations read every file
        before any is read twice. The slice read is returned in RV(sample_slice).
      - Needs O(sample); O(seed) is then not used.
    type: int
  fail_on_mismatch:
    description: Fail when a file is missing, differs or cannot be read.
    type: bool
    default: true
attributes:
  check_mode:
    support: full
    details: Read-only; runs the same in check mode.
  diff_mode:
    support: none
  platform:
    support: full
    platforms: posix
notes:
  - With O(source=mount) the connection options are still required by the shared option set
    but no API call is made.
seealso:
  - module: resilience.dr.cfs_info
'''

EXAMPLES = r'''
- name: Every file of the manifest is back
  resilience.dr.cfs_file_checksums:
    endpoints: "{{ claudefs_admin_endpoints }}"
    token: "{{ claudefs_admin_token }}"
    manifest_file: /var/lib/claudefs-dr/manifest.sha256

- name: A sample of 200 files, read from the mount
  resilience.dr.cfs_file_checksums:
    endpoints: "{{ claudefs_admin_endpoints }}"
    token: "{{ claudefs_admin_token }}"
    manifest_file: /var/lib/claudefs-dr/manifest.json
    source: mount
    mount_path: /mnt/claudefs
    sample: 200
'''

RETURN = r'''
checked:
  description: Files checked.
  returned: always
  type: int
ok:
  description: Files whose content matches.
  returned: always
  type: int
missing:
  description: Files that do not exist.
  returned: always
  type: list
  elements: str
mismatched:
  description: Files whose content differs, with the expected and actual checksum.
  returned: always
  type: list
  elements: dict
errors:
  description: Files that could not be read, with the reason.
  returned: always
  type: list
  elements: dict
bytes:
  description: Bytes read and hashed.
  returned: always
  type: int
manifest_size:
  description: Files in the manifest.
  returned: always
  type: int
sampled:
  description: The paths checked (sorted).
  returned: always
  type: list
  elements: str
sample_slice:
  description: The slice a rotating sample read, C(<slice>/<slices>) (C(1/1) when all were read).
  returned: when O(rotation) is given
  type: str
  sample: 3/12
dr_report_verified:
  description: The check for the recovery report, C({check, ok, detail}).
  returned: always
  type: dict
api_calls:
  description: Admin API calls made (one per file with O(source=api)).
  returned: always
  type: list
  elements: dict
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.resilience.dr.plugins.module_utils.cfs import checksums
from ansible_collections.resilience.dr.plugins.module_utils.cfs.client import (
    client_from_module, connection_argument_spec)
from ansible_collections.resilience.dr.plugins.module_utils.cfs.module import cfs_run


def main():
    spec = connection_argument_spec()
    spec.update(
        manifest=dict(type='dict'),
        manifest_file=dict(type='path'),
        source=dict(type='str', choices=['api', 'mount'], default='api'),
        mount_path=dict(type='path'),
        sample=dict(type='int', default=0),
        seed=dict(type='int', default=0),
        rotation=dict(type='int'),
        fail_on_mismatch=dict(type='bool', default=True),
    )
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True,
                           required_one_of=[('manifest', 'manifest_file')],
                           mutually_exclusive=[('manifest', 'manifest_file')],
                           required_if=[('source', 'mount', ('mount_path',))],
                           required_by={'rotation': ('sample',)})
    p = module.params
    client = client_from_module(module)

    def work():
        if p['manifest'] is not None:
            manifest = dict((k, str(v).lower()) for k, v in p['manifest'].items())
        else:
            try:
                with open(p['manifest_file']) as f:
                    manifest = checksums.parse_manifest(f.read())
            except (IOError, OSError, ValueError) as exc:
                module.fail_json(msg='cannot read the manifest %s: %s; nothing was checked'
                                 % (p['manifest_file'], exc))
        extra = {}
        if p['rotation'] is not None:
            paths, (index, slices) = checksums.rotating_sample(manifest, p['sample'],
                                                               p['rotation'])
            extra['sample_slice'] = '%d/%d' % (index, slices)
        else:
            paths = checksums.sample(manifest, p['sample'], p['seed'])
        reader = (checksums.mount_reader(p['mount_path']) if p['source'] == 'mount'
                  else checksums.api_reader(client))
        verdict = checksums.verify(manifest, paths, reader)
        detail = checksums.verdict_detail(verdict, len(manifest))
        result = dict(verdict, changed=False, manifest_size=len(manifest), sampled=paths,
                      **extra)
        result.update(
            dr_report_verified={'check': 'ClaudeFS file checksums', 'ok': verdict['all_ok'],
                                'detail': detail})
        result.pop('all_ok')
        if not verdict['all_ok'] and p['fail_on_mismatch']:
            result.update(failed=True, msg=detail)
        return result

    cfs_run(module, client, work)


if __name__ == '__main__':
    main()
