# -*- coding: utf-8 -*-
# Copyright: (c) 2026, resilience.dr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which phase of a cache-SSD replacement a run does, from a ``bcache_info`` result (pure).

Two paths, chosen by the operator and checked against what the kernel shows:

* ``planned``: the SSD still works.  Step 1 (``swapped`` false) writes through, flushes and
  detaches the HDDs (``detach``); the operator then swaps the SSD; step 2 (``swapped`` true)
  builds the new cache set (``replace``).  Refused whenever an HDD waits for a cache set that
  is not there: the SSD is gone (or was pulled before the detach) and nothing can be flushed.
* ``unplanned``: the SSD is dead.  The HDDs that wait for it are started without it, and the
  new cache set is built (``replace``).  Whether the lost cache held dirty data is only in the
  superblocks (``superblock_state``); :func:`lost_dirty` lists those devices.

The ``train_cache_plan`` filter (plugins/filter/train_cache.py) is this module's ``plan``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

PATHS = ('planned', 'unplanned')


def lost_dirty(info):
    """The backing devices (``bcache_info`` entries) that wait for a lost cache whose
    superblock recorded dirty data."""
    return [d for d in info.get('backing_devices') or []
            if d.get('waiting_for_cache') and d.get('superblock_state') == 'dirty']


def plan(info, path, swapped=False, detached_from=None):
    """``{path, phase, refusal, waiting, attached, attached_cache_sets, missing_cache_sets,
    cache_sets, lost_dirty, summary}``.

    ``detached_from``: the cache sets step 1 detached the HDDs from (its record on the host).
    Step 2 is refused while one of them is still registered: the failing SSD is still in, and
    building "the new cache" would re-attach the HDDs to it.

    ``refusal`` is the message to stop with (nothing changed), or ``''``.
    """
    info = info or {}
    backing = info.get('backing_devices') or []
    waiting = [d['device'] for d in backing if d.get('waiting_for_cache')]
    attached = [d['device'] for d in backing if d.get('attached')]
    missing = sorted(set(d.get('missing_cache_set_uuid') for d in backing
                         if d.get('waiting_for_cache') and d.get('missing_cache_set_uuid')))
    attached_sets = sorted(set(d.get('cache_set_uuid') for d in backing
                               if d.get('attached') and d.get('cache_set_uuid')))
    cache_sets = [c.get('uuid') for c in info.get('cache_sets') or []]
    result = {'path': path, 'waiting': waiting, 'attached': attached,
              'attached_cache_sets': attached_sets,
              'missing_cache_sets': missing, 'lost_dirty': lost_dirty(info),
              'cache_sets': cache_sets, 'refusal': '', 'phase': None, 'summary': ''}
    if path not in PATHS:
        result['refusal'] = (
            'Set train_cache_ssd_path=planned (the SSD is failing but still works: flush, '
            'detach, swap, new cache) or train_cache_ssd_path=unplanned (the SSD is dead: start '
            'the HDDs without it, new cache), not %r. Nothing was changed.' % (path,))
        return result
    if path == 'planned' and waiting:
        result['refusal'] = (
            'The HDDs %s wait for cache set %s, which is not present: the SSD is gone%s, so '
            'nothing can be flushed from it. Nothing was changed. Run with '
            'train_cache_ssd_path=unplanned (when its superblocks say the cache was dirty, that '
            'also needs train_storage_accept_dirty_cache_loss=true).'
            % (', '.join(waiting), ', '.join(missing) or 'unknown',
               ' (or was swapped before the HDDs were detached from it)' if swapped else ''))
        return result
    still_in = [u for u in (detached_from or []) if u in cache_sets]
    if path == 'planned' and swapped and still_in:
        result['refusal'] = (
            'Cache set %s, which step 1 detached the HDDs from, is still registered: the failing '
            'SSD has not been swapped, and step 2 would attach the HDDs to it again. Nothing was '
            'changed. Power off, replace the SSD, boot, then run again with '
            'train_cache_ssd_path=planned train_cache_ssd_swapped=true.' % ', '.join(still_in))
        return result
    if path == 'planned' and not swapped:
        result['phase'] = 'detach'
        result['summary'] = ('step 1 of 2: writethrough, flush until clean, detach %s from the '
                             'failing SSD; then swap it' % (', '.join(attached) or 'nothing'))
    else:
        result['phase'] = 'replace'
        if waiting:
            result['summary'] = ('start %s without the lost cache%s, then a new cache set, '
                                 'attach, mode and tunables'
                                 % (', '.join(waiting),
                                    ' (its superblocks say it held dirty data: %s)'
                                    % ', '.join(d['device'] for d in result['lost_dirty'])
                                    if result['lost_dirty'] else ' (it was clean)'))
        else:
            result['summary'] = 'a new cache set where there is none, attach, mode and tunables'
    return result
