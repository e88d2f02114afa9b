# -*- coding: utf-8 -*-
# Copyright: (c) 2026, resilience.dr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The BTRFS corruption ladder for roles/train_btrfs_repair: thin wrappers over
plugins/module_utils/btrfs/ladder.py (the planner, unit-tested there).  Documentation of each
filter: the ``<filter>.yml`` files next to this one."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError
from ansible_collections.resilience.dr.plugins.module_utils.btrfs import ladder
from ansible_collections.resilience.dr.plugins.plugin_utils.slurped import slurped_json


def _skipped(value):
    """A registered result of a skipped task (or nothing) is None to the planner."""
    if not value or not isinstance(value, dict) or value.get('skipped'):
        return None
    return value


def btrfs_ladder(mount, scrub=None, quarantine=None, restored=None, check=None, repair=None,
                 options=None):
    if not isinstance(mount, dict):
        raise AnsibleFilterError('btrfs_ladder needs the btrfs_rescue result, got %r' % (mount,))
    return ladder.plan_ladder(_skipped(mount) or {}, _skipped(scrub), _skipped(quarantine),
                              restored or [], _skipped(check), _skipped(repair), options or {})


def btrfs_ladder_report(plan):
    return ladder.report_entries(plan)


def btrfs_damaged_groups(paths, source_template, mountpoint):
    """``[{top, source_path, target, include}]``: one surgical restore per top directory."""
    out = []
    for top, include in sorted(ladder.group_by_top(paths or []).items()):
        out.append({'top': top, 'source_path': source_template.replace('{top}', top),
                    'target': mountpoint.rstrip('/') + ('/' + top if top else ''),
                    'include': include,
                    'paths': [(top + p) if top else p.lstrip('/') for p in include]})
    return out


def _read_record(slurped):
    """The ladder record; None when the file is missing or unreadable (then a new episode
    begins, which only costs a scrub)."""
    try:
        return slurped_json(slurped)
    except ValueError:
        return None


def btrfs_scrub_episode(slurped, last_scrub, max_age):
    """``{new, since, record}``: see ladder.scrub_episode.  ``last_scrub`` is a check-mode
    ``btrfs_scrub`` result read with ``max_age: 0``, so its ``threshold`` is the host's clock."""
    if not isinstance(last_scrub, dict) or not last_scrub.get('threshold'):
        raise AnsibleFilterError('btrfs_scrub_episode needs a btrfs_scrub result read with '
                                 'max_age 0, got %r' % (last_scrub,))
    previous = last_scrub.get('previous') or {}
    try:
        return ladder.scrub_episode(_read_record(slurped), last_scrub.get('uuid'),
                                    previous.get('finished'), last_scrub['threshold'], max_age)
    except ValueError as exc:
        raise AnsibleFilterError('train_btrfs_repair_scrub_max_age: %s' % exc)


class FilterModule(object):
    def filters(self):
        return {
            'btrfs_ladder': btrfs_ladder,
            'btrfs_ladder_report': btrfs_ladder_report,
            'btrfs_damaged_groups': btrfs_damaged_groups,
            'btrfs_scrub_episode': btrfs_scrub_episode,
        }
