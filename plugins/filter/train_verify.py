# -*- coding: utf-8 -*-
# Copyright: (c) 2026, resilience.dr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The train_verify role's checks, each a C({check, ok, detail}) entry for the recovery report.

The role gathers with few remote calls (stat, getent, btrfs_array_info, bcache_info,
docker_host_info) and these filters judge the results on the controller.  Documentation of
each filter: the ``<filter>.yml`` files next to this one.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from ansible.errors import AnsibleFilterError
from ansible_collections.resilience.dr.plugins.filter.train import train_user_paths


def _int(value, default=0):
    """Jinja's int filter: the default for what is not a number."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _want(mode):
    """A layout mode (C(0700)) as stat's C(%a) prints it (C(700))."""
    return None if mode is None else str(mode).lstrip('0')


def _entry(check, ok, detail):
    return {'check': check, 'ok': bool(ok), 'detail': detail}


def train_stat_table(lines):
    """``stat --format '%n|%a|%u|%g|%F'`` lines as {path: {mode, uid, gid, type}}."""
    out = {}
    for line in lines or []:
        fields = line.rsplit('|', 4)
        if len(fields) != 5:
            raise AnsibleFilterError("not a line of stat --format '%%n|%%a|%%u|%%g|%%F': %r" % line)
        out[fields[0]] = {'mode': fields[1], 'uid': int(fields[2]), 'gid': int(fields[3]),
                          'type': fields[4]}
    return out


def train_directory_checks(directories, root, stat):
    """One check per top-level directory: it is a directory with its mode (any mode when the
    entry has none)."""
    out = []
    for d in directories or []:
        path = str(root).rstrip('/') + '/' + str(d['path']).strip('/')
        want = _want(d.get('mode'))
        s = (stat or {}).get(path)
        if s is None:
            out.append(_entry('directory ' + path, False, 'missing'))
        elif want is None:
            out.append(_entry('directory ' + path, s['type'] == 'directory', s['type']))
        else:
            out.append(_entry('directory ' + path, s['type'] == 'directory' and s['mode'] == want,
                              '%s mode %s (want %s)' % (s['type'], s['mode'], want)))
    return out


def train_account_checks(accounts, root, layout, stat, passwd):
    """One check per account: its UID, GID (= UID) and home in the account database, and the
    owner and mode of each of its directories (and authorized_keys when it has keys)."""
    out = []
    stat, passwd = stat or {}, passwd or {}
    for account in accounts or []:
        name, uid = str(account['name']), int(account['uid'])
        wanted = train_user_paths([account], root, layout)
        home = [w['path'] for w in wanted if w['name'] == 'home']
        problems = []
        pw = passwd.get(name)
        if pw is None:
            problems.append('no such user')
        else:
            if _int(pw[1]) != uid:
                problems.append('UID ' + str(pw[1]))
            if _int(pw[2]) != uid:
                problems.append('GID ' + str(pw[2]))
            if home and pw[4] != home[0]:
                problems.append('home ' + str(pw[4]))
        for w in wanted:
            s, want = stat.get(w['path']), _want(w['mode'])
            if s is None:
                problems.append(w['path'] + ' missing')
            elif s['uid'] != uid or s['gid'] != uid or s['mode'] != want:
                problems.append('%s is %d:%d mode %s (want %d:%d mode %s)'
                                % (w['path'], s['uid'], s['gid'], s['mode'], uid, uid, want))
        out.append(_entry('user %s and home ownership' % name, not problems,
                          'UID/GID %d, %d directories owned and moded as expected' % (uid, len(wanted))
                          if not problems else '; '.join(problems)))
    return out


