#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, resilience.dr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
---
module: managed_files
short_description: Lay down many small files and directories in one call
version_added: 0.2.0
author: resilience.dr contributors (@resilience-dr)
description:
  - Makes every entry of O(files) true in one module call, in order - a directory with its owner,
    group and mode, or a file with its content, owner, group and mode. What one
    M(ansible.builtin.copy), M(ansible.builtin.template) or M(ansible.builtin.file) task per
    path would do, at the cost of one call. Under TCG emulation each module call costs seconds,
    so the train roles lay down their configuration files and directories with it.
  - Render templates on the controller with P(ansible.builtin.template#lookup) and pass the text
    as O(files[].content).
  - Every entry is checked before anything is changed; an invalid or unsafe entry fails the
    task with nothing changed.
  - The last component of a path is never followed. A symlink where a directory is wanted is
    refused. A symlink where a file is wanted is replaced by the file (the link, never its
    target). Parent directories are resolved as given.
  - Directory entries create missing parent directories. A file's directory must exist or be
    an earlier entry.
options:
  files:
    description: The files and directories, applied in this order.
    type: list
    elements: dict
    required: true
    suboptions:
      path:
        description: Absolute path, or relative to O(root).
        type: str
        required: true
      state:
        description: V(file) (needs O(files[].content)) or V(directory). Default from O(defaults), else V(file).
        type: str
        choices: [file, directory]
      content:
        description: The file's content (UTF-8 text).
        type: str
      mode:
        description:
          - Octal mode, quoted (V("0644")). Omitted, a new path gets the default of the umask and an
            existing one keeps its mode.
        type: raw
      owner:
        description: User name or UID. Omitted, a new path is owned by the user the module runs as.
        type: raw
      group:
        description: Group name or GID.
        type: raw
  root:
    description: Relative O(files[].path) values are below this directory.
    type: path
  defaults:
    description: Values for the keys an entry does not set.
    type: dict
    suboptions:
      state:
        description: Default O(files[].state).
        type: str
        choices: [file, directory]
      mode:
        description: Default O(files[].mode).
        type: raw
      owner:
        description: Default O(files[].owner).
        type: raw
      group:
        description: Default O(files[].group).
        type: raw
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Returns what would change (RV(paths)) and changes nothing.
  diff_mode:
    support: full
    details: One before/after per file whose content changes. Use C(no_log) for secrets.
  platform:
    support: full
    platforms: posix
notes:
  - A changed result notifies handlers once for the whole set; a handler that must run only
    for some paths can test RV(changed_paths).
seealso:
  - module: ansible.builtin.copy
  - module: ansible.builtin.file
'''

EXAMPLES = r'''
- name: The backup job's configuration and systemd units
  resilience.dr.managed_files:
    files:
      - {path: /etc/resilience-dr, state: directory, owner: root, group: root, mode: "0755"}
      - path: /etc/resilience-dr/backup.json
        content: "{{ lookup('ansible.builtin.template', 'backup.json.j2') }}"
        mode: "0644"
      - path: /etc/systemd/system/resilience-dr-backup.service
        content: "{{ lookup('ansible.builtin.template', 'resilience-dr-backup.service.j2') }}"
        mode: "0644"
  notify: Reload systemd

- name: Top-level directories of the array
  resilience.dr.managed_files:
    root: /mnt/storage
    defaults: {state: directory, owner: root, group: root}
    files:
      - {path: homes, mode: "0755"}
      - {path: snapshots, mode: "0700"}
      - {path: docker}
'''

RETURN = r'''
paths:
  description: Every entry and what changed (or would change, in check mode).
  returned: always
  type: list
  elements: dict
  contains:
    path:
      description: The absolute path.
      type: str
    state:
      description: V(file) or V(directory).
      type: str
    changes:
      description: Of V(created), V(content), V(replaced_symlink), V(mode), V(owner), V(group); empty when it was right.
      type: list
      elements: str
  sample: [{path: /etc/resilience-dr/backup.json, state: file, changes: [content]}]
changed_paths:
  description: The paths that changed (or would change).
  returned: always
  type: list
  elements: str
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.resilience.dr.plugins.module_utils import managed_files as mf

ENTRY_SPEC = dict(
    path=dict(type='str', required=True),
    state=dict(type='str', choices=list(mf.STATES)),
    content=dict(type='str'),
    mode=dict(type='raw'),
    owner=dict(type='raw'),
    group=dict(type='raw'),
)
DEFAULTS_SPEC = dict(
    state=dict(type='str', choices=list(mf.STATES)),
    mode=dict(type='raw'),
    owner=dict(type='raw'),
    group=dict(type='raw'),
)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            files=dict(type='list', elements='dict', required=True, options=ENTRY_SPEC),
            root=dict(type='path'),
            defaults=dict(type='dict', options=DEFAULTS_SPEC),
        ),
        supports_check_mode=True,
    )
    try:
        entries = mf.normalise(module.params['files'], module.params['root'],
                               module.params['defaults'])
        planned = mf.plan(entries)
    except (mf.ManagedFilesError, OSError) as exc:
        module.fail_json(msg='%s. Nothing was changed.' % exc, changed=False, paths=[],
                         changed_paths=[])
    paths, changed_paths, diffs = [], [], []
    for entry, changes, before in planned:
        paths.append({'path': entry['path'], 'state': entry['state'], 'changes': changes})
        if changes:
            changed_paths.append(entry['path'])
        if entry['state'] == 'file' and set(changes) & set(('created', 'content', 'replaced_symlink')):
            diffs.append({'before_header': entry['path'], 'after_header': entry['path'],
                          'before': mf.text_or_none(before), 'after': mf.text_or_none(entry['content'])})
    result = {'changed': bool(changed_paths), 'paths': paths, 'changed_paths': changed_paths}
    if module._diff:
        result['diff'] = diffs
    if module.check_mode:
        module.exit_json(**result)
    done = []
    for entry, changes, _before in planned:
        try:
            mf.apply_entry(entry, changes)
        except OSError as exc:
            module.fail_json(msg='%s: %s. Changed before the failure: %s; the entries after it were '
                                 'not applied. Fix the cause and re-run.'
                                 % (entry['path'], exc.strerror or exc, ', '.join(done) or 'nothing'),
                             changed=bool(done), changed_paths=done, paths=paths)
        if changes:
            done.append(entry['path'])
    module.exit_json(**result)


if __name__ == '__main__':
    main()
