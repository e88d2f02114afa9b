# -*- coding: utf-8 -*-
# Copyright: (c) 2026, resilience.dr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure planning for cfs_replication: lag, the failover situation, the RPO, failback diffs.

Nothing here calls the cluster; the manager (``replication_manager``) reads the admin API and
passes the answers in, so every decision is unit-tested over answers captured from the
emulator.

Words used throughout:

* a *link* is one direction of journal shipping (``source`` -> ``target``) as
  ``replicationStatus`` reports it: operations not yet acknowledged by the target
  (``lag_ops``), the age of the oldest one (``lag_seconds``), and whether the target site
  could reach the source (``source_reachable``);
* the *RPO* of a failover is what the new active site lacks at promotion: the writes
  acknowledged on the old site that were not shipped - their count and the age of the oldest.
  When the old site cannot be asked, the count is unknown; its bound is the time since the
  newest write of the old site that every shard of the new site holds.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.resilience.dr.plugins.module_utils.cfs.raft import PlanningError

# The situations of a failover, decided by who can still reach the old active site.
PLANNED = 'planned'              # the target site still hears the source: ship, then switch
PARTITIONED = 'partitioned'      # this host reaches the source, the target does not: fence it
GONE = 'gone'                    # nobody reaches the source (site loss)
CUT_OFF_FROM_US = 'cut_off_from_us'   # the target hears the source, this host does not

LWW = 'last-write-wins'
MANUAL = 'manual'


def link(status, source, target):
    """The ``source -> target`` link of a replicationStatus answer (PlanningError if absent)."""
    for item in status.get('links') or []:
        if item.get('source') == source and item.get('target') == target:
            return item
    raise PlanningError('the cluster reports no replication from %s to %s (sites: %s)' % (
        source, target, ', '.join(sites(status)) or 'none'))


def sites(status):
    found = set()
    for item in status.get('links') or []:
        found.update((item.get('source'), item.get('target')))
    found.discard(None)
    return sorted(found)


def other_site(status, site):
    rest = [s for s in sites(status) if s != site]
    if len(rest) != 1:
        raise PlanningError('cannot tell the other site of %s among %s; name both' % (
            site, ', '.join(sites(status))))
    return rest[0]


def check_site(status, site, what):
    if site not in sites(status):
        raise PlanningError('%s %r is not a site of this cluster (sites: %s)' % (
            what, site, ', '.join(sites(status))))


def summary(status):
    """Lag per link in the shape the module returns (and the playbooks print)."""
    out = []
    for item in status.get('links') or []:
        out.append({'source': item['source'], 'target': item['target'],
                    'lag_ops': int(item.get('lag_ops') or 0),
                    'lag_seconds': item.get('lag_seconds'),
                    'known': bool(item.get('source_reachable', item.get('reachable', True))),
                    'reachable': bool(item.get('reachable')),
                    'unreplicated': list(item.get('unreplicated') or [])})
    return out


def in_sync(status, source=None, target=None):
    """True when every selected link is known and has nothing to ship."""
    for item in summary(status):
        if source and item['source'] != source:
            continue
        if target and item['target'] != target:
            continue
        if not item['known'] or item['lag_ops']:
            return False
    return True


def situation(status_from_target, source, target, source_answers_here):
    """Which failover this is: :data:`PLANNED`, :data:`PARTITIONED`, :data:`GONE`,
    :data:`CUT_OFF_FROM_US`; with the reason in words."""
    heard = bool(link(status_from_target, source, target).get('source_reachable'))
    if heard and source_answers_here:
        return PLANNED, '%s answers this host and %s: a planned failover (ship, then switch)' % (
            source, target)
    if heard:
        return CUT_OFF_FROM_US, ('%s does not answer this host but %s still hears it: the '
                                 'site is alive and only cut off from here' % (source, target))
    if source_answers_here:
        return PARTITIONED, ('%s answers this host but not %s: the sites are partitioned; '
                             '%s must be fenced before %s is promoted' % (source, target,
                                                                          source, target))
    return GONE, '%s answers neither this host nor %s: the site is lost' % (source, target)


