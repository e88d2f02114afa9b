# -*- coding: utf-8 -*-
# Copyright: (c) 2026, resilience.dr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The restore manager that ``restic_restore`` calls: it wires the pieces of the package.

One run: select the snapshot and its source directory (:mod:`view`), pick the strategy
(:mod:`strategies`), decide from the state record and, where needed, a comparison
(:mod:`compare`) whether anything is to do, build one :class:`runner.Plan` (the strategy's
steps, then verify and record), and either report it (check mode) or execute it.  Any failure
while writing goes through :mod:`outcome`, which says what state the target is in.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import time

from ansible_collections.resilience.dr.plugins.module_utils.runner import Plan
from ansible_collections.resilience.dr.plugins.module_utils.restic.chown import chown_tree
from ansible_collections.resilience.dr.plugins.module_utils.restic.client import (
    redact_repository)
from ansible_collections.resilience.dr.plugins.module_utils.restic.compare import (
    compare_target, differences, is_empty_dir, summarize_comparison, would_restore)
from ansible_collections.resilience.dr.plugins.module_utils.restic.outcome import (
    Progress, VerifyMismatch, clean_up, failure)
from ansible_collections.resilience.dr.plugins.module_utils.restic.owners import (
    apply_owner_map, describe, distinct_ids, plan_owner_map)
from ansible_collections.resilience.dr.plugins.module_utils.restic.parsers import (
    snapshot_summary, totals)
from ansible_collections.resilience.dr.plugins.module_utils.restic.preflight import (
    check_delete_target, check_target_is_dir, check_writable)
from ansible_collections.resilience.dr.plugins.module_utils.restic.strategies import (
    choose_strategy)
from ansible_collections.resilience.dr.plugins.module_utils.restic.target import (
    DEFAULT_STATE_FILE, read_state, reserved_names, state_location, state_matches,
    state_record, write_state)
from ansible_collections.resilience.dr.plugins.module_utils.restic.view import (
    RepositoryView, SourceTree, owner_names)


