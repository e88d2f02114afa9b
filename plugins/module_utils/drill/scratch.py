# -*- coding: utf-8 -*-
# Copyright: (c) 2026, resilience.dr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The drill's scratch directory on the host (module dr_drill_scratch).

The drill restores backup content (attacker-controlled) into a directory it owns.  It owns a
directory only when it carries the marker file :data:`MARKER` that it wrote when it created it:

* ``present``: a missing directory is created (0700) with the marker; a marked one, the leftover
  of a drill that crashed before its teardown, is emptied (the marker stays); anything else at
  the path (a directory without the marker, a file, a symlink) is refused and left alone;
* ``absent``: a marked directory is removed with everything below it (symlinks unlinked, never
  followed: safe_fs); an unmarked one is refused; a missing one is nothing to do.

Never ``/`` or a top-level system directory, however spelled.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import stat
import time

from ansible_collections.resilience.dr.plugins.module_utils import safe_fs
from ansible_collections.resilience.dr.plugins.module_utils.paths import normalise, system_dir
from ansible_collections.resilience.dr.plugins.module_utils.runner import ModuleFailure, Refusal

MARKER = '.resilience-dr-drill-scratch'


class ScratchDir:
    """One scratch directory; :meth:`inspect` reads it, :meth:`ensure`/:meth:`remove` act."""

    def __init__(self, path, check_mode=False, clock=time.time):
        self.path = normalise(path)
        self.parent, self.name = os.path.split(self.path)
        self.check_mode = check_mode
        self.clock = clock
        if system_dir(self.path) or not self.name or len(self.path.strip('/').split('/')) < 2:
            raise Refusal('%s is / or a top-level directory; the drill scratch directory must be '
                          'a directory of its own below one (e.g. /var/lib/resilience-dr/drill-scratch)'
                          % path)

    def inspect(self):
        """``missing``, ``ours`` (marked directory) or ``foreign`` with what is there."""
        try:
            st = os.lstat(self.path)
        except OSError:
            return 'missing', None
        if stat.S_ISLNK(st.st_mode):
            return 'foreign', 'a symlink'
        if not stat.S_ISDIR(st.st_mode):
            return 'foreign', 'not a directory'
        fd = safe_fs.open_dir(self.path)
        try:
            marked = safe_fs.read_at(fd, MARKER) is not None
            entries = len(os.listdir(fd))
        finally:
            os.close(fd)
        if not marked:
            return 'foreign', 'a directory without the marker %s (%d entries)' % (MARKER, entries)
        return 'ours', entries - 1

    def _refuse(self, what):
        raise Refusal('%s exists and is %s: it is not a scratch directory this drill created, so '
                      'the drill neither restores into it nor removes it. Point '
                      'train_drill_scratch_dir (option path) at a path that does not exist'
                      % (self.path, what))

    def _clear(self):
        """Remove everything but the marker (so a failure part-way leaves a marked directory)."""
        fd = safe_fs.open_dir(self.path)
        try:
            for name in os.listdir(fd):
                if name != MARKER:
                    safe_fs.remove_at(fd, name)
        finally:
            os.close(fd)

    def ensure(self, run_id=None):
        state, info = self.inspect()
        if state == 'foreign':
            self._refuse(info)
        result = {'path': self.path, 'marker': os.path.join(self.path, MARKER),
                  'state_found': state, 'cleared_entries': 0, 'changed': False}
        if state == 'ours':
            result['cleared_entries'] = info
            result['changed'] = info > 0
            if info and not self.check_mode:
                self._clear()
            return result
        result['changed'] = True
        if self.check_mode:
            return result
        if not os.path.isdir(self.parent):
            os.makedirs(self.parent, 0o755)
        os.mkdir(self.path, 0o700)
        fd = safe_fs.open_dir(self.path)
        try:
            doc = {'created': time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(self.clock())),
                   'by': 'resilience.dr DR drill', 'run': run_id}
            safe_fs.write_atomic_at(fd, MARKER, json.dumps(doc).encode('utf-8'), mode=0o600)
        finally:
            os.close(fd)
        return result

    def remove(self):
        state, info = self.inspect()
        result = {'path': self.path, 'state_found': state, 'changed': state == 'ours'}
        if state == 'foreign':
            self._refuse(info)
        if state == 'ours' and not self.check_mode:
            try:
                self._clear()
                os.unlink(os.path.join(self.path, MARKER))
                os.rmdir(self.path)
            except OSError as exc:
                raise ModuleFailure('removing the scratch directory %s failed part-way: %s; what '
                                    'is left is still marked (unless only the empty directory is '
                                    'left) and the next drill clears it' % (self.path, exc),
                                    changed=True)
        return result
