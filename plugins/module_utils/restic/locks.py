# -*- coding: utf-8 -*-
# Copyright: (c) 2026, resilience.dr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""``restic_locks``: the repository's locks, classified, and only the stale ones removed.

A backup killed by a power cut leaves its lock behind.  ``restic unlock`` removes the locks
restic itself calls stale (its process is gone on this host, or it is older than 30 minutes:
a live restic refreshes its lock every 5 minutes), never a live one.  Before it runs, each lock
is read (``restic cat lock``) and classified here, so that the result says whose lock went and
why, and the unlock is planned only when a stale lock exists:

* ``stale``   this host, and its pid is not alive (or is no restic any more);
* ``live``    this host, and its pid is a running restic: never removed;
* ``old``     another host, older than :data:`STALE_AGE_SECONDS`: restic removes it;
* ``foreign`` another host, recent: we cannot see its process; restic keeps it.

After the unlock the locks are listed again: ``removed`` and ``kept`` are what the repository
holds then, not what was hoped for.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re
import socket
import time

from ansible_collections.resilience.dr.plugins.module_utils.runner import (
    ModuleFailure, Plan)
from ansible_collections.resilience.dr.plugins.module_utils.timeutil import parse_since

STALE_AGE_SECONDS = 30 * 60


def pid_is_restic(pid, proc='/proc'):
    """True when ``pid`` is alive here and its command is restic (not a reused pid)."""
    try:
        with open(os.path.join(proc, str(int(pid)), 'cmdline'), 'rb') as f:
            argv0 = f.read().split(b'\0')[0]
    except (IOError, OSError, ValueError):
        return False
    return os.path.basename(argv0.decode('utf-8', 'replace')).startswith('restic')


def classify_lock(lock, hostname, now, alive=pid_is_restic):
    """``stale``, ``live``, ``old`` or ``foreign`` for one ``restic cat lock`` document."""
    try:
        # restic writes nanoseconds (2026-12-01T07:18:06.147116323Z); seconds are enough.
        age = now - parse_since(re.sub(r'\.\d+', '', lock.get('time') or ''))
    except ValueError:
        age = None
    if lock.get('hostname') == hostname:
        return 'live' if alive(lock.get('pid')) else 'stale', age
    if age is not None and age > STALE_AGE_SECONDS:
        return 'old', age
    return 'foreign', age


def describe(lock_id, lock, kind, age):
    return {'id': lock_id[:8], 'kind': kind, 'hostname': lock.get('hostname'),
            'pid': lock.get('pid'), 'exclusive': bool(lock.get('exclusive')),
            'time': lock.get('time'), 'age_seconds': int(age) if age is not None else None,
            'username': lock.get('username')}


class LockManager:
    """Lists, classifies and (outside check mode) removes the stale locks."""

    def __init__(self, module, restic, hostname=None, now=None):
        self.module = module
        self.restic = restic
        self.hostname = hostname or socket.gethostname()
        self.now = now

    def locks(self):
        out, _err = self.restic.run(['list', 'locks'], no_lock=True)
        found = []
        for lock_id in [line.strip() for line in out.splitlines() if line.strip()]:
            try:
                doc, _err = self.restic.run(['cat', 'lock', lock_id], no_lock=True)
            except ModuleFailure:
                continue     # removed in between (its backup finished): nothing to do
            lock = json.loads(doc)
            kind, age = classify_lock(lock, self.hostname,
                                      self.now if self.now is not None else time.time())
            found.append(describe(lock_id, lock, kind, age))
        return found

    def run(self):
        before = self.locks()
        removable = [lk for lk in before if lk['kind'] in ('stale', 'old')]
        plan = Plan()
        if removable:
            names = ', '.join('%s of %s pid %s' % (lk['id'], lk['hostname'], lk['pid'])
                              for lk in removable)
            plan.add('remove %d stale lock(s) (restic unlock: never a live one): %s'
                     % (len(removable), names), argv=self.restic.argv(['unlock']))
        result = {'changed': bool(plan), 'plan': plan.as_list(), 'locks': before,
                  'removed': [], 'kept': [lk for lk in before if lk not in removable]}
        if plan and not self.module.check_mode:
            self.restic.unlock()
            after = self.locks()
            left = set(lk['id'] for lk in after)
            result['removed'] = [lk for lk in removable if lk['id'] not in left]
            result['kept'] = after
        elif plan:
            result['removed'] = removable
        return result