class RestoreJob:
    """Plan and run one restore of a snapshot subtree into a target.

    ``params`` carries the module options (snapshot, host, tags, paths, source_path, target,
    include, exclude, verify, delete, unlock_stale, state_file).
    """

    def __init__(self, restic, params, check_mode=False, diff=False, now=time.time):
        self.restic = restic
        self.params = params
        self.check_mode = check_mode
        self.diff = diff
        self.now = now
        self.target = os.path.abspath(params['target'])
        self.include = list(params.get('include') or [])
        self.exclude = list(params.get('exclude') or [])
        self.delete = bool(params.get('delete'))
        self.verify = bool(params.get('verify'))
        self.state_loc = state_location(self.target, params.get('state_file', DEFAULT_STATE_FILE))
        self.state_file = os.path.join(*self.state_loc) if self.state_loc else None
        self.reserved = reserved_names(self.target, self.state_file)
        self.progress = Progress(self.target)
        self.plan = Plan()
        self.view = RepositoryView(restic, params.get('unlock_stale'), check_mode, self.plan)
        self.strategy = None
        self.verified = False     # the verify step found the target equal to the snapshot
        # owners: map the snapshot's owners onto these accounts by name (module_utils.owners)
        self.owners = params.get('owners')
        self.owner_map = None
        self.owner_root = None
        self.chowned = 0
        self.warnings = []

    def run(self):
        result = self._run()
        if self.owner_map is not None:
            result['owner_map'] = self.public_owner_map(self.owner_map)
        return result

    def _run(self):
        started = self.now()
        p = self.params
        if self.delete:
            check_delete_target(self.target)
        snap = self.view.find_snapshot(p.get('host'), p.get('tags'), p.get('paths'),
                                       p.get('snapshot'))
        info = snapshot_summary(snap, now=self.now())
        tree = SourceTree(self.view, snap, self.include, self.exclude, self.reserved)
        source = tree.resolve(p.get('source_path'))
        features = self.restic.features
        self.strategy = strategy = choose_strategy(features, self.include, self.exclude)(
            self.restic, self.target, tree, self.progress, state_loc=self.state_loc,
            delete=self.delete, subfolder=features['subfolder'], clock=self.now)
        check_target_is_dir(self.target)
        want_state = state_record(info, source, self.include, self.exclude, self.delete,
                                  redact_repository(self.restic.repository), strategy.name)
        if self.owners is not None:
            want_state['owners'] = sorted([str(a.get('name')), int(a.get('uid')),
                                           a.get('gid')] for a in self.owners)
        need_restore, wanted, cmp_result, state = self.inspect(tree, want_state)
        if need_restore:
            check_writable(self.target, strategy.name,
                           totals(wanted)['bytes'] if wanted is not None else None,
                           self.restic.version_string)
            self.plan.extend(strategy.plan(self.verify))
            self.plan_verify_and_record(want_state)
        result = self.result(info, source, strategy, need_restore,
                             totals(wanted) if wanted is not None else state)
        if cmp_result is not None:
            result['comparison'] = summarize_comparison(cmp_result, wanted)
        if self.owner_map is not None:
            result['owner_map'] = self.owner_map
        if not need_restore:
            return self.unchanged(result, started)
        if self.check_mode:
            return self.would(result, cmp_result, wanted)
        # ---- do it: any failure from here on says what it left (outcome)
        try:
            return self.write(result, wanted is not None, started)
        except Exception as exc:  # pylint: disable=broad-except
            raise self.failed(exc)

    def inspect(self, tree, want_state):
        """(need_restore, wanted entries or None, comparison or None, state record or {}).

        The listing is read before restoring only when a comparison needs it (check/diff
        mode, verify, delete); otherwise it runs in a thread while restic restores.
        """
        state = read_state(self.state_loc) or {}
        state_ok = state_matches(state, want_state)
        need_restore = not state_ok
        if state_ok and not self.verify:
            need_restore = not all(os.path.lexists(os.path.join(self.target, rel))
                                   for rel in state.get('top', []))
        early = bool(self.check_mode or self.diff or self.verify or self.delete
                     or self.owners is not None)
        wanted = cmp_result = None
        if early and (need_restore or self.verify):
            tree.load()
            root_node, wanted = tree.wanted()
            if self.owners is not None:
                self.map_owners(tree, root_node, wanted)
        if wanted is not None and (self.verify or self.check_mode or self.diff):
            cmp_result = compare_target(self.target, wanted, self.include, self.exclude,
                                        self.reserved, with_extra=self.delete or not self.verify)
            if state_ok and self.verify and differences(cmp_result, self.delete):
                need_restore = True
        return need_restore, wanted, cmp_result, state

    def map_owners(self, tree, root_node, wanted):
        """Before anything is written: the snapshot's owners onto the accounts by name, or
        an OwnerMismatch listing why not; the wanted nodes then carry the mapped owners."""
        uids, gids = distinct_ids(root_node, wanted)
        uid_names, gid_names = owner_names(self.view, tree.snap, tree.source, uids, gids)
        self.owner_map = plan_owner_map(uids, gids, uid_names, gid_names, self.owners,
                                        self.params.get('owners_keep_below') or 1000)
        apply_owner_map(root_node, wanted, self.owner_map)
        self.owner_root = root_node

    def chown_pass(self):
        restored = self.strategy.restored
        self.chowned = chown_tree(self.target, self.owner_root, restored.wanted, self.reserved)
        self.owner_map['chowned'] = self.chowned

    def plan_verify_and_record(self, want_state):
        if self.owner_map is not None and (self.owner_map['uid_map'] or self.owner_map['gid_map']):
            self.plan.add(describe(self.owner_map), action=self.chown_pass)
        if self.verify:
            self.plan.add('verify every entry against restic ls', action=self.verify_target)
        if self.state_file:
            self.plan.add('record the restore in %s' % self.state_file,
                          action=lambda: self.record(want_state))

    def result(self, info, source, strategy, need_restore, counts):
        return {
            'changed': need_restore,
            'snapshot': info,
            'rpo_seconds': info['age_seconds'],
            'source': source,
            'target': self.target,
            'mapping': {source: self.target},
            'method': strategy.name,
            'restic_version': self.restic.version_string,
            'repository': redact_repository(self.restic.repository),
            'files': counts.get('files'),
            'bytes': counts.get('bytes'),
            'state_file': self.state_file,
            'verified': False,
            'unlocked_stale_locks': self.view.unlocked,
            'plan': self.plan.as_list(),
        }

    @staticmethod
    def public_owner_map(owner_map):
        out = dict(owner_map)
        for key in ('uid_map', 'gid_map'):
            out[key] = dict((str(k), v) for k, v in owner_map[key].items())
        return out

    def unchanged(self, result, started):
        result.update(verified=self.verify, restored_files=0, restored_bytes=0,
                      duration=round(self.now() - started, 3), mb_per_s=0.0)
        result['msg'] = ('target already holds snapshot %s of %s%s'
                         % (result['snapshot']['short_id'], result['source'],
                            ' (verified)' if self.verify else ''))
        return result

    def would(self, result, cmp_result, wanted):
        if self.restic.features['dry_run']:
            dry, warning = self.strategy.dry_run(self.verify)
            if dry is not None:
                result['restic_dry_run'] = dry
            if warning:
                self.warnings.append(warning)
        would = result['would_restore'] = would_restore(cmp_result, wanted, self.delete)
        result['msg'] = ('would restore %d files (%d bytes) of snapshot %s:%s into %s'
                         % (would['files'], would['bytes'], result['snapshot']['short_id'],
                            result['source'], self.target))
        return result

    def write(self, result, loaded, started):
        restored = self.strategy.restored
        restored.mode = self.strategy.listing_mode(loaded, is_empty_dir(self.target,
                                                                        self.reserved))
        self.strategy.tree.start(restored.mode)
        t0 = self.now()
        self.plan.execute(self.restic.runner)
        tot = totals(restored.wanted)
        duration = self.now() - started
        result.update(files=tot['files'], bytes=tot['bytes'], verified=self.verified,
                      restic_summary=restored.restic_summary,
                      restored_files=tot['files'], restored_bytes=tot['bytes'],
                      restore_seconds=round(restored.finished - t0, 3),
                      duration=round(duration, 3),
                      mb_per_s=round(tot['bytes'] / 1e6 / duration, 2) if duration > 0 else 0.0)
        result['msg'] = ('restored %d files (%d bytes) of snapshot %s:%s into %s'
                         % (tot['files'], tot['bytes'], result['snapshot']['short_id'],
                            result['source'], self.target))
        return result

    # -- the manager's own steps
    def verify_target(self):
        check = compare_target(self.target, self.strategy.restored.wanted, self.include,
                               self.exclude, self.reserved, with_extra=self.delete)
        bad = differences(check, self.delete)
        if bad:
            raise VerifyMismatch('verification failed after restore: %d entries differ '
                                 'from the snapshot, e.g. %s; re-run, and if it persists '
                                 'run restic check' % (len(bad), ', '.join(bad[:10])))
        self.verified = True

    def record(self, want_state):
        wanted = self.strategy.restored.wanted
        want_state.update(totals(wanted))
        # only what is there: restic creates no directory that holds nothing included
        top = set(rel.split('/')[0] for rel in wanted)
        want_state['top'] = sorted(name for name in top
                                   if os.path.lexists(os.path.join(self.target, name)))[:1000]
        want_state['completed'] = time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())
        want_state['verified'] = self.verified
        write_state(self.state_loc, want_state)

    def failed(self, exc):
        """Clean up what this run staged and say truthfully what state it left."""
        note = clean_up(self.progress, self.reserved)
        fail = failure(exc, self.progress, self.state_file, note, self.strategy.space_note())
        fail.details['steps_done'] = list(self.plan.done)
        fail.details['steps_left'] = [s.as_dict() for s in self.plan.steps[len(self.plan.done):]]
        return fail
