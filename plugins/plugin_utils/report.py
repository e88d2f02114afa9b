# -*- coding: utf-8 -*-
# Copyright: (c) 2026, resilience.dr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The recovery report: pure bookkeeping behind the ``resilience.dr.recovery_report`` callback.

The callback only forwards Ansible events to a :class:`RunRecorder`; everything that decides
what goes into the report lives here, so it can be unit tested without Ansible.

The contract (see ``docs/report.md``) that tasks use to feed the report:

* play variables (or extra vars, or facts) ``dr_scenario``, ``dr_rto_seconds`` and
  ``dr_rpo_target_seconds`` declare the scenario and its targets;
* ``dr_report_verified``: a fact (``set_fact``) or a top-level module result key holding one
  ``{check, ok, detail}`` mapping or a list of them.  A role may use its own prefix,
  ``<prefix>_dr_report_verified`` (and ``<prefix>_dr_report_warnings``), to satisfy
  ansible-lint's var-naming rule.  Entries are keyed by host and check,
  so a fact that accumulates (``dr_report_verified | default([]) + [...]``) is fine;
* a task whose name starts with ``verify:`` is a check by itself: ok unless it failed;
* ``dr_report_warnings``: a fact or result key holding a string or a list of strings.
  Warnings are printed in the first lines of the Markdown report;
* ``dr_report_notices``: like warnings, a string or a list of strings, printed in the first
  lines too, but not a warning: what the scenario cannot bring back by design (workspaces,
  caches), which does not make a recovery "with warnings";
* ``rpo_seconds`` in any task result (``resilience.dr.restic_restore`` returns it) or the fact
  ``dr_rpo_achieved_seconds``: the recovery point actually achieved.  The worst (largest)
  value wins.

Nothing else is ever copied out of a task result: never task arguments, never a result of a
task with ``no_log`` (it is counted, but its content is ignored), and only the keys named
above plus ``msg`` of failed tasks.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import math
import re
import time

from ansible_collections.resilience.dr.plugins.module_utils.timeutil import utc_iso

FORMAT = 'resilience.dr/recovery-report/v1'
SCENARIO_VARS = ('dr_scenario', 'dr_rto_seconds', 'dr_rpo_target_seconds')
VERIFIED_KEY = 'dr_report_verified'
WARNINGS_KEY = 'dr_report_warnings'
NOTICES_KEY = 'dr_report_notices'
RPO_FACT = 'dr_rpo_achieved_seconds'
RPO_RESULT_KEY = 'rpo_seconds'
VERIFY_PREFIX = 'verify:'
MAX_TEXT = 1000
STATUSES = ('ok', 'changed', 'failed', 'skipped', 'unreachable', 'ignored')


def text(value, limit=MAX_TEXT):
    """A single-line, bounded string for the report."""
    if value is None:
        return ''
    if not isinstance(value, str):
        value = str(value)
    value = ' '.join(value.split())
    if len(value) > limit:
        value = value[:limit - 3] + '...'
    return value


