# -*- coding: utf-8 -*-
# Copyright: (c) 2026, resilience.dr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The recovery report as text: the Markdown report and the summary printed after the run.

The report itself (a dict) comes from :class:`report.RunRecorder`; see ``docs/report.md``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.resilience.dr.plugins.plugin_utils.report import (
    RECOVERED,
    human_duration,
    text,
)


OUTCOME_TITLES = {
    'recovered': 'RECOVERED',
    'recovered_with_warnings': 'RECOVERED WITH WARNINGS',
    'failed': 'FAILED',
    'nothing_ran': 'NOTHING RAN',
}


def cell(value):
    """A Markdown table cell: one line, pipes escaped."""
    return text(value, 300).replace('|', '\\|')


def target_text(actual, target, met, report=None):
    """``target 4h 0m 0s: met``; never "met" for a run that did not recover."""
    if target is None:
        return 'no target declared'
    if report is not None and report.get('check_mode'):
        return 'target %s: not assessed in check mode' % human_duration(target)
    if report is not None and report.get('outcome') not in RECOVERED:
        return 'target %s: NOT MET, the run did not recover' % human_duration(target)
    return 'target %s: %s' % (human_duration(target), 'met' if met else 'MISSED')


def render_markdown(report):
    """The Markdown report.  Warnings always come right after the title line."""
    lines = ['# Recovery report: %s - %s%s' % (
        report['scenario'], OUTCOME_TITLES.get(report['outcome'], report['outcome']),
        ' (CHECK MODE: nothing was changed)' if report.get('check_mode') else ''), '']
    for warning in report['warnings']:
        lines.append('> **WARNING** (%s): %s' % (warning['host'], text(warning['message'])))
    if report['warnings']:
        lines.append('')
    for notice in report.get('notices', []):
        lines.append('> **NOTE** (%s): %s' % (notice['host'], text(notice['message'])))
    if report.get('notices'):
        lines.append('')
    failed_checks = [v for v in report['verified'] if not v['ok']]
    for check in failed_checks:
        lines.append('> **VERIFICATION FAILED** (%s): %s %s'
                     % (check['host'], check['check'], check['detail']))
    if failed_checks:
        lines.append('')
    rto, rpo, ver = report['rto'], report['rpo'], report['verification']
    rto_text = target_text(rto['actual_seconds'], rto['target_seconds'], rto['met'], report)
    if rpo['achieved_seconds'] is None:
        rpo_text = 'not measured in this run'
    else:
        rpo_text = '%s (%s)' % (human_duration(rpo['achieved_seconds']),
                                target_text(rpo['achieved_seconds'], rpo['target_seconds'],
                                            rpo['met'], report))
    lines += [
        '- **Outcome:** %s' % OUTCOME_TITLES.get(report['outcome'], report['outcome']),
        '- **Time to recover:** %s (%s)' % (human_duration(rto['actual_seconds']), rto_text),
        '- **RPO achieved:** %s' % rpo_text,
        '- **Verified:** %d checks, %d passed, %d failed'
        % (ver['total'], ver['passed'], ver['failed']),
        '- **Playbook:** %s' % (report['playbook'] or 'unknown'),
        '- **Started:** %s, **ended:** %s' % (report['started'], report['ended']),
        '',
        '## Phases',
        '',
        '| # | phase | play | start | end | duration | result | ok | changed | failed | skipped |',
        '|---|---|---|---|---|---|---|---|---|---|---|',
    ]
    for phase in report['phases']:
        counts = phase['counts']
        lines.append('| %d | %s | %s | %s | %s | %s | %s | %d | %d | %d | %d |' % (
            phase['index'], cell(phase['name']), cell(phase['play'] if phase['role'] else ''),
            phase['start'], phase['end'],
            human_duration(phase['duration_seconds']), phase['result'], counts['ok'],
            counts['changed'], counts['failed'] + counts['unreachable'], counts['skipped']))
    lines += ['', '## Verification', '']
    if report['verified']:
        lines += ['| host | check | result | detail |', '|---|---|---|---|']
        for check in report['verified']:
            lines.append('| %s | %s | %s | %s |' % (cell(check['host']), cell(check['check']),
                                                    'ok' if check['ok'] else 'FAILED',
                                                    cell(check['detail'])))
    else:
        lines.append('Nothing was verified in this run.')
    if rpo['sources']:
        lines += ['', '## Recovery points', '']
        for source in rpo['sources']:
            lines.append('- %s, %s: %s' % (source['host'], source['task'],
                                           human_duration(source['seconds'])))
    if report['failures']:
        lines += ['', '## Failures', '']
        for failure in report['failures']:
            lines.append('- **%s** / %s / %s: %s' % (failure['phase'], failure['host'],
                                                     failure['task'], failure['msg']))
    lines.append('')
    return '\n'.join(lines)


def summary_lines(report, paths=()):
    """The short summary printed at the end of the run."""
    rto, rpo, ver = report['rto'], report['rpo'], report['verification']
    lines = ['RECOVERY REPORT [%s]: %s%s in %s (%s)' % (
        report['scenario'], OUTCOME_TITLES.get(report['outcome'], report['outcome']),
        ' (check mode)' if report.get('check_mode') else '',
        human_duration(rto['actual_seconds']),
        'RTO ' + target_text(rto['actual_seconds'], rto['target_seconds'], rto['met'], report))]
    if rpo['achieved_seconds'] is not None:
        lines.append('RPO achieved: %s (%s)' % (
            human_duration(rpo['achieved_seconds']),
            target_text(rpo['achieved_seconds'], rpo['target_seconds'], rpo['met'], report)))
    lines.append('verified: %d/%d checks passed' % (ver['passed'], ver['total']))
    for warning in report['warnings']:
        lines.append('WARNING (%s): %s' % (warning['host'], warning['message']))
    for notice in report.get('notices', []):
        lines.append('NOTE (%s): %s' % (notice['host'], notice['message']))
    for path in paths:
        lines.append('report: %s' % path)
    return lines
