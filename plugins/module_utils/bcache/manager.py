# -*- coding: utf-8 -*-
# Copyright: (c) 2026, resilience.dr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ``bcache_cache`` module's work: validate, probe, plan one requested state, run, report.

:class:`CacheSetManager` wires the read-only views (:mod:`discovery`) to the planners
(:mod:`cache_set`, :mod:`tunables`, :mod:`udev_rules`, :mod:`detach`, :mod:`teardown`), which
add their steps to one :class:`~runner.Plan` through one :class:`~actions.SysfsActions`.
Check mode reports the plan; otherwise :meth:`~runner.Plan.execute` runs it.  What the module
returns (result, diff before/after, check mode's predicted after) is built in :mod:`views`.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.resilience.dr.plugins.module_utils import blockdev
from ansible_collections.resilience.dr.plugins.module_utils.bcache import views
from ansible_collections.resilience.dr.plugins.module_utils.bcache.actions import SysfsActions
from ansible_collections.resilience.dr.plugins.module_utils.bcache.cache_set import (
    CacheSetPlanner)
from ansible_collections.resilience.dr.plugins.module_utils.bcache.detach import DetachPlanner
from ansible_collections.resilience.dr.plugins.module_utils.bcache.discovery import (
    KernelView, probe_device)
from ansible_collections.resilience.dr.plugins.module_utils.bcache.parsers import (
    parse_size_option)
from ansible_collections.resilience.dr.plugins.module_utils.bcache.preflight import (
    BcacheFailure, refuse_in_use)
from ansible_collections.resilience.dr.plugins.module_utils.bcache.sysfs import Sysfs
from ansible_collections.resilience.dr.plugins.module_utils.bcache.teardown import (
    TeardownPlanner)
from ansible_collections.resilience.dr.plugins.module_utils.bcache.tunables import Tunables
from ansible_collections.resilience.dr.plugins.module_utils.bcache.udev_rules import (
    PersistPlanner, RulesFile)
from ansible_collections.resilience.dr.plugins.module_utils.runner import ModuleFailure, Plan


class CacheSetManager:
    """Plans and executes ``state: present | detached | absent`` for one cache set.

    ``probes`` (``{path: DeviceProbe}``), ``persist_text``, ``new_cset_uuid`` and
    ``kernel_release`` replace what would be read from the system (unit tests).
    """

    def __init__(self, runner, params, check_mode=False, sysfs=None, probes=None,
                 persist_text=None, new_cset_uuid=None, kernel_release=None):
        self.runner = runner
        self.params = params
        self.wanted = params['state']
        self.check_mode = check_mode
        self.plan = Plan()
        self.actions = SysfsActions(runner, sysfs or Sysfs('/'), self.plan, check_mode,
                                    kernel_release)
        self.kernel = KernelView(self.actions.sysfs)
        self.new_cset_uuid = new_cset_uuid
        self.rules = RulesFile(params.get('persist_path'), persist_text,
                               getattr(runner, 'module', None))
        self.probes = probes if probes is not None else {}
        self.cache = None
        self.backing = []
        self.tunables = None
        self.persist = None
        self.target_cset = None
        self.warnings = []
        self.data_lost = []

    @property
    def persist_after(self):
        return self.persist.after if self.persist else None

    # ---- inputs -------------------------------------------------------------------------------

    def validate(self):
        p = self.params
        backing = p.get('backing_devices') or []
        twice = blockdev.same_device_groups(backing)
        if twice:
            raise BcacheFailure('backing_devices lists the same device twice (%s); list each '
                                'device once' % '; '.join(' and '.join(g) for g in twice))
        if p.get('cache_device') and blockdev.same_device_groups([p['cache_device']] + backing):
            raise BcacheFailure('cache_device %s is also listed in backing_devices (the same '
                                'block device); one device cannot be both' % p['cache_device'])
        if self.wanted == 'present' and not p.get('cache_device') and not backing:
            # required_if catches both omitted; this catches an empty list given explicitly
            raise BcacheFailure('state=present needs cache_device and/or backing_devices')
        try:
            cutoff_bytes = parse_size_option(p.get('sequential_cutoff'))
        except ValueError as exc:
            raise BcacheFailure(str(exc))
        wbp = p.get('writeback_percent')
        if wbp is not None and (wbp < 0 or wbp > 100):
            raise BcacheFailure('writeback_percent must be between 0 and 100, not %s' % wbp)
        if p.get('flush_timeout') is not None and p['flush_timeout'] < 0:
            raise BcacheFailure('flush_timeout must be 0 or more seconds')
        self.tunables = Tunables(p.get('cache_mode'), cutoff_bytes, wbp)
        warning = self.tunables.clamp(self.kernel.cutoff_writeback)
        if warning:
            self.warnings.append(warning)

    def probe(self):
        p = self.params
        if p.get('cache_device'):
            self.cache = self._probe(p['cache_device'], 'cache')
        self.backing = [self._probe(b, 'backing') for b in p.get('backing_devices') or []]

    def _probe(self, path, role):
        if path not in self.probes:
            self.probes[path] = probe_device(self.runner, path)
            if self.wanted == 'present' and not self.probes[path].kind.startswith('bcache-'):
                refuse_in_use(path, role)   # make-bcache (and wipefs) would write to it
        return self.probes[path]

    # ---- planning -----------------------------------------------------------------------------

    def build(self):
        self.validate()
        self.probe()
        self.persist = PersistPlanner(self.actions, self.rules, self.backing,
                                      self.tunables.cutoff_bytes,
                                      self.tunables.writeback_percent)
        if self.wanted == 'present':
            self._plan_present()
        elif self.wanted == 'detached':
            self.data_lost = DetachPlanner(self.actions, self.kernel, self.backing,
                                           force=self.params.get('force'),
                                           flush_timeout=self.params.get('flush_timeout')).plan()
        else:
            self._plan_absent()
        return self.plan

    def _plan_present(self):
        p = self.params
        planner = CacheSetPlanner(self.actions, self.kernel, self.cache, self.backing,
                                  force=p.get('force'),
                                  start_without_cache=p.get('start_without_cache'),
                                  flush_timeout=p.get('flush_timeout'),
                                  new_cset_uuid=self.new_cset_uuid)
        try:
            planner.plan()
        finally:
            self.warnings.extend(planner.warnings)
        self.target_cset = planner.target_cset
        self.data_lost = planner.data_lost
        self.tunables.plan(self.actions, self.kernel, self.backing)
        if p.get('persist'):
            self._warn(self.persist.plan())

    def _plan_absent(self):
        planner = TeardownPlanner(self.actions, self.kernel, self.cache, self.backing,
                                  force=self.params.get('force'))
        try:
            ours = planner.plan()
        finally:
            self.warnings.extend(planner.warnings)
        self.data_lost = planner.data_lost
        if ours and self.rules.has_content():
            self._warn(self.persist.plan(drop=True))

    def _warn(self, warning):
        if warning:
            self.warnings.append(warning)

    # ---- running ------------------------------------------------------------------------------

    def run(self, diff=False):
        """Plan, execute unless check mode, and return the module result.

        A failure carries the plan, the steps executed and the commands run, and ``changed``
        when a step had run.
        """
        try:
            plan = self.build()
            before = self.diff_view(self.kernel)
            executed = bool(plan) and not self.check_mode
            if executed:
                plan.execute(self.runner)
        except ModuleFailure as exc:
            exc.changed = exc.changed or bool(self.plan.done)
            exc.details.update(plan=self.plan.as_list(), executed=self.plan.done,
                               commands=self.runner.executed)
            raise
        result = self.result(executed)
        result['changed'] = bool(plan)
        if diff:
            after = self.diff_view(rules='after') if executed else self.predicted(before)
            result['diff'] = {'before': before, 'after': after}
        return result

    # ---- views --------------------------------------------------------------------------------

    def diff_view(self, kernel=None, rules='before'):
        """The diff's view of the managed devices, from ``kernel`` (default: read now), with
        the persistence rules' text ``before`` or ``after`` the plan."""
        text = getattr(self.persist, rules) if self.persist else None
        return views.diff_view(kernel or self.actions.fresh(), self.cache, self.backing, text)

    def predicted(self, before):
        """The diff view check mode expects after the plan."""
        return views.predicted_view(before, self.wanted, self.backing, self.target_cset,
                                    self.tunables, self.persist.after if self.persist else None)

    def result(self, executed):
        """The module result (read again from the kernel after an executed plan)."""
        kernel = self.actions.fresh() if executed else self.kernel
        result = views.result_view(kernel, self.cache, self.backing, self.target_cset, executed)
        result.update(data_lost=self.data_lost, plan=self.plan.as_list(),
                      executed=self.plan.done, commands=self.runner.executed)
        return result
