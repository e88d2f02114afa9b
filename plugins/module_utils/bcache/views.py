# -*- coding: utf-8 -*-
# Copyright: (c) 2026, resilience.dr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What ``bcache_cache`` returns: the result body, and the diff's before and after.

Pure functions over a :class:`~discovery.KernelView` and the requested devices'
:class:`~discovery.DeviceProbe` objects.  The diff view holds what an operator compares:
attachment, state, cache mode, tunables and the persistence rules' text.  Check mode cannot read
the after, so :func:`predicted_view` derives it from the before and the request.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

# diff view key <- KernelView backing entry key
DIFF_FIELDS = (('bcache_device', 'bcache_device'), ('attached_to', 'cache_set_uuid'),
               ('state', 'state'), ('running', 'running'), ('cache_mode', 'cache_mode'),
               ('sequential_cutoff', 'sequential_cutoff'),
               ('writeback_percent', 'writeback_percent'))


def cache_set_of(kernel, cache):
    """The cache set uuid the kernel shows for the cache device's probe, or None."""
    if cache is not None and cache.name in kernel.caches:
        return kernel.caches[cache.name]['cache_set_uuid']
    return None


def diff_view(kernel, cache, backing, persist_rules=None):
    """Attachment, mode and tunables of the managed devices (the diff's before or after)."""
    out = {'cache_set_uuid': cache_set_of(kernel, cache), 'backing_devices': {}}
    for probe in backing:
        reg = kernel.backing.get(probe.name)
        if reg is None:
            out['backing_devices'][probe.path] = {'registered': False, 'content': probe.kind}
            continue
        view = {'registered': True}
        view.update((k, reg[v]) for k, v in DIFF_FIELDS)
        out['backing_devices'][probe.path] = view
    if persist_rules is not None:
        out['persist_rules'] = persist_rules
    return out


def predicted_view(before, wanted, backing, target_cset, tunables, persist_rules=None):
    """The diff view after a plan for ``wanted`` (present, detached, absent) has run."""
    after = copy.deepcopy(before)
    if wanted == 'present':
        if target_cset:
            after['cache_set_uuid'] = target_cset
        for probe in backing:
            dev = after['backing_devices'][probe.path]
            dev['registered'] = True
            dev.pop('content', None)
            if target_cset:
                dev['attached_to'] = target_cset
            tunables.predict(dev)
    elif wanted == 'detached':
        for dev in after['backing_devices'].values():
            if dev.get('registered'):
                dev['attached_to'] = None
                if dev.get('state') in ('clean', 'dirty'):
                    dev['state'] = 'no cache'
    else:
        after = {'cache_set_uuid': None,
                 'backing_devices': dict((p.path, {'registered': False, 'content': 'blank'})
                                         for p in backing if p.kind != 'other')}
    if persist_rules is not None:
        after['persist_rules'] = persist_rules
    return after


def result_view(kernel, cache, backing, target_cset, executed):
    """``cache_set_uuid``, ``cache_device``, ``backing_devices`` and ``devices_found``."""
    cset = target_cset
    if executed and cache is not None and cache.name in kernel.caches:
        cset = cache_set_of(kernel, cache)
    devices = []
    for probe in backing:
        reg = kernel.backing.get(probe.name)
        if reg is None:
            devices.append({'device': probe.path, 'name': probe.name, 'registered': False,
                            'content': probe.kind, 'bcache_device': None, 'state': None,
                            'dirty_data_bytes': None})
            continue
        entry = dict(reg)
        entry['device'] = probe.path
        entry['registered'] = True
        devices.append(entry)
    return {
        'cache_set_uuid': cset,
        'cache_device': cache.path if cache is not None else None,
        'backing_devices': devices,
        'devices_found': [p.as_dict() for p in ([cache] if cache else []) + backing],
    }
