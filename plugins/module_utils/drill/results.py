# -*- coding: utf-8 -*-
# Copyright: (c) 2026, resilience.dr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The per-system drill result (``dr_drill_result``, the contract in docs/drill.md), pure.

:func:`normalise` makes every result safe to write: a result that breaks the contract becomes
a failing check that says what was wrong instead of disappearing from the report.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

STATUSES = ('pass', 'warn', 'fail')
RANK = {'pass': 0, 'warn': 1, 'fail': 2}


def _float(value, default=0.0):
    try:
        return float(value)
    except (TypeError, ValueError):
        return default


def _line(value, limit=1000):
    text = ' '.join(str('' if value is None else value).split())
    return text if len(text) <= limit else text[:limit - 3] + '...'


def normalise(result):
    """One ``dr_drill_result`` as written to the report (always a dict with every key)."""
    if not isinstance(result, dict):
        result = {'checks': [{'name': 'result', 'status': 'fail',
                              'detail': 'no dr_drill_result (got %r)' % (result,)}]}
    backup = result.get('backup') if isinstance(result.get('backup'), dict) else {}
    checks = []
    for check in result.get('checks') or []:
        if not isinstance(check, dict):
            checks.append({'name': 'result', 'status': 'fail', 'seconds': 0.0,
                           'detail': 'malformed check %r' % (check,)})
            continue
        status = check.get('status')
        if status not in STATUSES:
            status, detail = 'fail', 'unknown status %r: %s' % (status, check.get('detail'))
        else:
            detail = check.get('detail')
        checks.append({'name': _line(check.get('name') or 'unnamed', 100), 'status': status,
                       'detail': _line(detail), 'seconds': round(_float(check.get('seconds')), 3)})
    if not checks:
        checks.append({'name': 'result', 'status': 'fail', 'seconds': 0.0,
                       'detail': 'the drill recorded no check at all'})
    metrics = result.get('metrics') if isinstance(result.get('metrics'), dict) else {}
    return {
        'system': _line(result.get('system') or 'unknown', 100),
        'target': _line(result.get('target') or 'unknown', 200),
        'backup': {'id': backup.get('id'), 'time': backup.get('time'),
                   'location': _line(backup.get('location'), 300) or None},
        'started': result.get('started'),
        'ended': result.get('ended'),
        'duration_seconds': round(_float(result.get('duration_seconds')), 3),
        'checks': checks,
        'metrics': dict((str(k), v) for k, v in metrics.items()
                        if isinstance(v, (int, float, str)) and not isinstance(v, bool)),
    }


def status_of(result):
    """The worst status of a normalised result's checks."""
    return max((c['status'] for c in result['checks']), key=RANK.get)


def extrapolate_seconds(bytes_done, seconds, full_bytes):
    """Seconds a restore of ``full_bytes`` takes at the rate measured (``bytes_done`` in
    ``seconds``); None when nothing was measured."""
    if not bytes_done or not seconds or seconds <= 0 or full_bytes is None:
        return None
    return round(float(full_bytes) * float(seconds) / float(bytes_done), 1)


def train_metrics(restore, manifest, stats, subset):
    """The metrics of a train drill from the module results: restic_restore (``restore``),
    restic_manifest_verify (``manifest``), restic_snapshot_info's ``stats`` and the subset."""
    restore, manifest, stats = restore or {}, manifest or {}, stats or {}
    restored = int(restore.get('restored_bytes') or restore.get('bytes') or 0)
    seconds = _float(restore.get('restore_seconds') or restore.get('duration'))
    # a full restore of the snapshot: restic stats --mode restore-size, else the bytes of the
    # whole snapshot that restic_restore listed
    full = (stats.get('restore_size') or {}).get('total_size', restore.get('bytes'))
    raw = (stats.get('raw_data') or {}).get('total_size')
    metrics = {
        'restored_bytes': restored,
        'restored_files': int(restore.get('restored_files') or restore.get('files') or 0),
        'restore_seconds': round(seconds, 3),
        'restore_bytes_per_second': round(restored / seconds, 1) if seconds > 0 else 0,
        'files_compared': int(manifest.get('files_compared') or 0),
        'checksums_sampled': int(manifest.get('matched') or 0),
        'manifest_files': int(manifest.get('manifest_files') or 0),
    }
    if full is not None:
        metrics['full_restore_bytes'] = int(full)
        metrics['extrapolated_full_restore_seconds'] = extrapolate_seconds(restored, seconds, full)
    if raw is not None:
        metrics['repository_raw_data_bytes'] = int(raw)
        metrics['extrapolated_repository_read_seconds'] = extrapolate_seconds(restored, seconds, raw)
    if subset:
        metrics['read_data_subset'] = str(subset)
    return dict((k, v) for k, v in metrics.items() if v is not None)
