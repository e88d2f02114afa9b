# -*- coding: utf-8 -*-
# Copyright: (c) 2026, resilience.dr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one way this collection runs external tools and plans its work.

Every module builds a :class:`Plan` of :class:`Step` objects, then either only reports it
(check mode) or executes it.  Commands are argv lists, never shell strings, and always run
under ``LC_ALL=C`` so that the parsers in the subsystem files see the tools' untranslated
output.  A failing tool becomes a :class:`CommandError` that carries the command, the tool's
own message and a hint that tells the operator what to do next; every failure is a
:class:`ModuleFailure` (a refusal, a tool error, or a subsystem's own) and fails the module the
same way in :func:`run_module`.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import shlex
import time

C_LOCALE = {'LC_ALL': 'C', 'LANG': 'C', 'LANGUAGE': 'C'}


def render(argv):
    """A copy-pasteable form of an argv list, for plans, errors and reports."""
    return ' '.join(shlex.quote(str(a)) for a in argv)


class ModuleFailure(Exception):
    """The one failure type of this collection's modules.

    ``message`` is what the operator reads; ``hint`` says what to do next; ``details`` are extra
    result fields (the plan, the state found, what was left behind).  ``changed`` is true when
    something was written before the failure, so that a failed task never hides a change; a
    :class:`Plan` that fails part-way sets it and adds ``steps_done``.
    """

    def __init__(self, message, hint=None, details=None, changed=False):
        self.hint = hint
        self.details = dict(details or {})
        self.changed = changed
        if hint and hint not in message:
            message = '%s -- next: %s' % (message, hint)
        super(ModuleFailure, self).__init__(message)

    def as_result(self):
        """Fields for ``fail_json`` besides ``msg``."""
        result = dict(self.details)
        result['changed'] = self.changed
        if self.hint:
            result.setdefault('hint', self.hint)
        return result


class CommandError(ModuleFailure):
    """A tool exited non-zero (or could not be started)."""

    def __init__(self, argv, rc, stdout='', stderr='', hint=None, changed=False):
        self.argv = [str(a) for a in argv]
        self.rc = rc
        self.stdout = stdout or ''
        self.stderr = stderr or ''
        tool_msg = (self.stderr.strip() or self.stdout.strip() or 'no output').splitlines()
        self.tool_message = ' '.join(tool_msg[-5:])
        text = '%s failed (rc=%s): %s' % (render(self.argv), rc, self.tool_message)
        super(CommandError, self).__init__(text, hint=hint, changed=changed, details={
            'cmd': render(self.argv), 'rc': rc, 'stdout': self.stdout, 'stderr': self.stderr,
            'hint': hint})


class Refusal(ModuleFailure):
    """A safety check refused a step.  Nothing has been changed when this is raised.

    ``option`` names the module option that would allow the step, so that every refusal
    tells the operator exactly how to proceed if they really mean it.  Refusals of bad input
    that no option allows leave it None.
    """

    def __init__(self, message, option=None, details=None):
        self.option = option
        if option and option not in message:
            message = '%s (set %s to allow this)' % (message, option)
        details = dict(details or {})
        details.update(refused=True, option=option)
        super(Refusal, self).__init__(message, details=details)


class Runner:
    """Runs argv lists through ``AnsibleModule.run_command`` under the C locale.

    ``environ`` adds variables for every command (for example ``RESTIC_PASSWORD_FILE``);
    its values are never echoed in results.  ``executed`` keeps a record of every command
    with its duration, for the modules' ``commands`` result.
    """

    def __init__(self, module, environ=None):
        self.module = module
        self.environ = dict(C_LOCALE)
        self.environ.update(environ or {})
        self.executed = []

    def run(self, argv, check_rc=True, data=None, hint=None, env=None, binary_data=False):
        """Run ``argv``; return ``(rc, stdout, stderr)``.  Raise CommandError when ``check_rc``
        and the tool exits non-zero."""
        argv = [str(a) for a in argv]
        environ = dict(self.environ)
        environ.update(env or {})
        started = time.time()
        rc, out, err = self.module.run_command(
            argv, data=data, environ_update=environ, binary_data=binary_data,
            check_rc=False, expand_user_and_vars=False)
        self.executed.append({'cmd': render(argv), 'rc': rc,
                              'seconds': round(time.time() - started, 3)})
        if check_rc and rc != 0:
            raise CommandError(argv, rc, out, err, hint)
        return rc, out, err

    def which(self, tool, required=True, hint=None):
        """Absolute path of ``tool``; fail with an install hint when it is missing."""
        path = self.module.get_bin_path(tool, required=False,
                                        opt_dirs=['/usr/sbin', '/sbin', '/usr/local/sbin'])
        if path is None and required:
            raise CommandError([tool], 127, stderr='%s: command not found' % tool,
                               hint=hint or 'install the package that provides %s' % tool)
        return path


class Step:
    """One unit of planned work: a command, or a Python action (a sysfs write, say).

    ``may_fail`` marks a command whose failure is no failure (forgetting a device the kernel
    never registered, say): it runs without ``check_rc``.  ``shows`` is the command an action
    step is reported as, when the action runs one through a client of its own (restic's
    environment and retries): check mode and ``steps_done`` then show what really runs.
    """

    def __init__(self, description, argv=None, action=None, hint=None, destructive=False,
                 may_fail=False, shows=None):
        if (argv is None) == (action is None):
            raise ValueError('a Step needs exactly one of argv or action')
        if shows is not None and action is None:
            raise ValueError('shows describes an action step; a command step shows its argv')
        self.description = description
        self.argv = [str(a) for a in argv] if argv is not None else None
        self.action = action
        self.hint = hint
        self.destructive = destructive
        self.may_fail = may_fail
        self.shows = [str(a) for a in shows] if shows is not None else None

    def run(self, runner):
        if self.argv is not None:
            runner.run(self.argv, check_rc=not self.may_fail, hint=self.hint)
        else:
            self.action()

    def as_dict(self):
        command = self.argv if self.argv is not None else self.shows
        return {'step': self.description,
                'command': render(command) if command is not None else None,
                'destructive': self.destructive}


class Plan:
    """An ordered list of steps that check mode reports and normal mode executes."""

    def __init__(self):
        self.steps = []
        self.done = []

    def add(self, description, argv=None, action=None, hint=None, destructive=False,
            may_fail=False, shows=None):
        step = Step(description, argv=argv, action=action, hint=hint, destructive=destructive,
                    may_fail=may_fail, shows=shows)
        self.steps.append(step)
        return step

    def extend(self, other):
        self.steps.extend(other.steps)

    def __bool__(self):
        return bool(self.steps)

    __nonzero__ = __bool__

    def __len__(self):
        return len(self.steps)

    def as_list(self):
        return [s.as_dict() for s in self.steps]

    def execute(self, runner):
        """Run every step in order; return the steps done.

        A failure stops the plan and is re-raised with ``changed`` set when any step had run,
        and ``steps_done`` and ``steps_left`` in its details: the truthful state it left.
        """
        for step in self.steps:
            try:
                step.run(runner)
            except ModuleFailure as exc:
                exc.changed = exc.changed or bool(self.done)
                exc.details['steps_done'] = list(self.done)
                exc.details['steps_left'] = [s.as_dict() for s in self.steps[len(self.done):]]
                raise
            self.done.append(step.as_dict())
        return self.done


def run_module(module, work):
    """Call ``work()``, which returns the result dict, and turn failures into ``fail_json``.

    Every :class:`ModuleFailure` fails the same way: its message, ``changed`` (true when a step
    had run), and its details (a :class:`Refusal` adds ``refused: true`` and the option that
    would allow the step; a :class:`CommandError` the command, the tool's message and the
    hint).  Every module's ``main()`` ends with this, so that failures look the same everywhere.
    """
    try:
        result = work()
    except ModuleFailure as exc:
        module.fail_json(msg=str(exc), **exc.as_result())
    module.exit_json(**result)
