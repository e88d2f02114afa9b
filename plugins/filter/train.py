# -*- coding: utf-8 -*-
# Copyright: (c) 2026, resilience.dr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The train server's directory layout and accounts, for the train_* roles.

The layout is data in the variable model (roles/train/defaults/main.yml):
``train_storage_directories`` (top-level, relative to the mount point) and
``train_user_directories`` (per user, ``{user}`` standing for the account name).  These filters
expand it, so that train_users creates, train_workloads mounts and train_verify checks the same
paths.  Documentation of each filter: the ``<filter>.yml`` files next to this one.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

# What ansible.posix.authorized_key writes in the account's "ssh" directory, and its mode.
AUTHORIZED_KEYS = 'authorized_keys'
AUTHORIZED_KEYS_MODE = '0600'


def _name(account):
    """The account's name, refused when it could leave its directory (``/``, ``.``, ``..``)."""
    if not isinstance(account, dict) or 'name' not in account or 'uid' not in account:
        raise AnsibleFilterError('every account needs a name and a uid, got %r' % (account,))
    name = str(account['name'])
    if not name or '/' in name or name in ('.', '..') or '\0' in name:
        raise AnsibleFilterError('account name %r cannot be a directory name: fix train_users_accounts'
                                 % name)
    return name


def _join(root, relative):
    relative = str(relative).strip('/')
    if not relative or '..' in relative.split('/'):
        raise AnsibleFilterError('layout path %r must be relative and stay below %s' % (relative, root))
    return str(root).rstrip('/') + '/' + relative


def _mode(value):
    """An octal mode as the string it is written in the layout (C(0700)); None when unset."""
    if value is None:
        return None
    if isinstance(value, int):  # an unquoted YAML 0755 arrives as 493
        return '0%o' % value
    return str(value)


def train_user_dirs(accounts, root, layout):
    """Every account's directories: dicts with user, uid, name, path and mode, in layout order."""
    out = []
    for account in accounts or []:
        user = _name(account)
        for entry in layout or []:
            out.append({'user': user, 'uid': int(account['uid']), 'name': entry['name'],
                        'path': _join(root, entry['path'].replace('{user}', user)),
                        'mode': _mode(entry.get('mode'))})
    return out


def train_user_path(account, root, layout, name='home'):
    """One directory of one account (C(authorized_keys) is the file in its C(ssh) directory)."""
    if name == AUTHORIZED_KEYS:
        return train_user_path(account, root, layout, 'ssh') + '/' + AUTHORIZED_KEYS
    for entry in train_user_dirs([account], root, layout):
        if entry['name'] == name:
            return entry['path']
    raise AnsibleFilterError('train_user_directories has no entry named %r' % name)


def train_user_paths(accounts, root, layout):
    """What each account must have, for checking: its directories plus C(authorized_keys)
    (mode 0600) when the account has keys; the same dicts as train_user_dirs."""
    out = []
    for account in accounts or []:
        dirs = train_user_dirs([account], root, layout)
        out.extend(dirs)
        if account.get('authorized_keys'):
            out.append(dict(dirs[0], name=AUTHORIZED_KEYS, mode=AUTHORIZED_KEYS_MODE,
                            path=train_user_path(account, root, layout, AUTHORIZED_KEYS)))
    return out


def train_uid_conflicts(accounts, passwd, group):
    """Why the inventory's accounts clash with the host's account database (getent results):
    a name with another UID/GID, or the UID/GID taken by another name.  Empty when none."""
    out = []
    passwd, group = passwd or {}, group or {}
    for account in accounts or []:
        name, uid = _name(account), str(int(account['uid']))
        if name in passwd and passwd[name][1] != uid:
            out.append('user %s has UID %s, the inventory says %s' % (name, passwd[name][1], uid))
        if name in group and group[name][1] != uid:
            out.append('group %s has GID %s, the inventory says %s' % (name, group[name][1], uid))
        for other, fields in passwd.items():
            if other != name and fields[1] == uid:
                out.append('UID %s (for %s) already belongs to user %s' % (uid, name, other))
        for other, fields in group.items():
            if other != name and fields[1] == uid:
                out.append('GID %s (for %s) already belongs to group %s' % (uid, name, other))
    return out


def train_workspace_binds(account, root, layout, directories, binds):
    """The container bind mounts (C(src:dest)) of one account.  Each of O(binds) names either
    a per-user directory (C(user_dir)) or a top-level directory (C(directory)) and a C(dest)."""
    user = _name(account)
    top = set(str(d['path']).strip('/') for d in directories or [])
    out = []
    for bind in binds or []:
        dest = str(bind['dest']).replace('{user}', user)
        if 'user_dir' in bind:
            src = train_user_path(account, root, layout, bind['user_dir'])
        elif str(bind.get('directory', '')).strip('/') in top:
            src = _join(root, bind['directory'])
        else:
            raise AnsibleFilterError('bind %r names neither a train_user_directories entry (user_dir) '
                                     'nor a train_storage_directories path (directory)' % (bind,))
        out.append('%s:%s' % (src, dest))
    return out


class FilterModule(object):
    def filters(self):
        return {
            'train_user_dirs': train_user_dirs,
            'train_user_path': train_user_path,
            'train_user_paths': train_user_paths,
            'train_uid_conflicts': train_uid_conflicts,
            'train_workspace_binds': train_workspace_binds,
        }