def to_seconds(value):
    """An int/float/numeric string as a float, or None."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    if math.isnan(number) or number < 0:
        return None
    return number


def to_bool(value):
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return value != 0
    return text(value).lower() in ('true', 'yes', 'on', '1', 'ok', 'pass', 'passed')


def stamp(timestamp):
    """The compact UTC timestamp used in report file names."""
    moment = datetime.datetime.fromtimestamp(timestamp, tz=datetime.timezone.utc)
    return moment.strftime('%Y%m%dT%H%M%SZ')


def human_duration(seconds):
    """``412.3`` -> ``6m 52s``; ``14400`` -> ``4h 0m 0s``; ``3.44`` -> ``3.4s``."""
    if seconds is None:
        return 'unknown'
    if seconds < 60:
        return ('%.1fs' % seconds).replace('.0s', 's')
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return '%dh %dm %ds' % (hours, minutes, secs)
    if minutes:
        return '%dm %ds' % (minutes, secs)
    return '%ds' % secs


def safe_name(name):
    """A scenario name usable in a file name."""
    cleaned = re.sub(r'[^A-Za-z0-9_.-]+', '-', text(name, 80)).strip('-.')
    return cleaned or 'playbook'


def report_basename(scenario, started):
    return '%s-%s' % (safe_name(scenario), stamp(started))


def as_list(value):
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]


def contract_values(source, key):
    """Entries under ``key`` or under any ``<prefix>_<key>`` (``train_verify_dr_report_verified``).

    The prefixed form lets a role keep its variables under its own prefix (ansible-lint's
    var-naming rule) and still feed the report.
    """
    values = []
    suffix = '_' + key
    for name in sorted(source):
        if isinstance(name, str) and (name == key or name.endswith(suffix)):
            values.extend(as_list(source[name]))
    return values


def is_no_log(result):
    return bool(result.get('_ansible_no_log')) or 'censored' in result


def extract(result, task_name=''):
    """What a single (non-loop) task result contributes to the report.

    Returns ``{'verified': [...], 'warnings': [...], 'rpo': [...], 'scenario': {...}}``.
    Results of ``no_log`` tasks contribute nothing.
    """
    found = {'verified': [], 'warnings': [], 'rpo': [], 'scenario': {}}
    if not isinstance(result, dict) or is_no_log(result):
        return found
    facts = result.get('ansible_facts')
    sources = [result]
    if isinstance(facts, dict):
        sources.append(facts)
    for source in sources:
        for entry in contract_values(source, VERIFIED_KEY):
            if isinstance(entry, dict) and entry.get('check') not in (None, ''):
                found['verified'].append({
                    'check': text(entry.get('check'), 200),
                    'ok': to_bool(entry.get('ok')),
                    'detail': text(entry.get('detail')),
                })
        for entry in contract_values(source, WARNINGS_KEY):
            if entry not in (None, ''):
                found['warnings'].append(text(entry))
    for key, source in ((RPO_RESULT_KEY, result), (RPO_FACT, facts if isinstance(facts, dict) else {})):
        seconds = to_seconds(source.get(key))
        if seconds is not None:
            found['rpo'].append(seconds)
    if isinstance(facts, dict):
        for key in SCENARIO_VARS:
            if key in facts:
                found['scenario'][key] = facts[key]
    return found


def extract_all(result, task_name=''):
    """Like :func:`extract`, including the per-item results of a loop."""
    found = extract(result, task_name)
    if isinstance(result, dict) and not is_no_log(result):
        for item in as_list(result.get('results')):
            sub = extract(item, task_name)
            for key in ('verified', 'warnings', 'rpo'):
                found[key].extend(sub[key])
            found['scenario'].update(sub['scenario'])
    return found


def extract_notices(result):
    """The ``dr_report_notices`` of a task result (its facts, its loop items)."""
    if not isinstance(result, dict) or is_no_log(result):
        return []
    facts = result.get('ansible_facts')
    sources = [result] + ([facts] if isinstance(facts, dict) else [])
    out = [text(entry) for source in sources for entry in contract_values(source, NOTICES_KEY)
           if entry not in (None, '')]
    for item in as_list(result.get('results')):
        out.extend(extract_notices(item))
    return out


def verify_check_name(task_name):
    """``'verify: array is mounted'`` -> ``'array is mounted'``; None for other tasks."""
    name = text(task_name, 300)
    if name.lower().startswith(VERIFY_PREFIX):
        return name[len(VERIFY_PREFIX):].strip() or name
    return None


class Phase:
    """A role boundary inside a play, or the play itself for tasks outside roles."""

    def __init__(self, index, play, role, started):
        self.index = index
        self.play = play
        self.role = role
        self.started = started
        self.ended = None
        self.counts = dict((status, 0) for status in STATUSES)
        self.failures = []

    @property
    def name(self):
        return self.role or self.play

    @property
    def result(self):
        if self.counts['failed'] or self.counts['unreachable']:
            return 'failed'
        if self.counts['changed']:
            return 'changed'
        if self.counts['ok'] or self.counts['ignored']:
            return 'ok'
        if self.counts['skipped']:
            return 'skipped'
        return 'empty'

    def as_dict(self):
        ended = self.ended if self.ended is not None else self.started
        return {
            'index': self.index,
            'name': self.name,
            'kind': 'role' if self.role else 'play',
            'play': self.play,
            'role': self.role,
            'start': utc_iso(self.started),
            'end': utc_iso(ended),
            'duration_seconds': round(ended - self.started, 3),
            'result': self.result,
            'counts': dict(self.counts),
            'failed_tasks': list(self.failures),
        }


RECOVERED = ('recovered', 'recovered_with_warnings')


def target_assessable(outcome, check_mode):
    """Whether an RTO/RPO target can be met: True after a recovery, False after a run that did
    not recover (failed, nothing ran), None in check mode (nothing was recovered or changed)."""
    if check_mode:
        return None
    return outcome in RECOVERED


class RunRecorder:
    """Collects one playbook run.  Feed it events, then call :meth:`report`."""

    def __init__(self, clock=time.time):
        self.clock = clock
        self.started = clock()
        self.ended = None
        self.playbook = None
        self.plays = []
        self.phases = []
        self.scenario = {}
        self.verified = {}
        self.warnings = []
        self.notices = []
        self.rpo = []
        self.check_mode = False
        self._play = None

    # -- events -------------------------------------------------------------------------
    def start_playbook(self, path):
        self.playbook = path

    def start_play(self, name, variables=None):
        self._play = text(name, 200) or 'play %d' % (len(self.plays) + 1)
        self.plays.append(self._play)
        self.set_scenario(variables or {})
        self._close_phase()

    def set_scenario(self, variables):
        for key in SCENARIO_VARS:
            value = variables.get(key)
            if value is not None and value != '':
                self.scenario[key] = value

    def start_task(self, role=None):
        """Open a new phase when the task crosses a role boundary (or starts a play)."""
        role = text(role, 200) or None
        current = self.phases[-1] if self.phases else None
        if current is not None and current.ended is None and current.role == role \
                and current.play == self._play:
            return current
        self._close_phase()
        phase = Phase(len(self.phases) + 1, self._play or 'play', role, self.clock())
        self.phases.append(phase)
        return phase

    def _close_phase(self):
        if self.phases and self.phases[-1].ended is None:
            self.phases[-1].ended = self.clock()

    def task_result(self, host, task_name, status, result=None, role=None):
        """Record one host's result of one task.

        ``status`` is one of ok, changed, failed, skipped, unreachable or ignored (a failure
        with ``ignore_errors``).  ``result`` is the task's result dict; only the contract keys
        are read from it.
        """
        if status not in STATUSES:
            raise ValueError('unknown status %r' % status)
        phase = self.phases[-1] if self.phases and self.phases[-1].ended is None else None
        if phase is None:
            phase = self.start_task(role)
        phase.counts[status] += 1
        result = result if isinstance(result, dict) else {}
        hidden = is_no_log(result)
        host = text(host, 200)
        task = text(task_name, 300)
        if status in ('failed', 'unreachable'):
            msg = '(output hidden by no_log)' if hidden else text(result.get('msg'))
            phase.failures.append({'host': host, 'task': task, 'msg': msg})
        if status == 'skipped':
            return
        check = verify_check_name(task_name)
        if check is not None:
            detail = '' if hidden else text(result.get('msg'))
            self._verified(host, task, {'check': check, 'ok': status in ('ok', 'changed'),
                                        'detail': detail})
        found = extract_all(result, task_name)
        for entry in found['verified']:
            self._verified(host, task, entry)
        for message in found['warnings']:
            if not any(w['host'] == host and w['message'] == message for w in self.warnings):
                self.warnings.append({'host': host, 'task': task, 'message': message})
        for message in extract_notices(result):
            if not any(n['host'] == host and n['message'] == message for n in self.notices):
                self.notices.append({'host': host, 'task': task, 'message': message})
        for seconds in found['rpo']:
            self.rpo.append({'host': host, 'task': task, 'seconds': seconds})
        self.set_scenario(found['scenario'])

    def _verified(self, host, task, entry):
        record = dict(entry, host=host, task=task)
        self.verified[(host, entry['check'])] = record

    def finish(self):
        self._close_phase()
        self.ended = self.clock()

    # -- the report ---------------------------------------------------------------------
    def scenario_name(self):
        name = self.scenario.get('dr_scenario')
        if name:
            return text(name, 80)
        if self.playbook:
            base = self.playbook.replace('\\', '/').rsplit('/', 1)[-1]
            return re.sub(r'\.ya?ml$', '', base) or 'playbook'
        return 'playbook'

    def report(self):
        ended = self.ended if self.ended is not None else self.clock()
        duration = round(ended - self.started, 3)
        phases = [p.as_dict() for p in self.phases]
        totals = dict((status, sum(p['counts'][status] for p in phases)) for status in STATUSES)
        verified = sorted(self.verified.values(), key=lambda v: (v['host'], v['check']))
        failed_checks = [v for v in verified if not v['ok']]
        failures = [dict(f, phase=p['name']) for p in phases for f in p['failed_tasks']]

        rto_target = to_seconds(self.scenario.get('dr_rto_seconds'))
        rpo_target = to_seconds(self.scenario.get('dr_rpo_target_seconds'))
        rpo_achieved = max([r['seconds'] for r in self.rpo]) if self.rpo else None

        if failures or failed_checks:
            outcome = 'failed'
        elif self.warnings:
            outcome = 'recovered_with_warnings'
        elif not phases:
            outcome = 'nothing_ran'
        else:
            outcome = 'recovered'
        # A target is only ever met by a run that recovered: a failed run, a run where nothing
        # ran and a check-mode run (which changes nothing) never meet one.  Check mode is not
        # assessed (None); the others missed it (False).
        assessed = target_assessable(outcome, self.check_mode)
        return {
            'format': FORMAT,
            'scenario': self.scenario_name(),
            'playbook': self.playbook,
            'plays': list(self.plays),
            'started': utc_iso(self.started),
            'ended': utc_iso(ended),
            'outcome': outcome,
            'check_mode': bool(self.check_mode),
            'warnings': list(self.warnings),
            'notices': list(self.notices),
            'rto': {
                'target_seconds': rto_target,
                'actual_seconds': duration,
                'met': None if rto_target is None or assessed is None
                else assessed and duration <= rto_target,
            },
            'rpo': {
                'target_seconds': rpo_target,
                'achieved_seconds': rpo_achieved,
                'met': None if rpo_target is None or rpo_achieved is None or assessed is None
                else assessed and rpo_achieved <= rpo_target,
                'sources': list(self.rpo),
            },
            'verified': verified,
            'verification': {
                'total': len(verified),
                'passed': len(verified) - len(failed_checks),
                'failed': len(failed_checks),
            },
            'phases': phases,
            'totals': totals,
            'failures': failures,
        }