def train_storage_checks(filesystems, root, backing_devices, expect):
    """The array mounted at O(root) judged against O(expect) (C(data_profile),
    C(metadata_profile), C(allow_degraded), C(bcache_mode), C(sequential_cutoff),
    C(writeback_percent)): a dict with the C(profiles), C(errors) and C(bcache) checks."""
    fs = next((f for f in filesystems or [] if root in (f.get('mountpoints') or [])), {})
    profiles = fs.get('profiles') or {}
    data, metadata = profiles.get('data') or [], profiles.get('metadata') or []
    missing = _int(fs.get('missing_count', 0))
    members = [d.get('path') for d in fs.get('devices') or [] if d.get('path')]
    backing = [b for b in backing_devices or [] if b.get('bcache_device') in members]
    mode, cutoff, percent = (expect.get('bcache_mode'), expect.get('sequential_cutoff'),
                             expect.get('writeback_percent'))
    bad = []
    for b in backing:
        if not b.get('cache_set_uuid'):
            bad.append('%s has no cache attached (%s)' % (b.get('device'), b.get('status')))
        if b.get('cache_mode') != mode:
            bad.append('%s cache_mode %s' % (b.get('device'), b.get('cache_mode')))
        if b.get('sequential_cutoff_bytes') != _int(cutoff):
            bad.append('%s sequential_cutoff %s' % (b.get('device'), b.get('sequential_cutoff_bytes')))
        if b.get('writeback_percent') != _int(percent):
            bad.append('%s writeback_percent %s' % (b.get('device'), b.get('writeback_percent')))
    profiles_ok = (bool(fs) and [p.lower() for p in data] == [str(expect.get('data_profile')).lower()]
                   and [p.lower() for p in metadata] == [str(expect.get('metadata_profile')).lower()]
                   and (fs.get('missing_count', 1) == 0 or _bool(expect.get('allow_degraded'))))
    if fs:
        detail = '%s (%s): data %s, metadata %s, %d members, %d missing' % (
            fs.get('label'), fs.get('uuid'), '+'.join(data), '+'.join(metadata), len(members), missing)
        if missing > 0:
            detail += ' (degraded mount allowed: train_storage_allow_degraded)'
    else:
        detail = 'no BTRFS filesystem mounted at %s' % root
    bcache_detail = '%d of %d members on bcache, mode %s, sequential_cutoff %s, writeback_percent %s' % (
        len(backing), len(members), mode, cutoff, percent)
    if bad:
        bcache_detail += '; ' + '; '.join(bad)
    return {
        'profiles': _entry('BTRFS profiles and members', profiles_ok, detail),
        'errors': _entry('BTRFS device error counters', bool(fs) and _int(fs.get('errors', 0)) == 0,
                         '%s errors in the device stats' % fs.get('errors', 'unknown')),
        'bcache': _entry('bcache attached, mode and tunables',
                         backing and len(backing) == len(members) and not bad, bcache_detail),
    }


def _bool(value):
    if isinstance(value, str):
        return value.strip().lower() in ('1', 'true', 'yes', 'on', 'y', 't')
    return bool(value)


def train_container_checks(accounts, host_info):
    """One check per account: its C(workspace-<user>) container runs.  O(host_info) is the
    registered result of community.docker.docker_host_info with C(containers: true)."""
    host_info = host_info or {}
    found = host_info.get('containers')
    out = []
    for account in accounts or []:
        name = 'workspace-%s' % account['name']
        c = next((c for c in found or [] if '/' + name in (c.get('Names') or [])), None)
        if found is None:
            detail = 'Docker does not answer: %s' % host_info.get('msg', '')
        elif c is None:
            detail = 'missing'
        else:
            detail = '%s (%s), image %s' % (c.get('State'), c.get('Status'), c.get('Image'))
        out.append(_entry('container %s running' % name, c is not None and c.get('State') == 'running',
                          detail))
    return out


def _first_filesystem(result):
    """The first entry of a registered C(findmnt --json) command result; {} when it found none."""
    if not isinstance(result, dict) or result.get('rc', 1) != 0 or not result.get('stdout'):
        return {}
    try:
        return (json.loads(result['stdout']).get('filesystems') or [{}])[0]
    except ValueError:
        raise AnsibleFilterError('findmnt did not print JSON: %r' % result['stdout'][:200])


