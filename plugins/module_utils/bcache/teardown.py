# -*- coding: utf-8 -*-
# Copyright: (c) 2026, resilience.dr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""``state: absent``: stop the backing devices, unregister the cache set, wipe the superblocks.

Refused without ``force`` (the data on the backing devices becomes unreachable), and while a
``/dev/bcacheN`` is mounted or held whatever ``force`` says.  Wiping is ``wipefs -a`` only, so a
kernel without bcache can still tear down superblocks it never registered.  Devices that carry
something other than bcache are left alone with a warning.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.resilience.dr.plugins.module_utils.bcache.discovery import holds_dirty
from ansible_collections.resilience.dr.plugins.module_utils.bcache.preflight import (
    refuse_bcache_in_use)
from ansible_collections.resilience.dr.plugins.module_utils.runner import Refusal


class TeardownPlanner:
    """Plans ``state: absent``; ``data_lost`` and ``warnings`` say what it gives up."""

    def __init__(self, actions, kernel, cache, backing, force=False):
        self.actions = actions
        self.kernel = kernel
        self.cache = cache
        self.backing = backing
        self.force = force
        self.data_lost = []
        self.warnings = []

    def plan(self):
        """Add the steps; True when any requested device carries bcache (there is work)."""
        devices = ([self.cache] if self.cache is not None else []) + self.backing
        ours = [p for p in devices if p.kind.startswith('bcache-')]
        for p in devices:
            if p.kind == 'other':
                self.warnings.append('%s carries %s, not bcache; left alone'
                                     % (p.path, p.signature))
        if not ours:
            return False
        if not self.force:
            raise Refusal('state=absent stops %s and wipes their bcache superblocks (the data on '
                          'the backing devices becomes unreachable)'
                          % ', '.join(p.path for p in ours), option='force')
        for probe in self.backing:
            self._stop(probe)
        cset = None
        if self.cache is not None and self.cache.name in self.kernel.caches:
            cset = self.kernel.caches[self.cache.name]['cache_set_uuid']
        if cset:
            self._unregister(cset)
        for probe in ours:
            self.actions.wipe(probe, 'wipe the bcache superblock of %s' % probe.path)
        return True

    def _stop(self, probe):
        reg = self.kernel.backing.get(probe.name)
        if reg is None:
            return
        if reg['bcache_device']:
            refuse_bcache_in_use(reg['bcache_device'], probe.path)
        if holds_dirty(reg):
            self.data_lost.append({'device': probe.path,
                                   'dirty_data_lost_bytes': reg['dirty_data_bytes']})
        actions = self.actions
        name = probe.name
        path = '%s/stop' % actions.sysfs.bcache_dir(name)

        def stop():
            if name not in actions.fresh().backing:
                return
            actions.write(path, 1)
            actions.wait(lambda: name not in actions.fresh().backing, actions.REGISTER_TIMEOUT,
                         '/dev/%s to stop' % name)
        actions.plan.add('stop %s: echo 1 > %s' % (probe.path, path), action=stop,
                         destructive=True)

    def _unregister(self, cset):
        actions = self.actions
        path = '/sys/fs/bcache/%s/unregister' % cset

        def unregister():
            if cset not in actions.fresh().cache_sets:
                return
            actions.write(path, 1)
            actions.wait(lambda: cset not in actions.fresh().cache_sets,
                         actions.REGISTER_TIMEOUT, 'cache set %s to unregister' % cset)
        actions.plan.add('unregister cache set %s: echo 1 > %s' % (cset, path),
                         action=unregister, destructive=True)
