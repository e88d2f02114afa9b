# -*- coding: utf-8 -*-
# Copyright: (c) 2026, resilience.dr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The train server's layout as entries of resilience.dr.managed_files (one call for all).

Documentation of each filter: the ``<filter>.yml`` files next to this one.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.resilience.dr.plugins.filter.train import train_user_dirs


def train_user_dir_files(accounts, root, layout):
    """Every account's directories (train_user_dirs) as managed_files directory entries,
    owned by the account's UID and GID (GID = UID), in the same order."""
    out = []
    for entry in train_user_dirs(accounts, root, layout):
        item = {'path': entry['path'], 'state': 'directory', 'owner': entry['uid'],
                'group': entry['uid']}
        if entry['mode'] is not None:
            item['mode'] = entry['mode']
        out.append(item)
    return out


class FilterModule(object):
    def filters(self):
        return {'train_user_dir_files': train_user_dir_files}
