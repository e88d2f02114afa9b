# -*- coding: utf-8 -*-
# Copyright: (c) 2026, resilience.dr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""After a power cut (roles/train_power): what the findings mean for the recovery
report.  Each function turns one registered result into ``{check, ok, detail}`` entries and
warnings; nothing here repairs or decides to delete anything.  Documentation of each filter:
the ``<filter>.yml`` files next to this one."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


def _get(result, key, default=None):
    if not isinstance(result, dict) or result.get('skipped'):
        return default
    return result.get(key, default)


def _bcache(bcache):
    devices = _get(bcache, 'backing_devices') or []
    dirty = sum(d.get('dirty_data_bytes') or 0 for d in devices)
    states = sorted(set(str(d.get('state')) for d in devices))
    detail = '%d backing device(s), states %s, %d bytes dirty on the cache (written back by ' \
             'the kernel; nothing lost while the cache SSD lives)' % (
                 len(devices), ', '.join(states) or 'none', dirty)
    return {'check': 'bcache state after the power cut', 'ok': 'inconsistent' not in states,
            'detail': detail}, dirty


def _stats(info, mountpoint):
    fss = [f for f in (_get(info, 'filesystems') or []) if f.get('mountpoint') == mountpoint]
    counters = {}
    for fs in fss:
        for d in fs.get('devices') or []:
            for name, value in (d.get('stats') or {}).items():
                if value:
                    counters['%s %s' % (d.get('path') or 'devid %s' % d.get('devid'), name)] = value
    detail = ('all zero' if not counters else
              ', '.join('%s=%d' % kv for kv in sorted(counters.items())))
    return {'check': 'BTRFS device error counters', 'ok': not counters, 'detail': detail}


def _kernel(kernel):
    records = _get(kernel, 'records') or []
    storage = _get(kernel, 'storage_count') or 0
    if not _get(kernel, 'readable', True):
        detail = 'the kernel log could not be read'
    elif not records:
        detail = 'no kernel errors since boot'
    else:
        detail = '%d line(s) since boot (%d storage): %s' % (
            _get(kernel, 'count') or len(records), storage,
            ' | '.join(r['message'] for r in records[-5:]))
    return {'check': 'kernel errors since boot', 'ok': storage == 0, 'detail': detail}


def _scrub(scrub, repair):
    if not isinstance(scrub, dict) or scrub.get('skipped'):
        return {'check': 'BTRFS scrub after the power cut', 'ok': False, 'detail': 'not run'}
    errors = (scrub.get('scrub') or {}).get('csum_errors', 0) or 0
    unc = scrub.get('uncorrectable_errors') or 0
    cor = scrub.get('corrected_errors') or 0
    mode = 'repairing from the mirror' if repair else 'report-only (read-only scrub)'
    detail = '%s, %s: %d corrected, %d uncorrectable, %d checksum error(s); damaged files: %s' % (
        scrub.get('status'), mode, cor, unc, errors, scrub.get('affected_summary') or 'none')
    return {'check': 'BTRFS scrub after the power cut', 'ok': unc == 0 and (repair or errors == 0),
            'detail': detail}


def train_power_checks(results, mountpoint, repair=False):
    """The report entries and warnings of a power-outage recovery.

    ``results``: a dict of the registered results (``bcache``, ``info``, ``kernel``, ``scrub``,
    ``locks``, ``backup_before``, ``backup_after``, ``rpo_target``, ``containers`` - a
    community.docker.docker_host_info result with ``containers: true``).
    """
    checks, warnings = [], []
    if _get(results.get('bcache'), 'backing_devices') is not None:
        entry, dirty = _bcache(results['bcache'])
        checks.append(entry)
        if dirty:
            warnings.append('bcache held %d bytes of dirty data after the power cut; writeback '
                            'is running (do not remove the cache SSD until the state is clean)'
                            % dirty)
    checks.append(_stats(results.get('info'), mountpoint))
    checks.append(_kernel(results.get('kernel')))
    scrub = _scrub(results.get('scrub'), repair)
    checks.append(scrub)
    if not scrub['ok']:
        warnings.append('the scrub found errors that were not repaired: %s. Re-run with '
                        'train_power_scrub_repair=true (repairs from the mirror), or run '
                        'recover-btrfs-corruption.yml' % scrub['detail'])
    locks = results.get('locks')
    if isinstance(locks, dict) and not locks.get('skipped'):
        removed = locks.get('removed') or []
        kept = locks.get('kept') or []
        gone = ', '.join('%s pid %s' % (k['hostname'], k['pid']) for k in removed) or '-'
        left = ', '.join('%s %s pid %s' % (k['kind'], k['hostname'], k['pid']) for k in kept) or '-'
        checks.append({'check': 'restic locks',
                       'ok': not any(k['kind'] in ('stale', 'old') for k in kept),
                       'detail': 'removed %d stale (%s); kept %d (%s)' % (
                           len(removed), gone, len(kept), left)})
    after = results.get('backup_after') or results.get('backup_before')
    latest = _get(after, 'latest')
    if isinstance(after, dict) and not after.get('skipped'):
        target = int(results.get('rpo_target') or 0)
        age = latest.get('age_seconds') if latest else None
        checks.append({'check': 'backup within the RPO target',
                       'ok': age is not None and age <= target,
                       'detail': 'latest snapshot %s, %s s old (target %d s)%s' % (
                           latest.get('short_id') if latest else 'none', age, target,
                           '; re-run now' if _get(results.get('backup_run'), 'changed') else '')})
    containers = results.get('containers')
    if isinstance(containers, dict) and not containers.get('skipped'):
        found = [((c.get('Names') or ['?'])[0].lstrip('/'), c.get('State'))
                 for c in containers.get('containers') or []]
        down = sorted(name for name, state in found if state != 'running')
        suffix = (', down: ' + ', '.join(down)) if down else ''
        checks.append({'check': 'workspace containers running', 'ok': not down and bool(found),
                       'detail': '%d running%s' % (len(found) - len(down), suffix)})
    return {'checks': checks, 'warnings': warnings}


class FilterModule(object):
    def filters(self):
        return {'train_power_checks': train_power_checks}
