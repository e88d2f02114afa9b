# -*- coding: utf-8 -*-
# Copyright: (c) 2026, resilience.dr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""``btrfs_scrub``: a scrub that is fresh enough, and the files the kernel named while it ran.

Freshness: the last scrub counts when it finished (not aborted) at or after the threshold,
``since`` or now minus ``max_age``.  A scrub this run starts is followed in the kernel log by
position (:class:`KernelLogCursor`); one found already run is read from ``dmesg`` by time.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import time

from ansible_collections.resilience.dr.plugins.module_utils.blockdev import device_rdev
from ansible_collections.resilience.dr.plugins.module_utils.btrfs.discovery import (
    Btrfs, member_kernel_names)
from ansible_collections.resilience.dr.plugins.module_utils.btrfs.parsers import (
    parse_kernel_log_paths)
from ansible_collections.resilience.dr.plugins.module_utils.kernel_log import (
    CLOCK_SLACK_SECONDS, KernelLogCursor)
from ansible_collections.resilience.dr.plugins.module_utils.runner import (
    CommandError, ModuleFailure, Plan, Refusal)
from ansible_collections.resilience.dr.plugins.module_utils.timeutil import (
    local_iso, parse_age, parse_since)

# The result fields copied from ``scrub`` to the top level.
SUMMARY_FIELDS = ('status', 'bytes_scrubbed', 'corrected_errors', 'uncorrectable_errors',
                  'duration_seconds', 'started', 'finished')


def scrub_result(status):
    """The result form of a parsed ``scrub status``."""
    return {
        'status': status['status'],
        'started': local_iso(status['started_epoch']),
        'finished': local_iso(status['finished_epoch']),
        'duration_seconds': status['duration_seconds'],
        'bytes_scrubbed': status['bytes_scrubbed'],
        'corrected_errors': status['corrected_errors'],
        'uncorrectable_errors': status['uncorrectable_errors'],
        'unverified_errors': status['unverified_errors'],
        'csum_errors': status['csum_errors'],
        'read_errors': status['read_errors'],
        'counters': status['counters'],
    }


def describe_affected(files, limit=10):
    """``affected_files`` as one line for a message."""
    if files is None:
        return 'unknown (the kernel log could not be read; see dmesg)'
    if not files:
        return 'none named by the kernel'
    names = [f['path'] for f in files[:limit]]
    more = len(files) - len(names)
    return ', '.join(names) + (' and %d more' % more if more > 0 else '')


def scrub_fresh(status, threshold):
    """True when the last scrub finished (not aborted) at or after ``threshold`` (epoch)."""
    return bool(status and status['status'] == 'finished'
                and status['finished_epoch'] is not None
                and status['finished_epoch'] >= threshold)


def freshness_threshold(since=None, max_age=None, now=None):
    """The epoch a scrub must have finished after: ``since``, else now minus ``max_age``.

    Unreadable values are refused naming the option, before anything runs.
    """
    try:
        if since:
            return parse_since(since)
        return (time.time() if now is None else now) - parse_age(max_age or '7d')
    except ValueError as exc:
        raise Refusal('%s: %s' % ('since' if since else 'max_age', exc))


def locate_mounted(view, mountpoint=None, label=None, uuid=None, device=None):
    """The mounted filesystem the scrub runs on (None when given by mountpoint), and its
    mountpoint."""
    if mountpoint:
        if not os.path.ismount(mountpoint):
            raise Refusal('%s is not a mountpoint; mount the filesystem (ansible.posix.mount) '
                          'and re-run' % mountpoint, option='mountpoint')
        return None, mountpoint
    rdev = device_rdev(device) if device else None
    for fs in view.filesystems(deep=False):
        if (uuid and fs['uuid'] == uuid.lower()) or (label is not None and fs['label'] == label) \
                or (rdev is not None and rdev in set(d['rdev'] for d in fs['devices'])):
            if not fs['mountpoint']:
                raise Refusal('btrfs %s (label %r) is not mounted; scrub needs it mounted. Mount '
                              'it first (ansible.posix.mount)' % (fs['uuid'], fs['label']),
                              option='mountpoint')
            return fs, fs['mountpoint']
    raise Refusal('no btrfs matches %s' % ', '.join(
        '%s=%s' % (k, v) for k, v in (('label', label), ('uuid', uuid), ('device', device)) if v),
        option='label')


def plan_scrub(view, state, before, mnt, readonly=False, threshold=0):
    """The scrub steps for ``state`` given the status found; and whether to wait for a
    scrub that is already running."""
    plan = Plan()
    btrfs = view.btrfs
    start = [btrfs, 'scrub', 'start'] + (['-r'] if readonly else [])
    if state == 'cancelled':
        if before['status'] == 'running':
            plan.add('cancel the running scrub', argv=[btrfs, 'scrub', 'cancel', mnt])
        return plan, False
    if before['status'] == 'running':
        return plan, state == 'completed'
    if not scrub_fresh(before, threshold):
        if state == 'completed':
            plan.add('scrub %s and wait for it' % mnt, argv=start + ['-B', mnt])
        else:
            plan.add('start a scrub of %s in the background' % mnt, argv=start + [mnt])
    return plan, False


