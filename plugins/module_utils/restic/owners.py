# -*- coding: utf-8 -*-
# Copyright: (c) 2026, resilience.dr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Ownership by name: the snapshot's owners mapped onto this host's accounts (pure).

restic restores numeric owners.  When the accounts of the host that restores (the inventory)
have other UIDs than the host that was backed up (renumbered users, another host), every
restored home would belong to the wrong user.  restic records each node's user and group
*names* in its trees (``restic cat blob <tree>``; ``restic ls --json`` carries only the
numbers, in 0.14 as in 0.18), so the owners can be mapped by name.

:func:`tree_owner_names` reads the names from tree blobs, :func:`plan_owner_map` decides the
mapping or refuses with every mismatch listed (:class:`OwnerMismatch`), :func:`apply_owner_map`
rewrites the wanted entries so that restore, chown pass and verification agree on one owner
per path.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from ansible_collections.resilience.dr.plugins.module_utils.runner import Refusal

# UIDs/GIDs below this are system accounts (root, daemon, docker's ...): kept as numbers when
# their name is not an inventory account (they are the same on every Debian/Ubuntu host).
DEFAULT_KEEP_BELOW = 1000


class OwnerMismatch(Refusal):
    """The snapshot's owners cannot be mapped onto the accounts by name.  Nothing was written."""


def parse_tree_blob(text):
    """``restic cat blob <tree id>`` -> its nodes (name, type, uid, gid, user, group, subtree)."""
    try:
        doc = json.loads(text or '')
    except ValueError:
        return []
    nodes = doc.get('nodes') if isinstance(doc, dict) else None
    return [n for n in nodes or [] if isinstance(n, dict)]


def note_names(nodes, uid_names, gid_names):
    """Add each node's (uid -> user) and (gid -> group) to the two dicts of sets."""
    for node in nodes:
        if node.get('uid') is not None:
            uid_names.setdefault(int(node['uid']), set()).add(node.get('user') or '')
        if node.get('gid') is not None:
            gid_names.setdefault(int(node['gid']), set()).add(node.get('group') or '')


def distinct_ids(root_node, entries):
    """The UIDs and GIDs that the wanted entries (and the source directory itself) carry."""
    nodes = list(entries.values()) + ([root_node] if root_node else [])
    uids = set(int(n['uid']) for n in nodes if n.get('uid') is not None)
    gids = set(int(n['gid']) for n in nodes if n.get('gid') is not None)
    return uids, gids


def normalise_accounts(accounts):
    """[{name, uid, gid?}] -> {name: (uid, gid)}; the GID defaults to the UID (user private
    groups).  Refuses malformed entries and two names with one UID."""
    out, by_uid = {}, {}
    for account in accounts or []:
        if not isinstance(account, dict) or 'name' not in account or 'uid' not in account:
            raise Refusal('every entry of owners needs a name and a uid, got %r' % (account,))
        name, uid = str(account['name']), int(account['uid'])
        gid = int(account['gid']) if account.get('gid') is not None else uid
        if uid in by_uid and by_uid[uid] != name:
            raise OwnerMismatch('owners gives UID %d to both %s and %s; fix the accounts'
                                % (uid, by_uid[uid], name))
        by_uid[uid] = name
        out[name] = (uid, gid)
    return out


def _map_ids(ids, names_of, targets, keep_below, kind):
    """One namespace (users or groups): {old: new} for every id, and the problems found."""
    mapping, problems = {}, []
    for old in sorted(ids):
        names = sorted(n for n in names_of.get(old, set()) if n)
        if len(names) > 1:
            problems.append('%s %d carries several names in the snapshot: %s'
                            % (kind, old, ', '.join(names)))
            continue
        name = names[0] if names else None
        if name is not None and name in targets:
            mapping[old] = targets[name]
        elif old < keep_below:
            mapping[old] = old
        elif name is None:
            problems.append('%s %d has no name recorded in the snapshot, so it cannot be mapped '
                            'by name' % (kind, old))
        else:
            problems.append('%s %s (%s %d in the snapshot) has no account in the inventory'
                            % (kind, name, kind, old))
    reverse = {}
    for old, new in sorted(mapping.items()):
        reverse.setdefault(new, []).append(old)
    for new, olds in sorted(reverse.items()):
        if len(olds) > 1:
            problems.append('%ss %s of the snapshot would all become %s %d'
                            % (kind, ' and '.join('%d (%s)' % (o, '/'.join(sorted(
                                names_of.get(o, set()) - {''})) or 'no name') for o in olds),
                               kind, new))
    return mapping, problems


def plan_owner_map(uids, gids, uid_names, gid_names, accounts, keep_below=DEFAULT_KEEP_BELOW):
    """Map the snapshot's UIDs/GIDs onto ``accounts`` by name.

    Returns ``{'uid_map': {old: new}, 'gid_map': {old: new}, 'renumbered': [...]}`` where the
    maps hold only ids that change; raises :class:`OwnerMismatch` listing every problem (a name
    without an account, an id without a name, one id with two names, two ids onto one).
    """
    targets = normalise_accounts(accounts)
    users = dict((name, ids[0]) for name, ids in targets.items())
    groups = dict((name, ids[1]) for name, ids in targets.items())
    uid_map, uid_problems = _map_ids(uids, uid_names, users, keep_below, 'user')
    gid_map, gid_problems = _map_ids(gids, gid_names, groups, keep_below, 'group')
    problems = uid_problems + gid_problems
    if problems:
        raise OwnerMismatch(
            'the owners of the snapshot cannot be mapped onto the inventory accounts by name: '
            '%s. Nothing was restored. Add the missing accounts (train_users_accounts) or give '
            'each name one UID, then re-run' % '; '.join(problems),
            details={'owner_problems': problems})
    renumbered = ['%s %d -> %d' % ('/'.join(sorted(uid_names.get(old, set()) - {''})) or 'uid',
                                   old, new)
                  for old, new in sorted(uid_map.items()) if old != new]
    return {'uid_map': dict((o, n) for o, n in uid_map.items() if o != n),
            'gid_map': dict((o, n) for o, n in gid_map.items() if o != n),
            'renumbered': renumbered}


def apply_owner_map(root_node, entries, owner_map):
    """Rewrite the nodes' uid/gid in place (what the chown pass sets and verify expects)."""
    uid_map, gid_map = owner_map['uid_map'], owner_map['gid_map']
    for node in list(entries.values()) + ([root_node] if root_node else []):
        if node.get('uid') is not None:
            node['uid'] = uid_map.get(int(node['uid']), int(node['uid']))
        if node.get('gid') is not None:
            node['gid'] = gid_map.get(int(node['gid']), int(node['gid']))


def describe(owner_map):
    """One line for the plan and the result's message."""
    if not owner_map['uid_map'] and not owner_map['gid_map']:
        return 'owners already match the accounts by name'
    return 'map owners by name (%s; groups %s)' % (
        ', '.join(owner_map['renumbered']) or 'no user renumbered',
        ', '.join('%d -> %d' % kv for kv in sorted(owner_map['gid_map'].items())) or 'unchanged')
