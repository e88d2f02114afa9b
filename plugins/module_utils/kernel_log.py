# -*- coding: utf-8 -*-
# Copyright: (c) 2026, resilience.dr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The kernel log, read by position rather than by clock.

A module that wants "what the kernel said while my command ran" must not compare times:
``dmesg --time-format iso`` turns the printk clock into wall time with the boot time it guesses,
and on this lab's VMs that guess is a few hundred milliseconds early and drifts with uptime.  A
scrub that starts at 12:00:00.1 (``btrfs scrub status`` says 12:00:00) logs lines that ``dmesg``
stamps 11:59:59.8, and a filter "since the scrub started" silently drops them.

:class:`KernelLogCursor` instead opens ``/dev/kmsg`` before the command and seeks to its end; what
it reads afterwards is exactly the records written in between, by sequence number.  When
``/dev/kmsg`` cannot be opened (``dmesg_restrict`` without ``CAP_SYSLOG``, a container), callers
fall back to ``dmesg`` with a time filter and :data:`CLOCK_SLACK_SECONDS` of tolerance.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import os
import re

# How far dmesg's wall-clock stamps may lag real time, for the time-filtered fallback.
CLOCK_SLACK_SECONDS = 5

_ESCAPE = re.compile(r'\\x([0-9a-fA-F]{2})')


def parse_kmsg_record(record):
    """One ``/dev/kmsg`` record (``prio,seq,usec,flags;message\\n KEY=value...``) to its message.

    The kernel escapes unprintable bytes as ``\\xNN``; they are decoded back so that a file name
    with such bytes reads as the name it is.  Continuation lines (the record's dictionary) and
    malformed records give None.
    """
    if isinstance(record, bytes):
        record = record.decode('utf-8', 'surrogateescape')
    head, sep, rest = record.partition(';')
    if not sep or head.count(',') < 2:
        return None
    message = rest.split('\n', 1)[0]
    if '\\x' not in message:
        return message
    raw = _ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), message)
    try:
        return raw.encode('latin-1', 'surrogateescape').decode('utf-8', 'replace')
    except UnicodeEncodeError:
        return raw


def drain(fd, parse):
    """Every record readable now from the non-blocking ``/dev/kmsg`` descriptor ``fd``, each
    through ``parse`` (records it turns into None are dropped), and whether records were lost
    (the kernel answers EPIPE once when the ring buffer overwrote unread records)."""
    out, lost = [], False
    while True:
        try:
            record = os.read(fd, 16384)
        except OSError as exc:
            if exc.errno == errno.EPIPE:
                lost = True
                continue
            if exc.errno in (errno.EAGAIN, errno.EWOULDBLOCK):
                break
            raise
        if not record:
            break
        item = parse(record)
        if item is not None:
            out.append(item)
    return out, lost


class KernelLogCursor:
    """Kernel log records written after this object was made, in order."""

    def __init__(self, path='/dev/kmsg'):
        self.lost = False
        try:
            self.fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        except OSError:
            self.fd = None
            return
        try:
            os.lseek(self.fd, 0, os.SEEK_END)
        except OSError:
            self.close()

    @property
    def available(self):
        return self.fd is not None

    def read(self):
        """The messages logged since the cursor was placed (or last read); None if unavailable.

        ``lost`` is set when the ring buffer overwrote records before they were read (the
        kernel answers EPIPE once, then continues with the oldest record it still holds).
        """
        if self.fd is None:
            return None
        messages, lost = drain(self.fd, parse_kmsg_record)
        self.lost = self.lost or lost
        return messages

    def close(self):
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


# Kernel lines that matter after an unclean shutdown, whatever their level.
STORAGE_PATTERNS = re.compile(
    r'BTRFS (error|critical|warning)|bcache.*(error|fail|corrupt)|I/O error|blk_update_request|'
    r'critical medium error|'
    r'Buffer I/O error|EXT4-fs error|nvme.*(timeout|reset)|ata\d+.*(failed|error)', re.I)
# Lines that match STORAGE_PATTERNS but say nothing about the storage: udev and a recovery that
# register the same bcache device both, and the kernel refuses the second at level err.
NOT_STORAGE_ERRORS = re.compile(r'register_bcache\(\) error\s*:\s*device already registered')
LEVELS = ('emerg', 'alert', 'crit', 'err', 'warning', 'notice', 'info', 'debug')


def is_storage_error(message):
    """True for a kernel line about the storage going wrong."""
    return bool(STORAGE_PATTERNS.search(message)) and not NOT_STORAGE_ERRORS.search(message)


def parse_kmsg_fields(record):
    """``{level, seq, seconds, message}`` of one ``/dev/kmsg`` record, or None."""
    if isinstance(record, bytes):
        record = record.decode('utf-8', 'surrogateescape')
    head = record.partition(';')[0].split(',')
    message = parse_kmsg_record(record)
    if message is None:
        return None
    try:
        prio, seq, usec = int(head[0]), int(head[1]), int(head[2])
    except (ValueError, IndexError):
        return None
    return {'level': LEVELS[prio & 7], 'seq': seq, 'seconds': round(usec / 1e6, 3),
            'message': message}


def storage_errors(records, max_level='err'):
    """The records at ``max_level`` or worse, and storage lines at any level."""
    worst = LEVELS.index(max_level)
    return [r for r in records
            if LEVELS.index(r['level']) <= worst or STORAGE_PATTERNS.search(r['message'])]


def read_since_boot(path='/dev/kmsg'):
    """Every record the ring buffer still holds (from boot unless it wrapped), and whether
    some were lost; (None, False) when the log cannot be read."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError:
        return None, False
    try:
        records, lost = drain(fd, parse_kmsg_fields)
    finally:
        os.close(fd)
    if records and records[0]['seq'] != 0:
        lost = True
    return records, lost
