# -*- coding: utf-8 -*-
# Copyright: (c) 2026, resilience.dr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The host's record of an accepted dirty-cache loss, kept until a scrub has run.

When backing devices are started without a cache that held dirty data, writes that were only
on the cache are gone, and only the superblocks said so; once started, the kernel marks them
``inconsistent`` and nothing on the machine remembers that data was lost.  An interrupted
recovery, re-run, would then report a plain success.  The record (JSON, one file, written
atomically) keeps that knowledge until a BTRFS scrub has run over the array; clearing it
requires the scrub's findings, which the module returns for the report.

The pure parts (:func:`new_record`, :func:`merge`, :func:`parse`, :func:`summary`,
:func:`cleared_summary`) are unit-tested; :class:`RecordFile` is the only file access (no
symlinks followed, written through a temporary file and ``module.atomic_move``).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import stat
import tempfile

from ansible_collections.resilience.dr.plugins.module_utils.bcache.preflight import BcacheFailure

FORMAT = 'resilience.dr/dirty-cache-loss/v1'
DEFAULT_PATH = '/var/lib/resilience-dr/dirty-cache-loss.json'
DEVICE_KEYS = ('device', 'missing_cache_set_uuid', 'superblock_state')


def _device(entry):
    """One lost device entry, from a bcache_info backing device (extra keys are dropped)."""
    if isinstance(entry, str):
        entry = {'device': entry}
    if not isinstance(entry, dict) or not entry.get('device'):
        raise BcacheFailure('each entry of devices needs a device (a bcache_info backing '
                            'device, or a device path), not %r' % (entry,))
    return dict((k, entry.get(k)) for k in DEVICE_KEYS)


def new_record(devices, scenario, now):
    """The record of a loss accepted ``now`` (an ISO time) during ``scenario``."""
    lost = [_device(d) for d in devices or []]
    if not lost:
        raise BcacheFailure('state=present needs the devices whose cache held dirty data')
    return {'format': FORMAT, 'recorded_at': now, 'scenario': scenario or 'unknown',
            'devices': sorted(lost, key=lambda d: d['device']), 'scrubbed': False}


def merge(existing, devices):
    """``existing`` with any new ``devices`` added; ``(record, added)``.  The time and scenario
    of the first acceptance are kept, so that a re-run changes nothing."""
    known = dict((d['device'], d) for d in existing.get('devices') or [])
    added = []
    for entry in devices or []:
        dev = _device(entry)
        if dev['device'] not in known:
            known[dev['device']] = dev
            added.append(dev['device'])
    record = dict(existing)
    record['devices'] = [known[k] for k in sorted(known)]
    return record, added


def parse(text, path):
    """The record in ``text`` (the file at ``path``); a failure naming the file when it is not
    one this module wrote."""
    try:
        record = json.loads(text)
    except ValueError as exc:
        raise BcacheFailure('%s is not a dirty-cache loss record (%s); it was not changed. '
                            'Inspect it, then move it aside' % (path, exc), path=path)
    if not isinstance(record, dict) or record.get('format') != FORMAT:
        raise BcacheFailure('%s is not a dirty-cache loss record (format %r, expected %s); it '
                            'was not changed. Inspect it, then move it aside'
                            % (path, record.get('format') if isinstance(record, dict) else None,
                               FORMAT), path=path)
    return record


def summary(record):
    """One line for the report: what was lost, when, and that no scrub has run yet."""
    devices = ', '.join(d['device'] for d in record.get('devices') or [])
    return ('A dirty-cache loss was accepted at %s (%s) on %s: writes that were only on the '
            'lost cache are gone. Not yet scrubbed: the array must be scrubbed to name the '
            'damaged files.' % (record.get('recorded_at'), record.get('scenario'), devices))


def cleared_summary(record, scrub):
    """One line for the report when the record is cleared after ``scrub`` (a btrfs_scrub
    result): the findings and the damaged files it named."""
    scrub = scrub or {}
    files = scrub.get('affected_summary') or 'none named by the kernel'
    return ('The dirty-cache loss recorded at %s on %s was scrubbed: %s corrected, %s '
            'uncorrectable error(s); damaged files: %s. The record is cleared. Writes that were '
            'only on the lost cache are gone even where the scrub finds no error: restore '
            'recent work from backup.'
            % (record.get('recorded_at'),
               ', '.join(d['device'] for d in record.get('devices') or []),
               scrub.get('corrected_errors', 'unknown'), scrub.get('uncorrectable_errors', 'unknown'),
               files))


def scrub_done(scrub):
    """Whether ``scrub`` (a btrfs_scrub result) is a scrub that ran to its end."""
    return (isinstance(scrub, dict) and scrub.get('status') == 'finished'
            and scrub.get('uncorrectable_errors') is not None)


class RecordFile:
    """The record on disk: read without following a symlink, written atomically."""

    def __init__(self, path, module=None):
        if not os.path.isabs(path or ''):
            raise BcacheFailure('path must be absolute, not %r' % (path,))
        self.path = path
        self.module = module

    def _refuse_symlink(self, path):
        try:
            st = os.lstat(path)
        except OSError:
            return False
        if stat.S_ISLNK(st.st_mode):
            raise BcacheFailure('%s is a symbolic link; the record is never written through '
                                'one. Nothing was changed. Remove the link' % path, path=path)
        return True

    def read(self):
        """The record, or None when there is none."""
        self._refuse_symlink(os.path.dirname(self.path))
        if not self._refuse_symlink(self.path):
            return None
        flags = os.O_RDONLY | getattr(os, 'O_NOFOLLOW', 0)
        fd = os.open(self.path, flags)
        with os.fdopen(fd) as handle:
            return parse(handle.read(), self.path)

    def write(self, record):
        directory = os.path.dirname(self.path)
        if not self._refuse_symlink(directory):
            os.makedirs(directory, 0o700)
        fd, tmp = tempfile.mkstemp(prefix='.dirty-cache-loss.', dir=directory)
        try:
            with os.fdopen(fd, 'w') as handle:
                json.dump(record, handle, indent=2, sort_keys=True)
                handle.write('\n')
                handle.flush()
                os.fsync(handle.fileno())
            self.module.atomic_move(tmp, self.path)
            # atomic_move gives a new file the default mode (umask): the record is root's only
            os.chmod(self.path, 0o600)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)

    def remove(self):
        self._refuse_symlink(self.path)
        os.unlink(self.path)
