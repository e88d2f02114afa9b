# -*- coding: utf-8 -*-
# Copyright: (c) 2026, resilience.dr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The drill trend (JSON lines, one per target per run), pure.

"Unusable since" (:func:`verdict`): for a target whose drill did not pass, the newest drill
that passed (run time and backup) and the backup time of the first failing drill after it:
from that backup on, no drilled backup of the target was proven to restore.

The ``restic check --read-data-subset n/t`` rotation (:func:`next_subset`): each drill reads
the slice after the previous drill's, so ``t`` consecutive drills read all of the data.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re

from ansible_collections.resilience.dr.plugins.module_utils.drill.results import status_of

SUBSET_RE = re.compile(r'^\s*(\d+)\s*/\s*(\d+)\s*$')


def parse_trend(text):
    """Trend lines -> list of dicts; lines that are not JSON objects are skipped (a trend
    written by a crashed run, or edited by hand, must not stop the next drill)."""
    out = []
    for line in (text or '').splitlines():
        line = line.strip()
        if not line:
            continue
        try:
            doc = json.loads(line)
        except ValueError:
            continue
        if isinstance(doc, dict):
            out.append(doc)
    return out


def trend_line(result, run):
    """The trend line of one normalised result of the run started at ``run`` (ISO UTC)."""
    return {
        'run': run, 'system': result['system'], 'target': result['target'],
        'status': status_of(result),
        'backup_id': result['backup'].get('id'), 'backup_time': result['backup'].get('time'),
        'started': result.get('started'), 'ended': result.get('ended'),
        'duration_seconds': result['duration_seconds'],
        'not_passed': ['%s:%s' % (c['name'], c['status']) for c in result['checks']
                       if c['status'] != 'pass'],
        'metrics': result['metrics'],
    }


def history(lines, system, target):
    return sorted((x for x in lines if x.get('system') == system and x.get('target') == target),
                  key=lambda x: str(x.get('run') or ''))


def verdict(lines, current):
    """What the trend (``lines``, the history before this run) says about ``current`` (this
    run's trend line): ``usable``, and for an unusable backup ``unusable_since`` (the backup
    time of the first failing drill since the last pass), ``first_failed_run``, ``last_good``
    (run, backup id and time, or None) and a ``message`` naming the backup."""
    if current['status'] == 'pass':
        return {'usable': True, 'unusable_since': None, 'last_good': None, 'message': None}
    past = history(lines, current['system'], current['target'])
    streak = [current]
    for entry in reversed(past):
        if entry.get('status') == 'pass':
            break
        streak.insert(0, entry)
    passes = [x for x in past if x.get('status') == 'pass']
    last = passes[-1] if passes else None
    first = streak[0]
    since = first.get('backup_time') or first.get('run')
    last_good = None if last is None else {
        'run': last.get('run'), 'backup_id': last.get('backup_id'),
        'backup_time': last.get('backup_time')}
    what = ', '.join(current['not_passed']) or current['status']
    if current.get('backup_id'):
        head = '%s/%s: backup %s (taken %s) is UNUSABLE (%s)' % (
            current['system'], current['target'], current['backup_id'],
            current.get('backup_time') or 'unknown', what)
    else:
        head = '%s/%s: the drill did not get as far as a backup (%s), so no backup is proven' % (
            current['system'], current['target'], what)
    message = '%s; unusable since %s (the backup of the first failing drill, %s)' % (
        head, since, first.get('run'))
    if last_good:
        message += '; last good drill %s on backup %s (taken %s)' % (
            last_good['run'], last_good['backup_id'], last_good['backup_time'])
    else:
        message += '; no drill of this target has passed since the trend began'
    return {'usable': False, 'unusable_since': since, 'first_failed_run': first.get('run'),
            'failing_drills': len(streak), 'last_good': last_good, 'message': message}


def parse_subset(text):
    """``"n/t"`` -> (n, t), or None."""
    match = SUBSET_RE.match(str(text or ''))
    if not match:
        return None
    n, t = int(match.group(1)), int(match.group(2))
    return (n, t) if 1 <= n <= t else None


def next_subset(lines, system, target, total):
    """The ``n/t`` for this drill: after the last recorded ``n/total`` of the target comes
    ``n+1`` (``total`` wraps to 1); the first drill, or one after a change of ``total``, reads 1.
    Only drills that ran the check advance it."""
    total = int(total)
    if total < 1:
        raise ValueError('the read-data-subset rotation needs a total of at least 1, not %r'
                         % total)
    for entry in reversed(history(lines, system, target)):
        seen = parse_subset((entry.get('metrics') or {}).get('read_data_subset'))
        if seen:
            n, t = seen
            return '%d/%d' % ((n % total) + 1 if t == total else 1, total)
    return '1/%d' % total