def newest_by_shard(files, site):
    """{shard: newest timestamp} of the versions written on ``site`` in a file listing."""
    newest = {}
    for version in files:
        if version.get('site') != site or version.get('timestamp') is None:
            continue
        shard = version.get('shard')
        ts = float(version['timestamp'])
        if shard not in newest or ts > newest[shard]:
            newest[shard] = ts
    return newest


def rpo_known(source_link, now):
    """The RPO when the old site could be asked: exactly its unshipped writes."""
    ops = int(source_link.get('lag_ops') or 0)
    writes = list(source_link.get('unreplicated') or [])
    stamps = [float(w['timestamp']) for w in writes if w.get('timestamp') is not None]
    age = round(now - min(stamps), 3) if stamps else (
        float(source_link.get('lag_seconds') or 0.0) if ops else 0.0)
    return {'known': True, 'ops': ops, 'age_seconds': age if ops else 0.0,
            'max_age_seconds': age if ops else 0.0, 'writes': writes,
            'basis': 'the old active site reported its unshipped writes'}


def rpo_bound(target_files, source, now, shards=None):
    """The RPO when the old site cannot be asked (site loss).

    The count is unknown.  Each shard of the new site received the old site's writes in
    order, so every write older than the newest one it holds is there; the oldest such
    'newest' over the shards bounds the window in which writes may be missing.  A shard that
    holds no write of the old site gives no bound (any of its writes may be missing): the age
    is then unknown too, and the shards are named.
    """
    newest = newest_by_shard(target_files, source)
    blind = sorted(set(range(int(shards))) - set(newest)) if shards else []
    result = {'known': False, 'ops': None, 'age_seconds': None, 'max_age_seconds': None,
              'writes': [], 'last_replicated_at': None, 'shards_seen': len(newest),
              'shards_without_bound': blind}
    if not newest or blind:
        result['basis'] = ('the new site holds no write of %s on shard(s) %s: nothing bounds '
                           'what may be missing there' % (source, ', '.join(
                               str(s) for s in blind) or 'any'))
        if newest:   # what the other shards say, for the operator (not a bound)
            result['max_age_seconds_seen_shards'] = round(
                max(0.0, now - min(newest.values())), 3)
        return result
    floor = min(newest.values())
    result.update(max_age_seconds=round(max(0.0, now - floor), 3), last_replicated_at=floor,
                  basis='the old site does not answer; every shard of the new site holds its '
                        'writes up to %.3f, so only writes acknowledged after that may be '
                        'missing (their number is unknown until the old site returns)' % floor)
    return result


def rpo_seconds(rpo):
    """``{'rpo_seconds': x}`` for the recovery report (the age, or its bound), or ``{}``."""
    value = rpo['age_seconds'] if rpo['known'] else rpo['max_age_seconds']
    return {'rpo_seconds': value} if value is not None else {}


def loss_sentence(rpo, source):
    if rpo['known']:
        if not rpo['ops']:
            return 'no acknowledged write of %s is missing' % source
        return '%d acknowledged write(s) of %s are not on the new site, the oldest %.1f s old' % (
            rpo['ops'], source, rpo['age_seconds'] or 0.0)
    if rpo['max_age_seconds'] is None:
        return ('%s cannot be asked and the new site holds none of its writes: any number of '
                'them may be missing' % source)
    return ('%s cannot be asked: an unknown number of writes acknowledged in the last %.1f s '
            'may be missing' % (source, rpo['max_age_seconds']))


# -- conflicts -------------------------------------------------------------------------------
def lww_side(conflict):
    """The site last-write-wins picks (higher timestamp, then higher sequence), or None on a
    full tie - the rule the cluster applies (docs/claudefs/admin-api.yaml)."""
    sides = sorted(((float(v.get('timestamp') or 0), int(v.get('seq') or 0), site)
                    for site, v in (conflict.get('sites') or {}).items()), reverse=True)
    if len(sides) < 2:
        return sides[0][2] if sides else None
    if sides[0][:2] == sides[1][:2]:
        return None
    return sides[0][2]


def overwritten(conflict, winner):
    """The versions the winner replaces (each side but the winner's)."""
    return dict((site, v) for site, v in (conflict.get('sites') or {}).items() if site != winner)


