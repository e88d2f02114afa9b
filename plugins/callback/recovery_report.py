# -*- coding: utf-8 -*-
# Copyright: (c) 2026, resilience.dr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
name: recovery_report
type: aggregate
short_description: Write a recovery report (phases, RTO/RPO, verification) for every playbook run
version_added: 0.1.0
author: resilience.dr contributors (@resilience-dr)
description:
  - Records every playbook run as a recovery timeline. A phase is a role boundary inside a
    play, or the play itself for tasks outside roles. Each phase gets its start, end,
    duration, result (ok, changed, failed and skipped counts) and the failed tasks with
    their messages.
  - Compares the total time to recover with the scenario's RTO target, and the recovery point
    achieved with the RPO target. The scenario and its targets are the variables
    C(dr_scenario), C(dr_rto_seconds) and C(dr_rpo_target_seconds), set as play variables, extra
    vars, facts, or inventory group and host variables (resolved for each host when its first
    result of a play arrives, with Ansible's precedence).
  - The RPO achieved is the largest C(rpo_seconds) returned by any task (for example
    M(resilience.dr.restic_restore)) or the fact C(dr_rpo_achieved_seconds).
  - "Tasks feed verification results through the fact or result key C(dr_report_verified)
    (one C({check, ok, detail}) mapping or a list of them), or by a task name that starts
    with C(verify:). Warnings go into C(dr_report_warnings) (a string or a list of strings)
    and are printed in the first lines of the Markdown report. A role can use its own
    prefix, C(<prefix>_dr_report_verified) and C(<prefix>_dr_report_warnings). See
    C(docs/report.md)."
  - Writes C(<report_dir>/<scenario>-<UTC timestamp>.json), C(.md) and C(.html) (a
    self-contained page with the phase timeline against the RTO target), and prints a short
    summary at the end of the run.
  - Under ansible-runner (and so in AWX) the reports go into the job's artifact directory
    unless O(report_dir) is set explicitly, and the summary (scenario, outcome, RTO and RPO
    against their targets, verification, warnings, failures) is published as the custom stats
    C(resilience_dr_report), exactly as C(ansible.builtin.set_stats) with C(per_host=false)
    would; AWX shows it as the job's artifacts and passes it to the next nodes of a workflow.
    It is kept current after every task, so a failed run publishes it too.
  - The lookup C(resilience.dr.recovery_report) fails when this callback is not recording;
    the collection's playbooks call it first, so a run without its report fails loudly.
  - Never copies task arguments. Only the contract keys above and the C(msg) of failed tasks
    are read from task results, and results of tasks with C(no_log) are only counted.
  - The repository's C(ansible.cfg) enables this callback through C(callbacks_enabled).
requirements:
  - enable it in C(callbacks_enabled) (the collection's C(ansible.cfg) does)
options:
  report_dir:
    description:
      - Directory for the JSON, Markdown and HTML reports. Created when missing.
      - When not set (the default) and the run is under ansible-runner, the job's artifact
        directory (C(AWX_ISOLATED_DATA_DIR)) is used instead of C(reports).
      - A relative path is relative to the current directory (from C(ansible.cfg), relative
        to that file's directory).
    type: path
    default: reports
    env:
      - name: RESILIENCE_DR_REPORT_DIR
    ini:
      - section: callback_recovery_report
        key: report_dir
  summary:
    description: Print the short summary at the end of the run.
    type: bool
    default: true
    env:
      - name: RESILIENCE_DR_REPORT_SUMMARY
    ini:
      - section: callback_recovery_report
        key: summary
'''

import json
import os
import sys

from ansible.plugins.callback import CallbackBase

from ansible_collections.resilience.dr.plugins.plugin_utils.report import (
    RunRecorder,
    SCENARIO_VARS,
    report_basename,
)
from ansible_collections.resilience.dr.plugins.plugin_utils.report_html import render_html
from ansible_collections.resilience.dr.plugins.plugin_utils.report_live import (
    STATS_KEY,
    register,
    runner_artifact_dir,
    stats_summary,
)
from ansible_collections.resilience.dr.plugins.plugin_utils.report_text import (
    render_markdown,
    summary_lines,
)


def _result_of(result):
    data = getattr(result, 'result', None)
    if data is None:
        data = getattr(result, '_result', None)
    return data if isinstance(data, dict) else {}


def _task_of(result):
    return getattr(result, 'task', None) or getattr(result, '_task', None)


def _host_of(result):
    host = getattr(result, 'host', None) or getattr(result, '_host', None)
    return host.get_name() if host is not None else 'unknown'


def _role_of(task):
    role = getattr(task, '_role', None)
    if role is None:
        return None
    try:
        return role.get_name(include_role_fqcn=False)
    except TypeError:
        return role.get_name()


def _caller_stats():
    """The AggregateStats of the TaskQueueManager that is calling this callback.

    ``set_stats`` data is stored there (``stats.custom``) by the strategy, and ansible-runner's
    stdout callback reads it in ``v2_playbook_on_stats``, which the stdout callback receives
    before any other callback: a summary set at the end would come too late.  So the summary is
    kept current after each task in the same object.  None when not called by a TQM.
    """
    frame = sys._getframe(1)  # pylint: disable=protected-access
    while frame is not None:
        caller = frame.f_locals.get('self')
        stats = getattr(caller, '_stats', None)
        if type(caller).__name__ == 'TaskQueueManager' and hasattr(stats, 'set_custom_stats'):
            return stats
        frame = frame.f_back
    return None


def _task_name(task):
    try:
        return task.get_name().strip()
    except Exception:  # pylint: disable=broad-except
        return str(getattr(task, 'name', '') or getattr(task, 'action', ''))


class CallbackModule(CallbackBase):
    """Records the run in a RunRecorder and writes the report at the end."""

    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'aggregate'
    CALLBACK_NAME = 'resilience.dr.recovery_report'
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, display=None):
        super(CallbackModule, self).__init__(display=display)
        self.recorder = RunRecorder()
        self.stats = None
        self._play = None
        self._hosts_resolved = set()

    # -- playbook structure -----------------------------------------------------------------
    def v2_playbook_on_start(self, playbook):
        self.recorder = RunRecorder()
        register(self.recorder)
        self.stats = _caller_stats()
        self.recorder.start_playbook(getattr(playbook, '_file_name', None))
        try:
            from ansible import context
            self.recorder.check_mode = bool(context.CLIARGS.get('check'))
        except Exception:  # pylint: disable=broad-except
            pass

    def v2_playbook_on_play_start(self, play):
        self._play = play
        self._hosts_resolved = set()
        self.recorder.start_play(play.get_name().strip(), self._scenario_vars(play))

    def _host_scenario_vars(self, host):
        """The scenario variables as they resolve for ``host`` (inventory group and host
        variables included, with Ansible's precedence), once per host and play: a site's RTO
        target may live in its inventory rather than in the playbook."""
        name = getattr(host, 'name', None)
        if self._play is None or host is None or name in self._hosts_resolved:
            return {}
        self._hosts_resolved.add(name)
        try:
            manager = self._play.get_variable_manager()
            variables = manager.get_vars(play=self._play, host=host)
        except Exception:  # pylint: disable=broad-except
            return {}
        found = {}
        for key in SCENARIO_VARS:
            if key in variables:
                found[key] = self._template(self._play, manager, variables[key], variables)
        return found

    def _scenario_vars(self, play):
        """The scenario variables declared by the play (extra vars win), templated if needed."""
        found = {}
        raw = dict(getattr(play, 'vars', None) or {})
        manager = None
        try:
            manager = play.get_variable_manager()
            raw.update(getattr(manager, 'extra_vars', None) or {})
        except Exception:  # pylint: disable=broad-except
            pass
        for key in SCENARIO_VARS:
            if key not in raw:
                continue
            value = raw[key]
            found[key] = self._template(play, manager, value)
        return found

    @staticmethod
    def _template(play, manager, value, variables=None):
        if not (isinstance(value, str) and '{{' in value):
            return value
        try:
            from ansible.template import Templar
            if variables is None:
                variables = manager.get_vars(play=play) if manager is not None else {}
            return Templar(loader=getattr(play, '_loader', None), variables=variables).template(value)
        except Exception:  # pylint: disable=broad-except
            return None

    def v2_playbook_on_task_start(self, task, is_conditional):
        self.recorder.start_task(_role_of(task))

    def v2_playbook_on_handler_task_start(self, task):
        self.recorder.start_task(_role_of(task))

    # -- results --------------------------------------------------------------------------
    def _record(self, result, status):
        task = _task_of(result)
        data = _result_of(result)
        if status == 'ok' and data.get('changed'):
            status = 'changed'
        self.recorder.set_scenario(self._host_scenario_vars(getattr(result, '_host', None)))
        self.recorder.task_result(_host_of(result), _task_name(task) if task else '', status,
                                  data, role=_role_of(task) if task else None)
        self._publish(self.recorder.report())

    def _publish(self, report, paths=None):
        """The summary into the run's custom stats (what set_stats writes), when known.  Before
        the files exist, their names as _write will choose them (a runner job has a directory
        of its own, so no ``-1`` suffix is needed there)."""
        if self.stats is None:
            return
        directory = self._report_dir()
        if paths is None:
            base = os.path.join(directory, report_basename(report['scenario'], self.recorder.started))
            paths = [base + ext for ext in ('.json', '.md', '.html')]
        self.stats.set_custom_stats(STATS_KEY, stats_summary(report, paths, directory))

    def v2_runner_on_ok(self, result):
        self._record(result, 'ok')

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._record(result, 'ignored' if ignore_errors else 'failed')

    def v2_runner_on_skipped(self, result):
        self._record(result, 'skipped')

    def v2_runner_on_unreachable(self, result):
        self._record(result, 'unreachable')

    # -- the end --------------------------------------------------------------------------
    def v2_playbook_on_stats(self, stats):
        self.recorder.finish()
        report = self.recorder.report()
        paths = []
        try:
            paths = self._write(report)
        except (IOError, OSError) as exc:
            self._display.warning('recovery_report: could not write the report: %s' % exc)
        self._publish(report, paths)
        if self.get_option('summary'):
            self._display.banner('RECOVERY REPORT')
            for line in summary_lines(report, paths):
                self._display.display(line)

    def _report_dir(self):
        directory = self.get_option('report_dir') or 'reports'
        artifacts = runner_artifact_dir()
        if artifacts:
            try:
                explicit = self.get_option_and_origin('report_dir')[1] != 'default'
            except Exception:  # pylint: disable=broad-except
                explicit = directory != 'reports'
            if not explicit:
                return artifacts
        return directory

    def _write(self, report):
        directory = self._report_dir()
        if not os.path.isdir(directory):
            os.makedirs(directory)
        base = os.path.join(directory, report_basename(report['scenario'],
                                                       self.recorder.started))
        candidate, n = base, 1
        while os.path.exists(candidate + '.json'):
            candidate = '%s-%d' % (base, n)
            n += 1
        json_path, md_path, html_path = candidate + '.json', candidate + '.md', candidate + '.html'
        with open(json_path, 'w') as handle:
            json.dump(report, handle, indent=2, sort_keys=True, default=str)
            handle.write('\n')
        with open(md_path, 'w') as handle:
            handle.write(render_markdown(report))
        paths = [json_path, md_path]
        try:
            page = render_html(report)
        except Exception as exc:  # pylint: disable=broad-except
            # The JSON and Markdown are written; a rendering bug must not cost the summary.
            self._display.warning('recovery_report: could not render the HTML report: %s' % exc)
            return paths
        with open(html_path, 'w', encoding='utf-8') as handle:
            handle.write(page)
        return paths + [html_path]
