# -*- coding: utf-8 -*-
# Copyright: (c) 2026, resilience.dr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""``state: present``, the cache set itself: create or register it, bring every backing device
into it.

* A blank cache device becomes a new cache set (``make-bcache -C --cset-uuid <uuid>``: the
  uuid is chosen at plan time, so that check mode shows it); one with a cache superblock is
  registered, never formatted.
* A blank backing device is formatted (``make-bcache -B``); one with a backing superblock is
  registered (after an OS reinstall); both are then attached.
* Anything else on a device is refused unless ``force`` (then ``wipefs -a``).  A device
  attached to another cache set is moved only with ``force`` (flush, detach, attach).  Devices
  waiting for a lost cache are started without it first (``start_without_cache``).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import uuid as uuidlib

from ansible_collections.resilience.dr.plugins.module_utils.bcache.detach import FlushDetach
from ansible_collections.resilience.dr.plugins.module_utils.bcache.lost_cache import (
    Waiting, plan_start)
from ansible_collections.resilience.dr.plugins.module_utils.bcache.preflight import BcacheFailure
from ansible_collections.resilience.dr.plugins.module_utils.runner import Refusal


class CacheSetPlanner:
    """Plans the cache set and the attachment of ``backing``; sets ``target_cset``,
    ``data_lost`` and ``warnings``."""

    def __init__(self, actions, kernel, cache, backing, force=False, start_without_cache=False,
                 flush_timeout=0, new_cset_uuid=None):
        self.actions = actions
        self.kernel = kernel
        self.cache = cache
        self.backing = backing
        self.force = force
        self.start_without_cache = start_without_cache
        self.flush_timeout = flush_timeout
        self.new_cset_uuid = new_cset_uuid
        self.target_cset = None
        self.data_lost = []
        self.warnings = []

    def plan(self):
        # a kernel without bcache fails here, before a refusal could suggest force;
        self.actions.modprobe(self.kernel)
        # refusals first: nothing is touched unless the whole plan is allowed.
        self._refuse_foreign(self.cache, 'cache')
        for probe in self.backing:
            self._refuse_foreign(probe, 'backing')
        if self.cache is not None:
            self._plan_cache(self.cache)
        waiting = []
        to_attach = []
        for probe in self.backing:
            self._plan_backing(probe, waiting, to_attach)
        # a device that waits for a lost cache must run before it can join the new set
        if waiting:
            self.data_lost = plan_start(self.actions, waiting, self.start_without_cache)
        for probe, reg in to_attach:
            self._attach(probe, reg)

    def _plan_cache(self, cache):
        if cache.kind == 'bcache-cache':
            self.target_cset = cache.sb['cset_uuid']
            if cache.name not in self.kernel.caches:
                self.actions.register(cache.path, cache.name)
            return
        if cache.kind != 'blank':
            self.actions.wipe(cache)   # refused before unless force
        self.target_cset = self.new_cset_uuid or str(uuidlib.uuid4())
        self.actions.make_bcache('create cache set %s on %s' % (self.target_cset, cache.path),
                                 '-C', cache.path, '--cset-uuid', self.target_cset)
        self.actions.register(cache.path, cache.name)

    def _plan_backing(self, probe, waiting, to_attach):
        """Create, register or move one backing device; collect what must start or attach."""
        reg = self.kernel.backing.get(probe.name)
        if probe.kind != 'bcache-backing':
            if probe.kind != 'blank':
                self.actions.wipe(probe)
            self.actions.make_bcache('create bcache backing device on %s' % probe.path, '-B',
                                     probe.path)
            self.actions.register(probe.path, probe.name)
            to_attach.append((probe, None))
            return
        sb_cset = probe.sb['cset_uuid']
        sb_state = probe.sb.get('cache_state')
        if reg is None:
            self.actions.register(probe.path, probe.name)
            if (sb_state in ('clean', 'dirty') and sb_cset != self.target_cset
                    and sb_cset not in self.kernel.cache_sets):
                waiting.append(Waiting(probe, sb_state))
            to_attach.append((probe, None))
            return
        if reg['attached']:
            if self.target_cset and reg['cache_set_uuid'] != self.target_cset:
                if not self.force:
                    raise Refusal('%s is attached to cache set %s, not to %s; moving it detaches '
                                  'it from its cache (after a flush)'
                                  % (probe.path, reg['cache_set_uuid'], self.target_cset),
                                  option='force')
                FlushDetach(self.actions, [probe.name], self.flush_timeout).add_steps()
                to_attach.append((probe, reg))
            return
        if reg['waiting_for_cache'] and sb_cset != self.target_cset:
            waiting.append(Waiting(probe, sb_state, reg))
        to_attach.append((probe, reg))

    def _refuse_foreign(self, probe, role):
        if probe is None or probe.kind in ('blank', 'bcache-%s' % role):
            return
        if not self.force:
            raise Refusal('%s carries %s; making it a bcache %s device would destroy it'
                          % (probe.path, probe.signature, role), option='force',
                          details={'device': probe.path, 'signature': probe.blkid})
        if probe.kind.startswith('bcache-') and self.kernel.registered(probe.name):
            raise BcacheFailure(
                '%s is a registered bcache %s device; it cannot be reformatted as a %s device '
                'while registered. Stop it first (state=absent for its set)'
                % (probe.path, probe.kind.split('-')[1], role))
        self.warnings.append('force: %s carries %s and will be wiped'
                             % (probe.path, probe.signature))

    def _attach(self, probe, reg):
        cset = self.target_cset
        if not cset or (reg is not None and reg['attached'] and reg['cache_set_uuid'] == cset):
            return
        actions = self.actions
        name = probe.name
        path = '%s/attach' % actions.sysfs.bcache_dir(name)

        def action():
            cur = actions.fresh().backing.get(name)
            if cur is None:
                raise BcacheFailure('%s is not registered, cannot attach it' % probe.path)
            if cur['cache_set_uuid'] == cset:
                return   # the kernel attached it on registration
            actions.wait(lambda: cset in actions.fresh().cache_sets, actions.REGISTER_TIMEOUT,
                         'cache set %s to register' % cset)
            actions.write(path, cset)
            actions.wait(lambda: actions.fresh().backing[name]['cache_set_uuid'] == cset,
                         actions.REGISTER_TIMEOUT, '%s to attach to %s' % (probe.path, cset))
        actions.plan.add('attach %s to cache set: echo %s > %s' % (probe.path, cset, path),
                         action=action)
