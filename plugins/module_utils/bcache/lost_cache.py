# -*- coding: utf-8 -*-
# Copyright: (c) 2026, resilience.dr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Backing devices that wait for a cache set that is gone: what is lost, and starting them.

The kernel does not start a backing device whose superblock names a cache set that is not
registered.  Writing 1 to ``running`` starts it without the cache and marks the superblock
``inconsistent``; any dirty data that only the lost cache held is gone.  The superblock's
cache state is the only record of whether there was any: ``clean`` means none (0 bytes),
``dirty`` means some (the amount is ``unknown`` unless the kernel still counts it).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.resilience.dr.plugins.module_utils.runner import Refusal


class Waiting:
    """One backing device waiting for its lost cache: its probe, what its superblock recorded
    (``sb_state``) and its :class:`~discovery.KernelView` entry (None while unregistered)."""

    def __init__(self, probe, sb_state, registered=None):
        self.probe = probe
        self.sb_state = sb_state
        self.registered = registered

    def lost(self):
        """The ``data_lost`` entry starting or detaching it without its cache would cause."""
        known = self.registered.get('dirty_data_bytes') if self.registered else None
        if self.sb_state == 'clean':
            amount = 0
        else:
            amount = known or 'unknown'
        return {'device': self.probe.path, 'missing_cache_set_uuid': self.probe.sb['cset_uuid'],
                'superblock_state': self.sb_state, 'dirty_data_lost_bytes': amount}


def plan_start(actions, waiting, allowed):
    """Steps that start every ``waiting`` device without its cache; the ``data_lost`` entries.

    Refused (naming ``start_without_cache``) unless ``allowed``.
    """
    lost = [w.lost() for w in waiting]
    if not allowed:
        dirty = [d['device'] for d in lost if d['superblock_state'] != 'clean']
        raise Refusal(
            '%s wait for their cache set (%s), which is not present; starting them without '
            'it discards any dirty data that only the lost cache held (%s)'
            % (', '.join(d['device'] for d in lost),
               ', '.join(sorted(set(d['missing_cache_set_uuid'] for d in lost))),
               'superblocks say dirty: %s' % ', '.join(dirty) if dirty
               else 'all superblocks say clean'),
            option='start_without_cache', details={'waiting_for_cache': lost})
    for w in waiting:
        _start_step(actions, w.probe.path, w.probe.name)
    return lost


def _start_step(actions, path, name):
    running = '%s/running' % actions.sysfs.bcache_dir(name)

    def action():
        actions.wait(lambda: name in actions.fresh().backing, actions.REGISTER_TIMEOUT,
                     '%s to register' % path)
        cur = actions.fresh().backing[name]
        if cur['running'] or cur['attached']:
            return
        actions.write(running, 1)
        actions.wait(lambda: actions.fresh().backing[name]['bcache_device'] is not None,
                     actions.REGISTER_TIMEOUT, '%s to start' % path)
    actions.plan.add('start %s without its missing cache (dirty data on the lost cache is '
                     'gone): echo 1 > %s' % (path, running), action=action, destructive=True)
