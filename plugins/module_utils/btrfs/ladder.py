# -*- coding: utf-8 -*-
# Copyright: (c) 2026, resilience.dr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The BTRFS corruption escalation ladder: which rung comes next, from what was observed.

Pure: it reads the results the role gathered (``btrfs_rescue``, ``btrfs_scrub``,
``btrfs_quarantine``, ``restic_restore``) and says, for each rung, whether it was needed, ran,
worked or was refused, and what the role does next.  It stops at the first rung that works:

1. ``scrub-repair``       mounted, the scrub repaired every error from the other copy;
2. ``surgical-restore``   uncorrectable errors in named files: those files moved aside and
                          restored from the backup, checksums verified;
3. ``rescue-mount``       the filesystem does not mount: read-only ``rescue=usebackuproot``,
                          then ``rescue=all``; the copy-out offered (or done);
4. ``check-readonly``     ``btrfs check --readonly`` findings;
5. ``check-repair``       ``btrfs check --repair``: only with its own variable, after rung 4 and
                          a rescue copy or a fresh backup;
6. ``full-restore``       stop: run ``recover-full-restore.yml``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.resilience.dr.plugins.module_utils.timeutil import (
    parse_age, parse_since)

RUNGS = (
    (1, 'scrub-repair', 'scrub repairs from the other copy'),
    (2, 'surgical-restore', 'damaged files moved aside and restored from the backup'),
    (3, 'rescue-mount', 'read-only rescue mount (usebackuproot, then rescue=all) and copy-out'),
    (4, 'check-readonly', 'btrfs check --readonly'),
    (5, 'check-repair', 'btrfs check --repair (explicit variable only)'),
    (6, 'full-restore', 'stop: run recover-full-restore.yml'),
)

FULL_RESTORE = ('nothing on the ladder brought the filesystem back: stop here and run '
                'playbooks/recover-full-restore.yml (new disks, everything from the backup)')


def _rung(number, status, detail):
    name = RUNGS[number - 1][1]
    return {'rung': number, 'name': name, 'status': status, 'detail': detail}


def group_by_top(paths):
    """Damaged paths (relative to the top level) grouped by their first component:
    ``{'homes': ['/alice/x.bin'], ...}`` (include patterns anchored at that directory).
    A path without a directory is grouped under ``''``."""
    groups = {}
    for path in paths:
        parts = [p for p in path.split('/') if p]
        if not parts:
            continue
        top = parts[0] if len(parts) > 1 else ''
        rest = '/' + '/'.join(parts[1:] if top else parts)
        groups.setdefault(top, []).append(rest)
    return dict((k, sorted(set(v))) for k, v in groups.items())


def _scrub_rungs(scrub, quarantine, restored):
    """Rungs 1 and 2 on a mounted filesystem; (rungs, next, outcome)."""
    corrected = scrub.get('corrected_errors') or 0
    uncorrectable = scrub.get('uncorrectable_errors') or 0
    if not uncorrectable:
        detail = ('the scrub repaired %d error(s) from the other copy' % corrected if corrected
                  else 'the scrub found no errors: nothing to repair')
        return [_rung(1, 'worked', detail)], 'stop', 'repaired' if corrected else 'clean'
    rungs = [_rung(1, 'not-enough', '%d error(s) repaired, %d uncorrectable'
                   % (corrected, uncorrectable))]
    files = [f['path'] for f in (scrub.get('affected_files') or [])]
    if not files:
        rungs.append(_rung(2, 'impossible', 'the kernel named no damaged file (metadata damage?)'))
        return rungs, 'check-readonly', None
    if quarantine is None:
        rungs.append(_rung(2, 'next', 'damaged: %s' % ', '.join(files)))
        return rungs, 'surgical-restore', None
    unrestored = [f for f in files if f not in set(restored or [])]
    if unrestored:
        rungs.append(_rung(2, 'failed', 'not restored from the backup: %s (damaged copies are '
                           'kept aside)' % ', '.join(unrestored)))
        return rungs, 'full-restore', 'failed'
    rungs.append(_rung(2, 'worked', 'restored from the backup with verified checksums: %s'
                       % ', '.join(files)))
    return rungs, 'stop', 'restored'