def train_mount_checks(findmnt, fstab, root, options):
    """The array's mount and its fstab entry against the wanted O(options) (comma-separated),
    from the registered C(findmnt --json) results (O(fstab) may be a skipped result): a dict
    with the C(mount) and C(fstab) checks and C(degraded) (the mount has the degraded option)."""
    mounted, tab = _first_filesystem(findmnt), _first_filesystem(fstab)
    wanted = [o for o in str(options or '').split(',') if o]
    mount_opts = (mounted.get('options') or '').split(',')
    mount_missing = [o for o in wanted if o not in mount_opts]
    tab_missing = [o for o in wanted if o not in (tab.get('options') or '').split(',')]
    uuid = mounted.get('uuid', '-')
    source = tab.get('source') or ''
    if mounted:
        mount_detail = '%s on %s, %s, options %s' % (
            mounted.get('source'), mounted.get('target'), mounted.get('fstype'), mounted.get('options'))
        if mount_missing:
            mount_detail += '; missing options: ' + ','.join(mount_missing)
    else:
        mount_detail = 'not mounted'
    if tab:
        tab_detail = '%s %s %s %s' % (tab.get('source'), tab.get('target'), tab.get('fstype'),
                                      tab.get('options'))
        if tab_missing:
            tab_detail += '; missing options: ' + ','.join(tab_missing)
        if not source.startswith('UUID='):
            tab_detail += '; not by UUID'
    else:
        tab_detail = 'no fstab entry'
    return {
        'mount': _entry('mount %s' % root, mounted.get('fstype') == 'btrfs' and not mount_missing,
                        mount_detail),
        'fstab': _entry('fstab entry for %s' % root,
                        tab.get('fstype') == 'btrfs' and not tab_missing
                        and source in ('UUID=%s' % uuid, 'UUID="%s"' % uuid), tab_detail),
        'degraded': 'degraded' in mount_opts,
    }


def train_restic_check(result, max_age_seconds):
    """The repository answers and its latest snapshot is younger than O(max_age_seconds), from
    the registered resilience.dr.restic_snapshot_info result (run with C(failed_when: false):
    a listing that worked always returns C(count))."""
    result = result or {}
    latest, limit = result.get('latest'), _int(max_age_seconds)
    reachable = 'count' in result
    if not reachable:
        detail = 'unreachable: %s' % result.get('msg', '')
    elif latest is None:
        detail = 'no snapshots in %s' % result.get('repository', '')
    else:
        detail = '%d snapshots, latest %s from %s, %d s old (limit %d s)' % (
            _int(result['count']), latest.get('short_id', latest.get('id', '?')), latest.get('time'),
            _int(latest.get('age_seconds')), limit)
    return _entry('restic repository reachable and recent',
                  reachable and latest is not None and _int(latest.get('age_seconds')) <= limit, detail)


def train_checksum_check(result, manifest):
    """The data against a sha256sum manifest, from the registered result of the role's
    C(sha256sum --check --quiet --strict) script (a C(total=N) line, then only the failures)."""
    result = result or {}
    lines = result.get('stdout_lines') or []
    total = next((line[len('total='):] for line in lines if line.startswith('total=')), '0')
    rest = [line for line in lines if not line.startswith('total=')]
    bad = [line for line in rest if ': FAILED' in line]
    other = [line for line in rest if ': FAILED' not in line]
    ok = result.get('rc') == 0
    detail = ('%s files match the manifest' % total if ok else
              '%d of %s files differ or are missing: %s' % (len(bad), total, '; '.join((bad + other)[:10])))
    return _entry('data checksums (%s)' % manifest, ok, detail)


def train_gpu_check(result):
    """GPUs visible, from the registered result of C(nvidia-smi --list-gpus)."""
    result = result or {}
    gpus = [line for line in result.get('stdout_lines') or [] if line.startswith('GPU ')]
    ok = result.get('rc') == 0
    detail = '%d GPUs' % len(gpus)
    if not ok:
        detail += ': %s' % result.get('msg', result.get('stderr', ''))
    return _entry('GPUs visible (nvidia-smi)', ok and len(gpus) > 0, detail)


class FilterModule(object):
    def filters(self):
        return {
            'train_stat_table': train_stat_table,
            'train_directory_checks': train_directory_checks,
            'train_account_checks': train_account_checks,
            'train_storage_checks': train_storage_checks,
            'train_container_checks': train_container_checks,
            'train_mount_checks': train_mount_checks,
            'train_restic_check': train_restic_check,
            'train_checksum_check': train_checksum_check,
            'train_gpu_check': train_gpu_check,
        }
