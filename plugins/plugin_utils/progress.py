# -*- coding: utf-8 -*-
# Copyright: (c) 2026, resilience.dr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Progress of long steps, for the ``resilience.dr.progress`` action: probes (the command that
reads how far a step is, and the parser of its output, pure), and the one-line report with
percent, bytes, rate and ETA.

A probe returns a :class:`Sample` (bytes done, total, percent, the tool's own rate and time
left when it has them); :class:`Meter` turns successive samples into a rate and an ETA when
the tool does not give them.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
import shlex

UNITS = {'': 1, 'B': 1, 'K': 1024, 'KI': 1024, 'KIB': 1024, 'M': 1024 ** 2, 'MI': 1024 ** 2,
         'MIB': 1024 ** 2, 'G': 1024 ** 3, 'GI': 1024 ** 3, 'GIB': 1024 ** 3, 'T': 1024 ** 4,
         'TI': 1024 ** 4, 'TIB': 1024 ** 4, 'P': 1024 ** 5, 'PIB': 1024 ** 5, 'KB': 1000,
         'MB': 1000 ** 2, 'GB': 1000 ** 3, 'TB': 1000 ** 4}


class Sample:
    """One reading of a step's progress.  Any field may be None (unknown)."""

    def __init__(self, done=None, total=None, percent=None, rate=None, eta=None, state=None):
        self.done = done
        self.total = total
        self.percent = percent
        self.rate = rate
        self.eta = eta
        self.state = state
        if self.percent is None and done is not None and total:
            self.percent = min(100.0, 100.0 * done / total)


def to_bytes(text):
    """``1.17GiB`` / ``8.0M`` / ``512`` -> bytes (int), or None."""
    match = re.match(r'^\s*([0-9]+(?:\.[0-9]+)?)\s*([A-Za-z]*)\s*$', text or '')
    if not match:
        return None
    unit = match.group(2).upper()
    if unit not in UNITS:
        return None
    return int(float(match.group(1)) * UNITS[unit])


def to_seconds(text):
    """``1:02:03`` -> 3723; None when not a duration."""
    match = re.match(r'^\s*(\d+):(\d{2}):(\d{2})\s*$', text or '')
    if not match:
        return None
    hours, minutes, seconds = (int(g) for g in match.groups())
    return hours * 3600 + minutes * 60 + seconds


def _fields(output):
    fields = {}
    for line in (output or '').splitlines():
        key, sep, value = line.partition(':')
        if sep:
            fields.setdefault(key.strip().lower(), value.strip())
    return fields


def parse_btrfs_scrub_status(output):
    """``btrfs scrub status <mount>`` (btrfs-progs 5.x/6.x)."""
    fields = _fields(output)
    total = to_bytes(fields.get('total to scrub', ''))
    state = fields.get('status') or ('running' if 'bytes scrubbed' in fields else None)
    done, percent = None, None
    match = re.match(r'^(\S+)\s*\(([0-9.]+)%\)', fields.get('bytes scrubbed', ''))
    if match:
        done, percent = to_bytes(match.group(1)), float(match.group(2))
    if state == 'finished':
        done, percent = total, 100.0
    rate = to_bytes(fields.get('rate', '').replace('/s', ''))
    eta = to_seconds(fields.get('time left', '')) if state != 'finished' else 0
    return Sample(done=done, total=total, percent=percent, rate=rate or None, eta=eta or None,
                  state=state)


def parse_btrfs_replace_status(output):
    """``btrfs replace status -1 <mount>``: ``12.3% done, 0 write errs, 0 uncorr. read errs``."""
    text = (output or '').strip()
    match = re.search(r'([0-9.]+)% done', text)
    if match:
        return Sample(percent=float(match.group(1)), state='running')
    if 'finished' in text.lower():
        return Sample(percent=100.0, state='finished')
    return Sample(state=text.split(',')[0] or None)


def parse_bcache_dirty(output, initial=None):
    """``cat /sys/block/bcacheN/bcache/dirty_data ...``: the dirty data left, summed."""
    left = 0
    seen = False
    for token in (output or '').split():
        value = to_bytes(token)
        if value is not None:
            left += value
            seen = True
    if not seen:
        return Sample()
    total = initial if initial is not None and initial >= left else left
    return Sample(done=total - left, total=total, state='flushing' if left else 'clean')


def parse_bytes_in(output, total=None):
    """``du -sb <path>``: the bytes written so far (for a restore, against an expected total)."""
    match = re.match(r'^\s*(\d+)', output or '')
    done = int(match.group(1)) if match else None
    return Sample(done=done, total=total)


PROBES = {
    # name: (argv builder, parser, needs)
    'btrfs_scrub': (lambda a: ['btrfs', 'scrub', 'status', a['path']], parse_btrfs_scrub_status, 'path'),
    'btrfs_replace': (lambda a: ['btrfs', 'replace', 'status', '-1', a['path']],
                      parse_btrfs_replace_status, 'path'),
    'bcache_flush': (lambda a: ['cat'] + ['/sys/block/%s/bcache/dirty_data' % d.rsplit('/', 1)[-1]
                                          for d in a['devices']], parse_bcache_dirty, 'devices'),
    'bytes_in': (lambda a: ['du', '-sb', a['path']], parse_bytes_in, 'path'),
}


def probe_command(name, args):
    """The shell command line (LC_ALL=C, quoted) that reads the progress of ``name``."""
    argv = PROBES[name][0](args)
    return 'LC_ALL=C ' + ' '.join(shlex.quote(a) for a in argv)


def human_bytes(value):
    if value is None:
        return '?'
    for unit in ('B', 'KiB', 'MiB', 'GiB', 'TiB'):
        if abs(value) < 1024 or unit == 'TiB':
            return ('%.0f %s' if unit == 'B' else '%.1f %s') % (value, unit)
        value /= 1024.0
    return '?'


def human_seconds(seconds):
    if seconds is None:
        return '?'
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return '%dh %02dm' % (hours, minutes)
    if minutes:
        return '%dm %02ds' % (minutes, secs)
    return '%ds' % secs


class Meter:
    """Rate and ETA from successive samples, when the tool does not report them."""

    def __init__(self):
        self.first = None

    def update(self, now, sample):
        if sample.done is None:
            return sample
        if self.first is None:
            self.first = (now, sample.done)
            return sample
        elapsed = now - self.first[0]
        if sample.rate is None and elapsed > 0 and sample.done >= self.first[1]:
            sample.rate = (sample.done - self.first[1]) / elapsed
        if sample.eta is None and sample.rate and sample.total is not None:
            sample.eta = max(0.0, (sample.total - sample.done) / sample.rate)
        return sample


def progress_line(label, sample, elapsed):
    """``restore /mnt/storage/homes: 42.0%, 1.2 GiB of 2.9 GiB, 85.3 MiB/s, ETA 21s (1m 02s)``."""
    parts = []
    if sample.percent is not None:
        parts.append('%.1f%%' % sample.percent)
    if sample.done is not None:
        parts.append(human_bytes(sample.done) + (' of %s' % human_bytes(sample.total)
                                                 if sample.total is not None else ''))
    if sample.rate is not None:
        parts.append('%s/s' % human_bytes(sample.rate))
    if sample.eta is not None:
        parts.append('ETA %s' % human_seconds(sample.eta))
    if not parts:
        parts.append(sample.state or 'no reading yet')
    return '%s: %s (running for %s)' % (label, ', '.join(parts), human_seconds(elapsed))
