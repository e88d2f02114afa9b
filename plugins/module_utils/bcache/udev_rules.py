# -*- coding: utf-8 -*-
# Copyright: (c) 2026, resilience.dr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""``persist: true``: udev rules that re-apply the tunables the kernel forgets.

``cache_mode`` is stored in the backing superblock; ``sequential_cutoff`` and
``writeback_percent`` are not (they return to 4.0M and 10 on every registration).  One rule per
backing device, matched by its bcache UUID (``ENV{ID_FS_UUID}``, not the unstable ``sdX``
name), writes them into ``/sys$devpath/bcache/`` when the device registers.  Lines of other
devices in the same file are kept; the file is replaced with ``AnsibleModule.atomic_move``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
import tempfile

from ansible_collections.resilience.dr.plugins.module_utils.bcache.discovery import (
    read_superblock)

DEFAULT_PERSIST_PATH = '/etc/udev/rules.d/70-resilience-bcache.rules'
RULE_HEADER = ('# Managed by resilience.dr.bcache_cache (persist: true). Re-applies the bcache\n'
               '# tunables the kernel does not store on disk each time a backing device is\n'
               '# registered. Do not edit lines by hand; re-run the module instead.\n')


def udev_rule(dev_uuid, cutoff_bytes, writeback_percent):
    """One udev rule line that re-applies the tunables when the backing device registers."""
    writes = []
    if cutoff_bytes is not None:
        writes.append('echo %d > $$d/sequential_cutoff' % cutoff_bytes)
    if writeback_percent is not None:
        writes.append('echo %d > $$d/writeback_percent' % writeback_percent)
    script = ('d=/sys$devpath/bcache; for i in 1 2 3 4 5 6 7 8 9 10; do '
              '[ -e $$d/writeback_percent ] && break; sleep 1; done; %s' % '; '.join(writes))
    return ('ACTION=="add|change", SUBSYSTEM=="block", ENV{ID_FS_TYPE}=="bcache", '
            'ENV{ID_FS_UUID}=="%s", RUN+="/bin/sh -c \'%s\'"' % (dev_uuid, script))


def render_rules(existing_text, rules_by_uuid, drop_uuids=()):
    """Merge ``rules_by_uuid`` into an existing rules file; keep other devices' lines."""
    keep = []
    for line in (existing_text or '').splitlines():
        if not line.strip() or line.startswith('#'):
            continue
        m = re.search(r'ENV\{ID_FS_UUID\}=="([^"]+)"', line)
        if m and (m.group(1) in rules_by_uuid or m.group(1) in drop_uuids):
            continue
        keep.append(line)
    lines = keep + [rules_by_uuid[k] for k in sorted(rules_by_uuid)]
    if not lines:
        return ''
    return RULE_HEADER + '\n'.join(lines) + '\n'


class RulesFile:
    """The rules file: read once (or given, in unit tests), replaced atomically."""

    def __init__(self, path, text=None, module=None):
        self.path = path or DEFAULT_PERSIST_PATH
        self._text = text
        self.module = module

    def has_content(self):
        """The file exists (or test text was given): ``state: absent`` must clean it."""
        return bool(self._text) or os.path.exists(self.path)

    def read(self):
        if self._text is None:
            try:
                with open(self.path) as handle:
                    self._text = handle.read()
            except (IOError, OSError):
                self._text = ''
        return self._text

    def write(self, text):
        """Replace the file with ``text`` (``AnsibleModule.atomic_move``); remove it if empty."""
        directory = os.path.dirname(self.path)
        if not os.path.isdir(directory):
            os.makedirs(directory)
        if text:
            fd, tmp = tempfile.mkstemp(dir=directory, prefix='.%s.' % os.path.basename(self.path),
                                       suffix='.tmp')
            with os.fdopen(fd, 'w') as handle:
                handle.write(text)
            self.module.atomic_move(tmp, self.path)
        elif os.path.lexists(self.path):
            os.unlink(self.path)


class PersistPlanner:
    """Plans the rules file's new text; ``before`` and ``after`` are its text for the diff."""

    def __init__(self, actions, rules_file, backing, cutoff_bytes, writeback_percent):
        self.actions = actions
        self.rules = rules_file
        self.backing = backing
        self.cutoff_bytes = cutoff_bytes
        self.writeback_percent = writeback_percent
        self.before = None
        self.after = None

    def has_tunables(self):
        return self.cutoff_bytes is not None or self.writeback_percent is not None

    def desired(self, uuids):
        if not self.has_tunables():
            return {}
        return dict((u, udev_rule(u, self.cutoff_bytes, self.writeback_percent)) for u in uuids)

    def render(self, current, uuids, drop):
        if drop:
            return render_rules(current, {}, drop_uuids=uuids)
        return render_rules(current, self.desired(uuids))

    def plan(self, drop=False):
        """Add the step that writes (or, with ``drop``, cleans) the rules; return a warning."""
        if not self.has_tunables() and not drop:
            return ('persist: true without sequential_cutoff or writeback_percent has nothing '
                    'to persist')
        current = self.rules.read()
        known = [p.sb['dev_uuid'] for p in self.backing if p.kind == 'bcache-backing']
        # a device make-bcache formats in this run has its uuid only once it is formatted
        new = [p for p in self.backing if p.kind != 'bcache-backing']
        self.before = current
        self.after = self.render(current, known, drop)
        if self.after == current and not new:
            return None
        runner = self.actions.runner
        udevadm = runner.which('udevadm', required=False) or 'udevadm'

        def action():
            uuids = list(known)
            for p in new:
                sb = read_superblock(runner, os.path.realpath(p.path))
                if sb:
                    uuids.append(sb['dev_uuid'])
            self.after = self.render(current, uuids, drop)
            if self.after == current:
                return
            self.rules.write(self.after)
            runner.run([udevadm, 'control', '--reload'], check_rc=False)
        what = 'remove the boot-time tunables of these devices from' if drop else \
            'write the udev rule that re-applies sequential_cutoff/writeback_percent at boot to'
        self.actions.plan.add('%s %s (then udevadm control --reload)' % (what, self.rules.path),
                              action=action)
        return None
