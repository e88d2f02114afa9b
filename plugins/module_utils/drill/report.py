# -*- coding: utf-8 -*-
# Copyright: (c) 2026, resilience.dr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""``DrillReport``: the manager module dr_drill_report calls.

Reads the trend in ``dr_drill_dir``, normalises every system's ``dr_drill_result``, judges each
against the trend ("unusable since"), and writes ``dr-drill-<UTC start>.json`` and ``.xml``
(atomically: a temporary file renamed into place) and appends one line per target to
``trend.jsonl``.  In check mode it writes nothing and returns the same documents.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import time

from ansible_collections.resilience.dr.plugins.module_utils.drill.junit import junit_xml
from ansible_collections.resilience.dr.plugins.module_utils.drill.results import normalise
from ansible_collections.resilience.dr.plugins.module_utils.drill.trend import (
    parse_trend, trend_line, verdict)
from ansible_collections.resilience.dr.plugins.module_utils.runner import ModuleFailure

REPORT_FORMAT = 'resilience.dr/dr-drill/v1'
TREND_NAME = 'trend.jsonl'


def iso(ts):
    return time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(ts))


class DrillReport:
    """The drill run's report files in ``directory`` for ``results`` (dr_drill_result facts)."""

    def __init__(self, directory, results, run_started=None, check_mode=False, clock=time.time,
                 prefix='dr-drill'):
        self.directory = os.path.abspath(directory)
        self.raw = list(results or [])
        self.now = clock()
        self.run = run_started or iso(self.now)
        self.check_mode = check_mode
        self.prefix = prefix
        self.trend_path = os.path.join(self.directory, TREND_NAME)

    def _read_trend(self):
        try:
            with open(self.trend_path) as handle:
                return parse_trend(handle.read())
        except (IOError, OSError):
            return []

    def _names(self):
        stamp = self.run.replace('-', '').replace(':', '')
        base = os.path.join(self.directory, '%s-%s' % (self.prefix, stamp))
        suffix, n = '', 0
        while os.path.exists(base + suffix + '.json') or os.path.exists(base + suffix + '.xml'):
            n += 1
            suffix = '-%d' % n
        return base + suffix + '.json', base + suffix + '.xml'

    def build(self):
        """(report document, JUnit bytes, trend lines) without writing anything."""
        past = self._read_trend()
        results = [normalise(r) for r in self.raw]
        lines, verdicts, targets = [], {}, []
        for result in results:
            line = trend_line(result, self.run)
            judged = verdict(past, line)
            verdicts[(result['system'], result['target'])] = judged
            lines.append(line)
            targets.append(dict(result, status=line['status'], verdict=judged))
        statuses = [t['status'] for t in targets]
        doc = {
            'format': REPORT_FORMAT, 'run': self.run, 'written': iso(self.now),
            'passed': bool(targets) and all(s == 'pass' for s in statuses),
            'counts': dict((s, statuses.count(s)) for s in ('pass', 'warn', 'fail')),
            'targets': targets,
            'unusable': [t['verdict']['message'] for t in targets if not t['verdict']['usable']],
        }
        if not targets:
            doc['unusable'] = ['no system was drilled: the inventory has neither a train server '
                               'nor a ClaudeFS cluster, or every drill play was skipped']
        return doc, junit_xml(results, verdicts), lines

    def _write(self, path, data):
        tmp = path + '.tmp'
        with open(tmp, 'wb') as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)
        os.rename(tmp, path)

    def run_report(self):
        doc, xml, lines = self.build()
        json_path, xml_path = self._names()
        result = {
            'changed': True, 'passed': doc['passed'], 'run': self.run, 'report': doc,
            'files': {'json': json_path, 'junit': xml_path, 'trend': self.trend_path},
            'trend_lines': lines, 'unusable': doc['unusable'],
            'dr_report_verified': [
                {'check': 'drill %s/%s' % (t['system'], t['target']),
                 'ok': t['status'] == 'pass',
                 'detail': '; '.join('%s %s: %s' % (c['name'], c['status'], c['detail'])
                                     for c in t['checks'])[:1000]}
                for t in doc['targets']],
            'dr_report_warnings': doc['unusable'],
        }
        if self.check_mode:
            result['junit'] = xml.decode('utf-8')
            return result
        try:
            if not os.path.isdir(self.directory):
                os.makedirs(self.directory, 0o755)
            self._write(json_path, (json.dumps(doc, indent=1, sort_keys=True) + '\n').encode('utf-8'))
            self._write(xml_path, xml)
            with open(self.trend_path, 'a') as handle:
                for line in lines:
                    handle.write(json.dumps(line, sort_keys=True) + '\n')
                handle.flush()
                os.fsync(handle.fileno())
        except (IOError, OSError) as exc:
            raise ModuleFailure('writing the drill report into %s failed: %s' % (self.directory, exc),
                                hint='make dr_drill_dir a writable directory on the controller',
                                changed=os.path.exists(json_path))
        return result