class ScrubManager:
    """Plans and runs ``btrfs_scrub`` for the module's parameters."""

    def __init__(self, module, runner, params):
        self.module = module
        self.runner = runner
        self.p = params
        self.view = Btrfs(runner)
        self.state = params.get('state') or 'completed'
        self.threshold = freshness_threshold(params.get('since'), params.get('max_age'))

    def status(self, mnt):
        s = self.view.scrub_status(mnt)
        if s is None:
            raise CommandError([self.view.btrfs, 'scrub', 'status', '-R', mnt], 1,
                               hint='%s must be a mounted btrfs' % mnt)
        return s

    def wait_running(self, mnt, timeout):
        deadline = time.time() + timeout
        while True:
            s = self.status(mnt)
            if s['status'] != 'running':
                return s
            if time.time() > deadline:
                raise CommandError(['btrfs', 'scrub', 'status', mnt], 1,
                                   stderr='scrub still running after %ss' % timeout,
                                   hint='raise timeout, or use state: started to return at once')
            time.sleep(2)

    def run(self):
        p = self.p
        fs, mnt = locate_mounted(self.view, p.get('mountpoint'), p.get('label'), p.get('uuid'),
                                 p.get('device'))
        before = self.status(mnt)
        plan, wait = plan_scrub(self.view, self.state, before, mnt, p.get('readonly'),
                                self.threshold)
        result = {'changed': bool(plan), 'plan': plan.as_list(), 'mountpoint': mnt,
                  'uuid': fs['uuid'] if fs else before['uuid'],
                  'threshold': local_iso(int(self.threshold)), 'previous': scrub_result(before)}
        check_mode = self.module.check_mode
        cursor = None
        after = before
        try:
            if plan and not check_mode:
                # Placed before the scrub starts: what it reads afterwards is this scrub's log.
                cursor = KernelLogCursor()
                after = self.execute(plan, mnt, before)
            elif wait and not check_mode:
                after = self.wait_running(mnt, p.get('timeout') or 86400)
            result['scrub'] = scrub_result(after)
            result.update(dict((k, result['scrub'][k]) for k in SUMMARY_FIELDS))
            result['affected_files'] = []
            if (after['uncorrectable_errors'] or after['corrected_errors']) and not check_mode:
                result['affected_files'] = self.affected_files(
                    result['uuid'], after['started_epoch'], cursor)
        finally:
            if cursor is not None:
                cursor.close()
        result['affected_summary'] = describe_affected(result['affected_files'])
        result['commands'] = self.runner.executed
        if after['uncorrectable_errors'] and p.get('fail_on_uncorrectable', True):
            raise self.damage(result)
        return result

    def execute(self, plan, mnt, before):
        """Run the scrub steps; the status after them."""
        after = before
        for step in plan.steps:
            # "scrub start -B" exits non-zero when it found errors; the status says which.
            rc, out, err = self.runner.run(step.argv, check_rc=False)
            after = self.status(mnt)
            if rc != 0 and after['started_epoch'] == before['started_epoch'] \
                    and self.state != 'cancelled':
                raise CommandError(step.argv, rc, out, err,
                                   hint='is another balance/replace running? see dmesg')
        return after

    @staticmethod
    def damage(result):
        """The failure for uncorrectable errors (fail_on_uncorrectable), with the result."""
        details = dict(result)
        changed = details.pop('changed')
        return ModuleFailure(
            'scrub of %s found %d uncorrectable error(s); data is damaged. Affected files: %s. '
            'Next: restore them from backup, check `btrfs device stats %s` (set '
            'fail_on_uncorrectable: false to only report)'
            % (result['mountpoint'], result['uncorrectable_errors'],
               result['affected_summary'], result['mountpoint']),
            details=details, changed=changed)

    def affected_files(self, uuid, since, cursor=None):
        """Files the kernel named while scrubbing; None when the kernel log cannot be read.

        A scrub this run started is read through its cursor (exactly the records logged since).
        A scrub found already run, or started by someone else, is read from ``dmesg`` by time,
        with CLOCK_SLACK_SECONDS of tolerance because dmesg's wall-clock stamps run early.
        """
        members = member_kernel_names(uuid) if uuid else None
        messages = cursor.read() if cursor is not None else None
        if messages is not None:
            return parse_kernel_log_paths('\n'.join(messages), members)
        rc, out, _err = self.runner.run(['dmesg', '--time-format', 'iso'], check_rc=False)
        if rc != 0:
            return None
        if since is not None:
            since -= CLOCK_SLACK_SECONDS
        return parse_kernel_log_paths(out, members, since)
