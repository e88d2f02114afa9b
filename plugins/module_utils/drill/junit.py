# -*- coding: utf-8 -*-
# Copyright: (c) 2026, resilience.dr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""JUnit XML of a drill run (xml.etree; what AWX, GitLab and Jenkins read), pure.

One ``<testsuite>`` per system/target (name ``<system>/<target>``), one ``<testcase>`` per
check (classname ``dr-drill.<system>.<target>``), ``warn`` and ``fail`` as ``<failure>``
(``type`` is the status).  The backup, the metrics and "unusable since" are suite properties.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import xml.etree.ElementTree as ET

from ansible_collections.resilience.dr.plugins.module_utils.drill.results import status_of


def _text(value):
    # XML 1.0 cannot carry most control characters: drop them
    text = '' if value is None else str(value)
    return ''.join(ch for ch in text if ch in '\t\n\r' or ord(ch) >= 32)


def _suite(result, verdict):
    checks = result['checks']
    failures = [c for c in checks if c['status'] != 'pass']
    suite = ET.Element('testsuite', {
        'name': _text('%s/%s' % (result['system'], result['target'])),
        'tests': str(len(checks)), 'failures': str(len(failures)), 'errors': '0',
        'skipped': '0', 'time': '%.3f' % result['duration_seconds'],
        'timestamp': _text(result.get('started') or ''), 'hostname': _text(result['target'])})
    props = ET.SubElement(suite, 'properties')
    pairs = [('status', status_of(result))]
    pairs += [('backup.%s' % k, v) for k, v in sorted(result['backup'].items()) if v is not None]
    pairs += [('metric.%s' % k, v) for k, v in sorted(result['metrics'].items())]
    if verdict and verdict.get('unusable_since'):
        pairs.append(('unusable_since', verdict['unusable_since']))
    for name, value in pairs:
        ET.SubElement(props, 'property', {'name': _text(name), 'value': _text(value)})
    classname = 'dr-drill.%s.%s' % (result['system'], result['target'])
    for check in checks:
        case = ET.SubElement(suite, 'testcase', {
            'classname': _text(classname), 'name': _text(check['name']),
            'time': '%.3f' % check['seconds']})
        if check['status'] != 'pass':
            node = ET.SubElement(case, 'failure', {'type': check['status'],
                                                   'message': _text(check['detail'])})
            node.text = _text('%s: %s' % (check['status'].upper(), check['detail']))
        else:
            ET.SubElement(case, 'system-out').text = _text(check['detail'])
    if verdict and verdict.get('message'):
        ET.SubElement(suite, 'system-err').text = _text(verdict['message'])
    return suite


def junit_xml(results, verdicts=None, name='dr-drill'):
    """The JUnit XML document (bytes, UTF-8 with declaration) of normalised ``results``;
    ``verdicts`` maps ``(system, target)`` to :func:`trend.verdict` output."""
    verdicts = verdicts or {}
    root = ET.Element('testsuites', {'name': _text(name)})
    tests = failures = 0
    seconds = 0.0
    for result in results:
        suite = _suite(result, verdicts.get((result['system'], result['target'])))
        root.append(suite)
        tests += int(suite.get('tests'))
        failures += int(suite.get('failures'))
        seconds += result['duration_seconds']
    root.set('tests', str(tests))
    root.set('failures', str(failures))
    root.set('errors', '0')
    root.set('time', '%.3f' % seconds)
    return ET.tostring(root, encoding='utf-8', xml_declaration=True)
