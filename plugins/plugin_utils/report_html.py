# -*- coding: utf-8 -*-
# Copyright: (c) 2026, resilience.dr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The recovery report as one self-contained HTML page, for an on-call lead.

Reads top to bottom: the outcome banner, every warning, failed check and failed task, the time
to recover against the RTO target (a budget bar), the phase timeline (inline SVG), what was
verified, then the phase table.  Nothing is loaded from anywhere: no scripts, fonts, images or
style sheets; a Content-Security-Policy meta tag forbids any load, so a page opened from an
artifact store cannot call out.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from html import escape

from ansible_collections.resilience.dr.plugins.plugin_utils.report import human_duration, text
from ansible_collections.resilience.dr.plugins.plugin_utils.report_text import (
    OUTCOME_TITLES,
    target_text,
)

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"
COLOURS = {
    'recovered': '#1a7f37', 'recovered_with_warnings': '#b35900', 'failed': '#c62828',
    'nothing_ran': '#57606a',
}
RESULT_COLOURS = {'ok': '#2e7d32', 'changed': '#1565c0', 'failed': '#c62828',
                  'skipped': '#9e9e9e', 'empty': '#bdbdbd'}
STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;margin:0;
color:#1f2328;background:#f6f8fa}
main{max-width:1100px;margin:0 auto;padding:16px 24px 40px}
.banner{color:#fff;padding:18px 24px}
.banner h1{margin:0;font-size:30px;letter-spacing:.5px}
.banner p{margin:4px 0 0;font-size:16px;opacity:.95}
.alerts{margin:16px 0}
.alert{border-left:6px solid #c62828;background:#fff;padding:10px 14px;margin:6px 0;font-size:16px}
.alert.warn{border-color:#d97706}
.facts{display:grid;grid-template-columns:repeat(4,1fr);gap:12px;margin:16px 0}
.fact{background:#fff;border:1px solid #d0d7de;border-radius:6px;padding:10px 16px}
.fact b{display:block;font-size:22px}
.fact span{color:#57606a;font-size:13px}
section{background:#fff;border:1px solid #d0d7de;border-radius:6px;padding:12px 16px;margin:16px 0}
h2{font-size:18px;margin:4px 0 10px}
table{border-collapse:collapse;width:100%;font-size:14px}
th,td{text-align:left;padding:4px 8px;border-bottom:1px solid #eaeef2;vertical-align:top}
td.ok{color:#1a7f37;font-weight:600}td.bad{color:#c62828;font-weight:600}
.muted{color:#57606a}
"""


def _e(value, limit=1000):
    return escape(text(value, limit), quote=True)


def _title(report):
    return OUTCOME_TITLES.get(report['outcome'], report['outcome'])


def _alerts(report):
    rows = []
    if report.get('check_mode'):
        rows.append(('warn', 'CHECK MODE: nothing was changed; this is the plan, not a recovery.'))
    for warning in report['warnings']:
        rows.append(('warn', 'WARNING (%s): %s' % (warning['host'], warning['message'])))
    for check in report['verified']:
        if not check['ok']:
            rows.append(('', 'VERIFICATION FAILED (%s): %s %s'
                         % (check['host'], check['check'], check['detail'])))
    for failure in report['failures']:
        rows.append(('', 'FAILED %s / %s / %s: %s'
                     % (failure['phase'], failure['host'], failure['task'], failure['msg'])))
    if not rows:
        return ''
    return '<div class="alerts">%s</div>' % ''.join(
        '<div class="alert %s">%s</div>' % (kind, _e(message)) for kind, message in rows)


def _facts(report):
    rto, rpo, ver = report['rto'], report['rpo'], report['verification']
    if rpo['achieved_seconds'] is None:
        rpo_value, rpo_note = 'not measured', 'no restore reported a recovery point'
    else:
        rpo_value = human_duration(rpo['achieved_seconds'])
        rpo_note = 'RPO ' + target_text(rpo['achieved_seconds'], rpo['target_seconds'],
                                        rpo['met'], report)
    facts = [
        (human_duration(rto['actual_seconds']), 'time to recover; RTO '
         + target_text(rto['actual_seconds'], rto['target_seconds'], rto['met'], report)),
        (rpo_value, 'data lost at most (recovery point); ' + rpo_note),
        ('%d / %d' % (ver['passed'], ver['total']), 'checks passed'
         + ('; %d FAILED' % ver['failed'] if ver['failed'] else '')),
        (str(len(report['phases'])), 'phases; %d failed tasks' % len(report['failures'])),
    ]
    return '<div class="facts">%s</div>' % ''.join(
        '<div class="fact"><b>%s</b><span>%s</span></div>' % (_e(v), _e(n)) for v, n in facts)


def _budget_svg(report, width=1000):
    """One bar: the time to recover against the RTO target."""
    rto = report['rto']
    actual, target = rto['actual_seconds'] or 0.0, rto['target_seconds']
    if target is None:
        return '<p class="muted">No RTO target was declared (dr_rto_seconds).</p>'
    scale = max(actual, target) or 1.0
    used = max(2.0, (width - 20) * actual / scale)
    mark = 10 + (width - 20) * target / scale
    colour = COLOURS['recovered'] if rto['met'] else COLOURS['failed']
    if rto['met'] is None:
        colour = COLOURS['nothing_ran']
    percent = 100.0 * actual / target if target else 0.0
    return (
        '<svg role="img" aria-label="time to recover against the RTO target" width="100%%" '
        'viewBox="0 0 {w} 64">'
        '<rect x="10" y="14" width="{bar}" height="22" fill="#eaeef2"/>'
        '<rect x="10" y="14" width="{used:.1f}" height="22" fill="{colour}"/>'
        '<line x1="{mark:.1f}" y1="6" x2="{mark:.1f}" y2="44" stroke="#1f2328" stroke-width="3" '
        'stroke-dasharray="5 3"/>'
        '<text x="12" y="58" font-size="14">{used_text} used, {percent:.0f}% of the RTO target</text>'
        '<text x="{tx:.1f}" y="58" font-size="14" text-anchor="end">RTO target {target_text}</text>'
        '</svg>').format(w=width, bar=width - 20, used=used, colour=colour, mark=mark,
                         used_text=_e(human_duration(actual)), percent=percent,
                         tx=min(mark, width - 10), target_text=_e(human_duration(target)))


def _timeline_svg(report, width=1000):
    """The phases as a Gantt chart over the run, with the RTO target when it falls inside."""
    phases = report['phases']
    if not phases:
        return '<p class="muted">No phase ran.</p>'
    total = max(report['rto']['actual_seconds'] or 0.0,
                sum(p['duration_seconds'] for p in phases), 0.001)
    target = report['rto']['target_seconds']
    axis = max(total, target) if target is not None and target <= 1.5 * total else total
    label_w, row_h, top = 260, 26, 24
    span = width - label_w - 20
    height = top + row_h * len(phases) + 34
    parts = ['<svg role="img" aria-label="phase timeline" width="100%%" viewBox="0 0 %d %d">'
             % (width, height)]
    start = 0.0
    names = [p['name'] for p in phases]
    for row, phase in enumerate(phases):
        label = phase['name']
        if phase['role'] and names.count(label) > 1:  # a role in two plays: say which play
            label = '%s (%s)' % (label, phase['play'].split(' - ')[0].split(',')[0])
        y = top + row * row_h
        x = label_w + span * start / axis
        w = max(2.0, span * phase['duration_seconds'] / axis)
        colour = RESULT_COLOURS.get(phase['result'], '#bdbdbd')
        parts.append('<text x="%d" y="%d" font-size="14" text-anchor="end">%s</text>'
                     % (label_w - 8, y + 17, _e(label, 34)))
        tooltip = '%s: %s, %s' % (phase['name'], phase['result'],
                                  human_duration(phase['duration_seconds']))
        parts.append('<rect x="%.1f" y="%d" width="%.1f" height="18" fill="%s"><title>%s</title></rect>'
                     % (x, y + 3, w, colour, _e(tooltip)))
        label_x = x + w + 6
        anchor = 'start'
        if label_x > width - 90:
            label_x, anchor = x - 6, 'end'
        parts.append('<text x="%.1f" y="%d" font-size="12" text-anchor="%s" fill="#57606a">%s %s</text>'
                     % (label_x, y + 16, anchor, _e(human_duration(phase['duration_seconds'])),
                        _e(phase['result'])))
        start += phase['duration_seconds']
    base = top + row_h * len(phases) + 4
    parts.append('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#57606a"/>'
                 % (label_w, base, label_w + span, base))
    for tick in range(5):
        seconds = axis * tick / 4.0
        tx = label_w + span * tick / 4.0
        parts.append('<text x="%.1f" y="%d" font-size="12" text-anchor="middle" fill="#57606a">%s</text>'
                     % (tx, base + 16, _e(human_duration(seconds))))
    if target is not None and target <= axis:
        tx = label_w + span * target / axis
        parts.append('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#c62828" stroke-width="2" '
                     'stroke-dasharray="6 4"/>' % (tx, top - 6, tx, base))
        parts.append('<text x="%.1f" y="%d" font-size="12" text-anchor="end" fill="#c62828">RTO target</text>'
                     % (tx - 4, top - 10))
    parts.append('</svg>')
    note = ''
    if target is not None and target > axis:
        note = ('<p class="muted">The RTO target (%s) is off the right edge: the run took %.1f%% '
                'of it.</p>' % (_e(human_duration(target)), 100.0 * total / target))
    return ''.join(parts) + note


def _verified(report):
    if not report['verified']:
        return '<p class="muted">Nothing was verified in this run.</p>'
    rows = ''.join(
        '<tr><td class="%s">%s</td><td>%s</td><td>%s</td><td class="muted">%s</td></tr>'
        % ('ok' if v['ok'] else 'bad', 'ok' if v['ok'] else 'FAILED', _e(v['check']),
           _e(v['host']), _e(v['detail']))
        for v in sorted(report['verified'], key=lambda v: (v['ok'], v['host'], v['check'])))
    return ('<table><tr><th>result</th><th>check</th><th>host</th><th>detail</th></tr>%s</table>'
            % rows)


def _phase_table(report):
    rows = ''.join(
        '<tr><td>%d</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%d ok, %d changed, '
        '%d failed, %d skipped</td></tr>'
        % (p['index'], _e(p['name']), _e(p['start']), _e(human_duration(p['duration_seconds'])),
           _e(p['result']), p['counts']['ok'], p['counts']['changed'],
           p['counts']['failed'] + p['counts']['unreachable'], p['counts']['skipped'])
        for p in report['phases'])
    return ('<table><tr><th>#</th><th>phase</th><th>start (UTC)</th><th>duration</th>'
            '<th>result</th><th>tasks</th></tr>%s</table>' % rows)


def render_html(report):
    """The whole page as a string (UTF-8, no external references)."""
    title = 'Recovery report: %s - %s' % (report['scenario'], _title(report))
    colour = COLOURS.get(report['outcome'], '#57606a')
    if report.get('check_mode'):
        colour = COLOURS['nothing_ran']
    subtitle = '%s%s | %s to %s | playbook %s' % (
        'CHECK MODE, nothing was changed | ' if report.get('check_mode') else '',
        human_duration(report['rto']['actual_seconds']), report['started'], report['ended'],
        report['playbook'] or 'unknown')
    return ''.join([
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">',
        '<meta http-equiv="Content-Security-Policy" content="%s">' % escape(CSP, quote=True),
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<title>%s</title><style>%s</style></head><body>' % (_e(title), STYLE),
        '<header class="banner" style="background:%s"><h1>%s</h1><p>%s</p></header>'
        % (colour, _e(title), _e(subtitle)),
        '<main>', _alerts(report), _facts(report),
        '<section><h2>Time to recover against the RTO target</h2>%s</section>' % _budget_svg(report),
        '<section><h2>Phases</h2>%s</section>' % _timeline_svg(report),
        '<section><h2>What was verified</h2>%s</section>' % _verified(report),
        '<section><h2>Phase details</h2>%s</section>' % _phase_table(report),
        '<p class="muted">%s, resilience.dr recovery report</p>' % _e(report['format']),
        '</main></body></html>\n'])