def plan_ladder(mount, scrub=None, quarantine=None, restored=None, check=None, repair=None,
                options=None):
    """The ladder for the observations so far.

    ``mount``: ``btrfs_rescue`` (state mounted) result, with ``mode`` one of ``normal``,
    ``usebackuproot``, ``rescue-all``, ``read-only`` (found mounted so) or None.  ``scrub``: ``btrfs_scrub`` result.
    ``quarantine``: ``btrfs_quarantine`` result (or None before rung 2).  ``restored``: the
    damaged paths restored and verified.  ``check``/``repair``: ``btrfs_rescue`` results.
    ``options``: ``copy_to`` (the copy-out destination), ``copied`` (it ran), ``allow_repair``,
    ``fresh_backup`` (bool).

    Returns ``{'rungs': [...], 'next': step, 'outcome': str or None, 'message': str}``; ``next``
    is one of ``scrub``, ``surgical-restore``, ``copy-out``, ``check-readonly``,
    ``check-repair``, ``stop``, ``full-restore``.
    """
    options = options or {}
    mode = (mount or {}).get('mode')
    rungs = []
    if mode == 'normal':
        if scrub is None:
            return _result([], 'scrub', None)
        rungs, nxt, outcome = _scrub_rungs(scrub, quarantine, restored)
        if nxt != 'check-readonly':
            return _result(rungs, nxt, outcome)
        # Uncorrectable errors with no file named: metadata. Nothing to restore surgically.
        rungs.append(_rung(3, 'skipped', 'the filesystem is mounted read-write'))
        rungs.append(_rung(4, 'skipped', 'needs the filesystem unmounted: unmount it and re-run '
                           'to reach btrfs check --readonly'))
        rungs.append(_rung(6, 'next', FULL_RESTORE))
        return _result(rungs, 'full-restore', 'failed')
    rungs.append(_rung(1, 'skipped', 'the filesystem does not mount read-write'))
    rungs.append(_rung(2, 'skipped', 'the filesystem does not mount read-write'))
    attempts = ', '.join('%s: %s' % (a['options'], 'mounted' if a['ok'] else 'failed')
                         for a in (mount or {}).get('attempts') or [])
    if mode in ('usebackuproot', 'rescue-all', 'read-only'):
        if options.get('copy_to') and options.get('copied'):
            detail = ('mounted read-only with %s; copied out to %s'
                      % (mode, options['copy_to']))
            rungs.append(_rung(3, 'worked', detail))
            return _result(rungs, 'stop', 'rescued')
        if options.get('copy_to'):
            rungs.append(_rung(3, 'next', 'mounted read-only with %s; copy-out to %s'
                               % (mode, options['copy_to'])))
            return _result(rungs, 'copy-out', None)
        rungs.append(_rung(3, 'worked', 'mounted read-only with %s; the data is readable. Copy it '
                           'out: set train_btrfs_repair_copy_to=<a directory off the array>'
                           % mode))
        return _result(rungs, 'stop', 'rescued')
    rungs.append(_rung(3, 'failed', 'no mount worked (%s)' % (attempts or 'not tried')))
    if check is None:
        return _result(rungs, 'check-readonly', None)
    findings = check.get('findings') or []
    rungs.append(_rung(4, 'worked' if check.get('clean') else 'findings',
                       'no errors found' if check.get('clean') else
                       '%d finding(s): %s' % (len(findings), '; '.join(findings[:5]))))
    return _repair_rungs(rungs, repair, options)


def _repair_rungs(rungs, repair, options):
    if repair is not None:
        if repair.get('mounted_after'):
            rungs.append(_rung(5, 'worked', 'btrfs check --repair ran, and the filesystem mounts'))
            return _result(rungs, 'stop', 'repaired')
        rungs.append(_rung(5, 'failed', 'btrfs check --repair ran; the filesystem still does not '
                           'mount'))
    elif not options.get('allow_repair'):
        rungs.append(_rung(5, 'refused', 'not allowed: set train_btrfs_repair_allow_check_repair='
                           'true to run btrfs check --repair (it can destroy data)'))
    elif not (options.get('copied') or options.get('fresh_backup')):
        rungs.append(_rung(5, 'refused', 'needs a rescue copy (train_btrfs_repair_copy_to) or a '
                           'backup newer than train_btrfs_repair_fresh_backup_max_age first'))
    else:
        rungs.append(_rung(5, 'next', 'btrfs check --repair'))
        return _result(rungs, 'check-repair', None)
    rungs.append(_rung(6, 'next', FULL_RESTORE))
    return _result(rungs, 'full-restore', 'failed')


def _result(rungs, nxt, outcome):
    messages = {
        'clean': 'rung 1: the scrub found no errors',
        'repaired': 'the filesystem was repaired (rung %s)' % (rungs[-1]['rung'] if rungs else 1),
        'restored': 'rung 2: the damaged files were restored from the backup',
        'rescued': 'rung 3: mounted read-only in rescue mode; the data is readable, the '
                   'filesystem is not repaired',
        'failed': FULL_RESTORE if nxt == 'full-restore' else 'the ladder failed',
    }
    return {'rungs': rungs, 'next': nxt, 'outcome': outcome,
            'message': messages.get(outcome, 'next: %s' % nxt)}


def scrub_episode(record, uuid, previous_finished, now, max_age):
    """The recovery episode rung 1 belongs to, and the time its scrub must have finished after.

    A scrub from before the damage must never count: a clean read-only scrub of last night (or
    of recover-power-outage.yml) would call freshly damaged data clean.  So the ladder keeps a
    record on the host (``{uuid, begun, baseline_scrub_finished}``): the first run of an episode
    writes it, and its scrub must finish after ``begun``; a re-run within ``max_age`` of
    ``begun`` (the second run, or one after an interruption) belongs to the same episode and
    reuses that scrub instead of scrubbing again.

    ``record``: the record read from the host, or None.  ``uuid``: the filesystem's.
    ``previous_finished``: when the last scrub finished (ISO 8601) or None.  ``now``: the host's
    time (ISO 8601).  ``max_age``: how long an episode lasts (``1d``; ``0`` - every run is a new
    episode and scrubs).

    Returns ``{'new': bool, 'since': iso, 'record': dict}``; ``new`` means write ``record``.
    """
    now_epoch = parse_since(now)
    window = parse_age(max_age)
    if isinstance(record, dict) and record.get('uuid') == uuid and record.get('begun'):
        try:
            begun = parse_since(record['begun'])
        except ValueError:
            begun = None
        # A record from the future (a clock set back) starts a new episode too.
        if begun is not None and window and 0 <= now_epoch - begun <= window:
            return {'new': False, 'since': record['begun'], 'record': record}
    fresh = {'uuid': uuid, 'begun': now, 'baseline_scrub_finished': previous_finished}
    return {'new': True, 'since': now, 'record': fresh}


def report_entries(ladder):
    """``{check, ok, detail}`` entries for the recovery report, one per rung reached."""
    return [{'check': 'btrfs ladder rung %d: %s' % (r['rung'], r['name']),
             'ok': r['status'] in ('worked', 'skipped', 'not-enough', 'findings'),
             'detail': '%s: %s' % (r['status'], r['detail'])}
            for r in ladder['rungs']]
