# -*- coding: utf-8 -*-
# Copyright: (c) 2026, resilience.dr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The train_cache role's decision, from a bcache_info result: which phase of a cache-SSD
replacement this run does, or why it is refused.  The logic is the bcache package's
(plugins/module_utils/bcache/ssd_swap.py); documentation: train_cache_plan.yml."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

from ansible_collections.resilience.dr.plugins.module_utils.bcache import ssd_swap
from ansible_collections.resilience.dr.plugins.plugin_utils.slurped import slurped_json


def _swap_record(slurped):
    """Step 1's record (``{'detached_from': [...]}``); ``{}`` when there is none.  An unreadable
    one stops the run: ignoring it would skip the refusal it exists for."""
    try:
        return slurped_json(slurped) or {}
    except ValueError as exc:
        raise AnsibleFilterError('the planned swap record %s: remove it if step 1 is to be run '
                                 'again' % exc)


def train_cache_plan(info, path, swapped=False, record=None):
    if not isinstance(info, dict):
        raise AnsibleFilterError('train_cache_plan needs a resilience.dr.bcache_info result, got %r'
                                 % (type(info).__name__,))
    detached_from = _swap_record(record).get('detached_from') or []
    return ssd_swap.plan(info, path, bool(swapped), detached_from)


class FilterModule(object):
    def filters(self):
        return {'train_cache_plan': train_cache_plan}