def conflict_line(conflict):
    """One conflict and its resolution, for reports."""
    winner = conflict.get('winner')
    state = 'resolved' if conflict.get('resolved') else 'UNRESOLVED'
    return '%s (inode %s, %s): %s, winner %s%s' % (
        conflict.get('path'), conflict.get('inode'), conflict.get('type'), state,
        winner or 'none', ' by %s' % conflict['resolution'] if conflict.get('resolution') else '')


def normalize_choices(choices):
    """Manual choices as ``[(inode, site)]`` from a list of {inode, winner} or {inode: site}."""
    out = []
    if isinstance(choices, dict):
        items = list(choices.items())
    else:
        items = []
        for choice in choices or []:
            if not isinstance(choice, dict) or 'inode' not in choice or 'winner' not in choice:
                raise PlanningError('each manual choice needs inode and winner, got %r' % (
                    choice,))
            items.append((choice['inode'], choice['winner']))
    for inode, winner in items:
        try:
            out.append((int(inode), str(winner)))
        except (TypeError, ValueError):
            raise PlanningError('inode %r of a manual choice is not a number' % (inode,))
    seen = {}
    for inode, winner in out:
        if seen.setdefault(inode, winner) != winner:
            raise PlanningError('inode %d has two manual winners (%s, %s)' % (
                inode, seen[inode], winner))
    return sorted(seen.items())


def plan_manual(conflicts, choices, known_sites):
    """Which manual choices still change something: ``(to_apply, already, errors)``.

    A choice for an inode without a conflict, or naming a winner that is not a site, is an
    error (nothing is applied).  A choice whose conflict is already resolved with that winner
    is already done (idempotence).
    """
    by_inode = {}
    for conflict in conflicts:
        by_inode.setdefault(int(conflict['inode']), []).append(conflict)
    to_apply, already, errors = [], [], []
    for inode, winner in choices:
        if winner not in known_sites:
            errors.append('inode %d: winner %r is not a site (%s)' % (
                inode, winner, ', '.join(known_sites)))
            continue
        found = by_inode.get(inode)
        if not found:
            errors.append('inode %d has no recorded conflict' % inode)
            continue
        if all(c.get('resolved') and c.get('winner') == winner for c in found):
            already.append({'inode': inode, 'winner': winner, 'path': found[0].get('path')})
        else:
            to_apply.append({'inode': inode, 'winner': winner, 'path': found[0].get('path'),
                             'was': [c.get('winner') for c in found]})
    return to_apply, already, errors


def plan_lww(conflicts):
    """Unresolved conflicts LWW decides (with the version each overwrites) and the ties."""
    decided, ties = [], []
    for conflict in conflicts:
        if conflict.get('resolved'):
            continue
        side = lww_side(conflict)
        entry = {'inode': conflict['inode'], 'path': conflict.get('path'),
                 'type': conflict.get('type')}
        if side is None:
            ties.append(entry)
        else:
            entry.update(winner=side, overwrites=overwritten(conflict, side))
            decided.append(entry)
    return decided, ties


def failback_diff(status, conflicts, source, target):
    """The dry-run diff of a failback from ``source`` (active now) back to ``target``."""
    decided, ties = plan_lww(conflicts)
    out = {'from': source, 'to': target, 'links': summary(status),
           'conflicts_lww': decided, 'conflicts_tied': ties,
           'conflict_log': [dict(c, line=conflict_line(c)) for c in conflicts]}
    blockers = []
    for item in out['links']:
        if not item['known']:
            blockers.append('%s cannot be asked what it has not shipped to %s' % (
                item['source'], item['target']))
        elif item['lag_ops']:
            blockers.append('%s has %d operation(s) %s lacks (run action=sync source=%s '
                            'target=%s first)' % (item['source'], item['lag_ops'],
                                                  item['target'], item['source'],
                                                  item['target']))
    if ties:
        blockers.append('%d conflict(s) are full ties LWW cannot decide: %s (resolve them with '
                        'action=conflicts strategy=manual)' % (
                            len(ties), ', '.join('%s inode %s' % (t['path'], t['inode'])
                                                 for t in ties)))
    out['blockers'] = blockers
    return out
