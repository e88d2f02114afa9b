#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, resilience.dr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
---
module: dr_drill_scratch
short_description: The DR drill's own scratch directory - created with a marker, removed only when marked
version_added: 0.1.0
author: resilience.dr contributors (@resilience-dr)
description:
  - The DR drill restores backup content into a scratch directory it owns. It owns a directory only
    when the directory carries the marker file C(.resilience-dr-drill-scratch) written when it was created.
  - O(state=present) creates a missing directory (mode 0700) with the marker, and empties a marked
    one (the leftover of a drill that crashed before tearing down). O(state=absent) removes a marked
    directory with everything below it.
  - Anything else at O(path) - a directory without the marker, a file, a symlink - is refused and left
    alone in both states. So is C(/) or a top-level directory.
  - The content is backup content and not trusted - it is removed through directory descriptors;
    symlinks in it are unlinked, never followed.
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
options:
  path:
    description: The scratch directory (not its parent).
    type: path
    required: true
  state:
    description: V(present) - a marked, empty scratch directory; V(absent) - no scratch directory.
    type: str
    choices: [present, absent]
    default: present
attributes:
  check_mode:
    support: full
    details: Reports what would be created, cleared or removed; changes nothing.
  diff_mode:
    support: none
    details: The result says what was found (RV(state_found)).
  platform:
    support: full
    platforms: posix
seealso:
  - module: resilience.dr.restic_restore
'''

EXAMPLES = r'''
- name: A scratch directory for the drill
  resilience.dr.dr_drill_scratch:
    path: /var/lib/resilience-dr/drill-scratch

- name: Tear it down
  resilience.dr.dr_drill_scratch:
    path: /var/lib/resilience-dr/drill-scratch
    state: absent
'''

RETURN = r'''
path:
  description: The scratch directory, normalised.
  returned: always
  type: str
state_found:
  description: What was at O(path) - C(missing) or C(ours) (a marked scratch directory).
  returned: success
  type: str
cleared_entries:
  description: With O(state=present), entries of a leftover scratch directory that were removed.
  returned: state is present
  type: int
marker:
  description: The marker file.
  returned: state is present
  type: str
refused:
  description: True when something that is not the drill's own scratch directory is at O(path).
  returned: failure
  type: bool
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.resilience.dr.plugins.module_utils.drill.scratch import ScratchDir
from ansible_collections.resilience.dr.plugins.module_utils.runner import ModuleFailure, run_module


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type='path', required=True),
            state=dict(type='str', default='present', choices=['present', 'absent']),
        ),
        supports_check_mode=True,
    )

    def work():
        scratch = ScratchDir(module.params['path'], check_mode=module.check_mode)
        try:
            if module.params['state'] == 'present':
                return scratch.ensure()
            return scratch.remove()
        except OSError as exc:
            raise ModuleFailure('the scratch directory %s: %s' % (scratch.path, exc))

    run_module(module, work)


if __name__ == '__main__':
    main()
