# -*- coding: utf-8 -*-
# Copyright: (c) 2026, resilience.dr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The per-device tunables: ``cache_mode``, ``sequential_cutoff``, ``writeback_percent``.

Each differing value is one ``echo <value> > /sys/block/<dev>/bcache/<attr>`` step; a value
that already matches (compared the way the kernel prints it) plans nothing, so a re-run is
unchanged.  ``writeback_percent`` above the kernel's ``bch_cutoff_writeback`` is clamped to it
with a warning, as the kernel would, so that re-runs stay idempotent.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.resilience.dr.plugins.module_utils.bcache.parsers import hprint


class Tunables:
    """The tunables a task asks for (None: leave alone)."""

    def __init__(self, cache_mode=None, cutoff_bytes=None, writeback_percent=None):
        self.cache_mode = cache_mode
        self.cutoff_bytes = cutoff_bytes
        self.writeback_percent = writeback_percent

    def clamp(self, limit):
        """Clamp ``writeback_percent`` to the kernel's limit; the warning, or None."""
        wbp = self.writeback_percent
        if wbp is None or wbp <= limit:
            return None
        self.writeback_percent = limit
        return ('writeback_percent %d is above the kernel limit bch_cutoff_writeback=%d; the '
                'kernel clamps it, so %d is used' % (wbp, limit, limit))

    def differing(self, registered):
        """``[(attr, value)]`` that differ from a backing device's KernelView entry (None:
        not registered yet, so every requested value is written)."""
        out = []
        reg = registered or {}
        if self.cache_mode and reg.get('cache_mode') != self.cache_mode:
            out.append(('cache_mode', self.cache_mode))
        if (self.cutoff_bytes is not None
                and reg.get('sequential_cutoff') != hprint(self.cutoff_bytes)):
            out.append(('sequential_cutoff', self.cutoff_bytes))
        if (self.writeback_percent is not None
                and reg.get('writeback_percent') != self.writeback_percent):
            out.append(('writeback_percent', self.writeback_percent))
        return out

    def plan(self, actions, kernel, backing):
        """One step per differing value of each backing device."""
        for probe in backing:
            base = actions.sysfs.bcache_dir(probe.name)
            for attr, value in self.differing(kernel.backing.get(probe.name)):
                actions.echo(value, '%s/%s' % (base, attr))

    def predict(self, device_view):
        """The diff view of a backing device after these tunables are applied."""
        if self.cache_mode:
            device_view['cache_mode'] = self.cache_mode
        if self.cutoff_bytes is not None:
            device_view['sequential_cutoff'] = hprint(self.cutoff_bytes)
        if self.writeback_percent is not None:
            device_view['writeback_percent'] = self.writeback_percent
