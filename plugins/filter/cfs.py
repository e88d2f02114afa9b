# -*- coding: utf-8 -*-
# Copyright: (c) 2026, resilience.dr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters the ClaudeFS roles use instead of multi-line Jinja.

cfs_plan_line(entry)            one force-leader plan entry as a sentence
cfs_short_of(shards, factor)    shards (site/shard) with fewer than ``factor`` reachable members
                                or without a healthy leader
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


def cfs_plan_line(entry):
    """``shard site-a/1: rebuild from a1 (why) - up to 3 committed entries lost; fence a2, a3``."""
    return 'shard %s/%s: rebuild from %s (%s) - up to %s committed entries lost; fence %s' % (
        entry.get('site'), entry.get('shard'), entry.get('chosen'), entry.get('reason'),
        entry.get('predicted_loss_entries'), ', '.join(entry.get('fenced_members') or []) or
        'nobody')


def cfs_short_of(shards, factor=3):
    """Shards of a cfs_info/cfs_raft result that are not healthy or lack reachable members."""
    out = []
    for v in shards or []:
        reachable = sum(1 for m in v.get('members', []) if m.get('reachable'))
        if v.get('condition') != 'healthy' or reachable < int(factor):
            out.append('%s/%s (%s, %d of %d reachable)' % (
                v.get('site'), v.get('shard'), v.get('condition'), reachable, int(factor)))
    return out


class FilterModule(object):
    def filters(self):
        return {'cfs_plan_line': cfs_plan_line, 'cfs_short_of': cfs_short_of}
