# -*- coding: utf-8 -*-
# Copyright: (c) 2026, resilience.dr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Checks a restic run makes before anything is written, each refusing with the option that
fixes it: credentials, the ``delete`` guard, a target that is no directory or cannot take the
restore."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.resilience.dr.plugins.module_utils import safe_fs
from ansible_collections.resilience.dr.plugins.module_utils.paths import system_dir
from ansible_collections.resilience.dr.plugins.module_utils.restic.target import (
    free_bytes, staging_space_note)
from ansible_collections.resilience.dr.plugins.module_utils.runner import Refusal


def check_credentials(password, password_file, env):
    """Refuse, before restic runs, a missing password or an unreadable password_file.

    The path of the password file is not a secret: the message names it.
    """
    keys = ('RESTIC_PASSWORD', 'RESTIC_PASSWORD_FILE', 'RESTIC_PASSWORD_COMMAND')
    if password is None and not password_file and not any(k in env for k in keys):
        raise Refusal('no repository password given: set password or password_file '
                      '(or RESTIC_PASSWORD_FILE in environment)', option='password_file')
    if password is None and password_file:
        if not os.path.exists(password_file):
            raise Refusal('password_file %s does not exist: create it (on the train server it '
                          'comes from the vault) or point password_file at the file that holds '
                          'the repository password' % password_file, option='password_file')
        if not os.path.isfile(password_file) or not os.access(password_file, os.R_OK):
            raise Refusal('password_file %s is not a readable file (uid %d): fix its permissions '
                          'or run with become' % (password_file, os.geteuid()),
                          option='password_file')


def check_delete_target(target):
    """Refuse delete=true on / or a top-level system directory, however it is spelled."""
    found = system_dir(target)
    if found:
        raise Refusal('delete=true with target %s (resolves to %s, a system directory) would '
                      'remove everything there that the snapshot lacks; restore into a '
                      'dedicated directory below it, or set delete=false' % (target, found),
                      option='delete')


def check_target_is_dir(target):
    """Refuse a target that exists and is not a directory (nothing is replaced by one)."""
    if os.path.lexists(target) and not os.path.isdir(target):
        raise Refusal('target %s exists and is not a directory; choose a directory' % target)


def check_writable(target, method, need_bytes, version):
    """Refuse, before anything is written (also in check mode), a target that cannot take the
    restore: read-only or unwritable, or (staging) too small for the staged copy."""
    bad, why = safe_fs.is_read_only(target)
    if bad:
        raise Refusal('cannot restore into target %s: %s; nothing was written. Remount it '
                      'read-write (mount -o remount,rw), run as a user that may write it, or '
                      'choose another target' % (target, why), option='target')
    if method == 'staging' and need_bytes is not None:
        free = free_bytes(target)
        if free is not None and need_bytes > free:
            raise Refusal('not enough space for the restore into %s: %s; nothing was written'
                          % (target, staging_space_note(version, need_bytes, free)),
                          option='target')
