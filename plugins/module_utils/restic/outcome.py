# -*- coding: utf-8 -*-
# Copyright: (c) 2026, resilience.dr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a failed restore leaves behind, said truthfully.

:class:`Progress` is filled in while a restore writes (target created, staging directory,
old state record removed, restic writing in place, entries merged, extras deleted); when
anything fails, :func:`clean_up` removes what holds no data and :func:`failure` turns the
exception and the progress into a :class:`RestoreFailed` whose message names the cause, the
state of the target, what was cleaned up and what to do next, and whose ``changed`` is true
whenever anything was written.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import os

from ansible_collections.resilience.dr.plugins.module_utils.runner import (
    CommandError, ModuleFailure, Refusal)
from ansible_collections.resilience.dr.plugins.module_utils.restic.compare import is_empty_dir
from ansible_collections.resilience.dr.plugins.module_utils.restic.target import remove_staging

UNCHANGED = 'unchanged'
PARTIAL = 'partial'
RESTORED_UNRECORDED = 'restored-unrecorded'
RESTORED_DIFFERS = 'restored-differs'


class RestoreFailed(ModuleFailure):
    """A restore failed after it may have written: fail_json with these fields."""

    def __init__(self, message, changed, fields):
        self.fields = fields
        super(RestoreFailed, self).__init__(message, details=fields, changed=changed)


class VerifyMismatch(ModuleFailure):
    """The target differs from the snapshot after the restore."""


class Progress:
    """What this run has written so far (see module docstring)."""

    def __init__(self, target):
        self.target = target
        self.created = None          # the top-most directory this run created, if any
        self.staging = None          # the staging directory while it exists
        self.state_removed = False
        self.in_place = False        # restic (native) was started on the target itself
        self.empty_before = False    # the target held nothing before restic started
        self.merged = []             # staged paths moved into the target
        self.merge_started = False
        self.deleted = False
        self.restored = False        # all data in place (verification or the record failed)

    def wrote_data(self):
        return bool(self.state_removed or self.in_place or self.merged or self.merge_started
                    or self.deleted or self.restored)

    @property
    def wrote(self):
        return self.wrote_data() or bool(self.created and os.path.lexists(self.created))

    def target_state(self):
        if self.restored:
            return RESTORED_UNRECORDED
        if self.in_place or self.merged or self.merge_started or self.deleted:
            return PARTIAL
        return UNCHANGED


def clean_up(progress, reserved=()):
    """Undo what a failed run left that holds no data: its staging directory, and the
    directories it created when nothing was written into them.  Returns a sentence on the
    staging directory (removed, or left for the next run), or None."""
    target = progress.target
    note = None
    if progress.staging and os.path.lexists(progress.staging):
        try:
            remove_staging(target)
            note = 'The staging directory %s was removed.' % progress.staging
            progress.staging = None
        except OSError as err:
            note = ('The staging directory %s is left behind (%s); the next run removes '
                    'it and starts again.' % (progress.staging, err))
    if progress.in_place and progress.empty_before and is_empty_dir(target, reserved):
        progress.in_place = False  # restic failed before it wrote anything
    if progress.created and not progress.wrote_data():
        path = target
        try:
            while True:  # the directories this run created, deepest first
                os.rmdir(path)
                if path == progress.created:
                    break
                path = os.path.dirname(path)
        except OSError:
            pass
    return note


def error_kind(exc):
    kind = getattr(exc, 'kind', None)
    if kind:
        return kind
    code = getattr(exc, 'errno', None)
    text = str(exc).lower()
    if code == errno.ENOSPC or 'no space left on device' in text:
        return 'no_space'
    if code == errno.EROFS or 'read-only file system' in text:
        return 'read_only'
    if code in (errno.EACCES, errno.EPERM):
        return 'permission'
    if isinstance(exc, VerifyMismatch):
        return 'verify_mismatch'
    return None


def describe_state(progress, state_file, verify_failed=False):
    """A sentence on the target's state after a failure, and its short name."""
    target = progress.target
    state = progress.target_state()
    if verify_failed:
        return RESTORED_DIFFERS, ('the restore ran, but %s differs from the snapshot (see '
                                  'above); no state record was written, so the next run '
                                  'restores again' % target)
    if state == RESTORED_UNRECORDED:
        return state, ('the data is restored in %s, but the state record %s could not be '
                       'written: the next run restores again (or verify=true checks it)'
                       % (target, state_file))
    if state == PARTIAL:
        if progress.in_place:
            how = 'restic was writing into %s directly, so it may hold part of the snapshot' \
                % target
        else:
            how = ('%s is partly restored: %d entries of the staged tree were moved in%s'
                   % (target, len(progress.merged),
                      ', and the extra entries were being deleted' if progress.deleted else ''))
        return state, ('%s; there is no state record, so a re-run of the same task resumes '
                       'and finishes the restore' % how)
    if progress.created and not os.path.lexists(progress.created):
        return state, ('%s is unchanged: nothing was written there (the directory this run '
                       'created was removed again)' % target)
    if progress.state_removed:
        return state, ('%s holds its old data, but its state record was removed: the next '
                       'run restores again' % target)
    return state, '%s is unchanged: nothing was written there' % target


def failure(exc, progress, state_file, staging_note, space_note=None):
    """The RestoreFailed for ``exc``: cause, target state, cleanup, next step."""
    kind = error_kind(exc)
    state, state_text = describe_state(progress, state_file,
                                       verify_failed=isinstance(exc, VerifyMismatch))
    if isinstance(exc, (CommandError, Refusal, VerifyMismatch)):
        cause = str(exc)
    else:
        cause = '%s: %s' % (exc.__class__.__name__, exc)
    cause = cause.rstrip()
    if not cause.endswith('.'):
        cause += '.'
    parts = ['restore failed: %s' % cause, 'Target state: %s.' % state_text]
    if staging_note:
        parts.append(staging_note)
    if kind == 'no_space' and space_note:
        parts.append(space_note)
    elif kind == 'read_only':
        parts.append('Next: remount the target filesystem read-write (mount -o remount,rw) or '
                     'choose another target.')
    elif kind == 'permission':
        parts.append('Next: check the permissions and attributes of the target (ls -l, lsattr: '
                     'an immutable directory refuses new entries), run with become (restic '
                     'restores owners and modes as root), or choose a target this user may '
                     'write.')
    fields = {'error_kind': kind, 'target_state': state, 'staging_dir': progress.staging}
    if isinstance(exc, CommandError):
        fields.update(exc.as_result())
        fields['error_kind'] = getattr(exc, 'kind', None) or kind
    if 'hint' not in fields or not fields.get('hint'):
        fields['hint'] = state_text
    return RestoreFailed(' '.join(parts), progress.wrote, fields)
