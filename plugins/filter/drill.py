# -*- coding: utf-8 -*-
# Copyright: (c) 2026, resilience.dr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The DR drill's controller-side computations (logic in module_utils/drill, unit-tested).

Documentation of each filter: the ``<filter>.yml`` files next to this one.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError
from ansible_collections.resilience.dr.plugins.module_utils.drill.results import train_metrics
from ansible_collections.resilience.dr.plugins.module_utils.drill.trend import (
    next_subset, parse_trend)


def drill_next_subset(trend_text, system, target, total):
    """The ``n/t`` of ``restic check --read-data-subset`` for this drill of ``system/target``."""
    try:
        return next_subset(parse_trend(trend_text or ''), system, target, total)
    except (TypeError, ValueError) as exc:
        raise AnsibleFilterError('drill_next_subset: %s' % exc)


def drill_train_metrics(restore, manifest=None, stats=None, subset=None):
    """The metrics of a train drill (throughput, extrapolated full-restore time, counts)."""
    try:
        return train_metrics(restore, manifest, stats, subset)
    except (TypeError, ValueError, AttributeError) as exc:
        raise AnsibleFilterError('drill_train_metrics: %s' % exc)


def drill_report_entries(checks, prefix='drill'):
    """Drill checks as the recovery report's verifications ({check, ok, detail})."""
    try:
        return [{'check': '%s %s' % (prefix, c.get('name')), 'ok': c.get('status') == 'pass',
                 'detail': '%s: %s' % (c.get('status'), c.get('detail'))} for c in checks or []]
    except AttributeError as exc:
        raise AnsibleFilterError('drill_report_entries: a check is not a mapping (%s)' % exc)


class FilterModule:
    def filters(self):
        return {
            'drill_next_subset': drill_next_subset,
            'drill_train_metrics': drill_train_metrics,
            'drill_report_entries': drill_report_entries,
        }
