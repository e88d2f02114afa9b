# -*- coding: utf-8 -*-
# Copyright: (c) 2026, resilience.dr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Path checks that must see through spelling: ``/.``, ``/tmp/..``, ``//`` and symlinks.

A destructive option (``delete``) is guarded by comparing *resolved* paths, never the string
the operator typed: the string is normalised (``//`` and ``.``/``..`` components collapsed)
and resolved (symlinks followed, as the kernel would when restic writes there), and both
forms are checked.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re

# The top-level directories of a Linux system (FHS plus usr-merge links and mount roots):
# deleting "what the snapshot lacks" from any of them removes the system or other data.
SYSTEM_DIRS = frozenset([
    'bin', 'boot', 'dev', 'etc', 'home', 'lib', 'lib32', 'lib64', 'libx32', 'lost+found',
    'media', 'mnt', 'opt', 'proc', 'root', 'run', 'sbin', 'snap', 'srv', 'sys', 'tmp', 'usr',
    'var',
])


def normalise(path):
    """Absolute, with ``//``, ``.`` and ``..`` collapsed (no symlinks resolved)."""
    path = os.path.normpath(os.path.abspath(path or '/'))
    return re.sub(r'/+', '/', path)


def resolved(path):
    """The path the kernel reaches: every existing symlink on the way followed."""
    return normalise(os.path.realpath(path or '/'))


def system_dir(path):
    """The protected directory ``path`` names (normalised or resolved), or None."""
    for form in (normalise(path), resolved(path)):
        if form == '/':
            return form
        parts = form.strip('/').split('/')
        if len(parts) == 1 and parts[0] in SYSTEM_DIRS:
            return form
    return None
