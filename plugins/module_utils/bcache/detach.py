# -*- coding: utf-8 -*-
# Copyright: (c) 2026, resilience.dr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""``state: detached``: flush the backing devices' dirty data, then detach them from the cache.

A clean attached device is detached at once.  A dirty one goes through :class:`FlushDetach`:
stop new dirty data, wait up to ``flush_timeout`` for the writeback, detach; when the flush
does not finish in time, everything is put back as it was and the devices stay attached.
A device whose cache is missing can only be started without it (``force``).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible_collections.resilience.dr.plugins.module_utils.bcache.discovery import holds_dirty
from ansible_collections.resilience.dr.plugins.module_utils.bcache.lost_cache import (
    Waiting, plan_start)
from ansible_collections.resilience.dr.plugins.module_utils.bcache.preflight import BcacheFailure
from ansible_collections.resilience.dr.plugins.module_utils.runner import Refusal


class FlushDetach:
    """Stop new dirty data on backing devices ``names``, wait for the flush, detach.

    The steps share what they found before they changed it: ``before`` (each device's
    :class:`~discovery.KernelView` entry: cache mode, writeback_percent, writeback_running) and
    ``delays`` (its ``writeback_delay``), so that a flush that times out restores them.
    """

    def __init__(self, actions, names, timeout):
        self.actions = actions
        self.names = list(names)
        self.timeout = timeout or 0
        self.bases = dict((n, actions.sysfs.bcache_dir(n)) for n in self.names)
        self.before = {}
        self.delays = {}

    def add_steps(self):
        plan = self.actions.plan
        desc = ', '.join('/dev/%s' % n for n in self.names)
        plan.add('stop new dirty data on %s: echo writethrough > <dev>/bcache/cache_mode; '
                 'echo 0 > <dev>/bcache/writeback_percent; echo 1 > '
                 '<dev>/bcache/writeback_running' % desc, action=self.stop_dirtying)
        plan.add('wait up to %ss (flush_timeout) until dirty_data is 0 and state is clean '
                 'on %s' % (self.timeout, desc), action=self.wait_clean)
        for n in self.names:
            self.actions.detach('/dev/%s' % n, n, self.timeout)
        plan.add('restore writeback_delay on %s' % desc, action=self.restore_delay)

    def _write(self, name, attr, value):
        self.actions.write('%s/%s' % (self.bases[name], attr), value)

    def stop_dirtying(self):
        kernel = self.actions.fresh()
        for n in self.names:
            self.before[n] = kernel.backing[n]
            self._write(n, 'cache_mode', 'writethrough')
            self._write(n, 'writeback_percent', 0)
            self._write(n, 'writeback_running', 1)
            # the writeback thread sleeps writeback_delay (30 s) between index scans and only
            # marks the device clean after a scan that finds nothing: do not wait for it
            self.delays[n] = self.actions.sysfs.read(self.bases[n] + '/writeback_delay')
            if self.delays[n] is not None:
                self._write(n, 'writeback_delay', 0)

    def restore_delay(self):
        for n in self.names:
            if self.delays.get(n) is not None:
                self._write(n, 'writeback_delay', self.delays[n])

    def wait_clean(self):
        deadline = time.time() + self.timeout
        while True:
            kernel = self.actions.fresh()
            left = dict((n, kernel.backing[n]) for n in self.names
                        if holds_dirty(kernel.backing[n]))
            if not left:
                return
            if time.time() >= deadline:
                raise self._timed_out(left)
            time.sleep(self.actions.POLL)

    def _restore_modes(self):
        restored = []
        for n in self.names:
            old = self.before.get(n)
            if not old:
                continue
            self._write(n, 'cache_mode', old['cache_mode'])
            self._write(n, 'writeback_percent', old['writeback_percent'])
            self._write(n, 'writeback_running', 1 if old['writeback_running'] else 0)
            restored.append('/dev/%s: cache_mode=%s writeback_percent=%s'
                            % (n, old['cache_mode'], old['writeback_percent']))
        self.restore_delay()
        return restored

    def _timed_out(self, left):
        """Put the devices back as they were; the failure that says so."""
        restored = self._restore_modes()
        dirty = dict(('/dev/%s' % n, b['dirty_data_bytes']) for n, b in left.items())
        return BcacheFailure(
            'the flush did not finish within flush_timeout=%ss: %d bytes of dirty data are left '
            '(%s). The devices stay attached, with their previous cache mode restored. Re-run '
            'with a larger flush_timeout.'
            % (self.timeout, sum(v or 0 for v in dirty.values()),
               ', '.join('/dev/%s %s dirty, state %s' % (n, left[n]['dirty_data'], left[n]['state'])
                         for n in sorted(left))),
            dirty_bytes_left=dirty, restored=restored, flush_timeout=self.timeout)


class DetachPlanner:
    """Plans ``state: detached`` for the requested backing devices; returns ``data_lost``."""

    def __init__(self, actions, kernel, backing, force=False, flush_timeout=0):
        self.actions = actions
        self.kernel = kernel
        self.backing = backing
        self.force = force
        self.flush_timeout = flush_timeout

    def plan(self):
        flush, plain, missing = self._sort()
        data_lost = []
        if missing:
            lost = [w.lost() for w in missing]
            if not self.force:
                raise Refusal('the cache of %s is missing; detaching them gives up any dirty '
                              'data that only the lost cache held'
                              % ', '.join(d['device'] for d in lost), option='force',
                              details={'waiting_for_cache': lost})
            data_lost = plan_start(self.actions, missing, allowed=True)
        for probe in plain:
            self.actions.detach(probe.path, probe.name, self.flush_timeout)
        if flush:
            if not self.flush_timeout and not self.force:
                raise Refusal('%s hold dirty data; detaching without a flush is refused'
                              % ', '.join(p.path for p in flush), option='flush_timeout',
                              details={'dirty': [p.path for p in flush]})
            FlushDetach(self.actions, [p.name for p in flush], self.flush_timeout).add_steps()
        return data_lost

    def _sort(self):
        """The devices that need a flush, those that only need a detach, those whose cache is
        missing (:class:`~lost_cache.Waiting`); registering unregistered ones on the way."""
        flush, plain, missing = [], [], []
        for probe in self.backing:
            if probe.kind != 'bcache-backing':
                if probe.kind == 'blank':
                    continue
                raise BcacheFailure('%s is not a bcache backing device (it carries %s)'
                                    % (probe.path, probe.signature))
            reg = self.kernel.backing.get(probe.name)
            if reg is None:
                if probe.sb.get('cache_state') in ('detached', 'inconsistent'):
                    continue
                # registering it lets the kernel attach it (or make it wait); decide then.
                self.actions.modprobe(self.kernel)
                self.actions.register(probe.path, probe.name)
                if probe.sb['cset_uuid'] in self.kernel.cache_sets:
                    flush.append(probe)
                else:
                    missing.append(Waiting(probe, probe.sb.get('cache_state')))
            elif reg['attached']:
                (flush if holds_dirty(reg) else plain).append(probe)
            elif reg['waiting_for_cache']:
                missing.append(Waiting(probe, reg['state'], reg))
        return flush, plain, missing
