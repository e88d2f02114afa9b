# -*- coding: utf-8 -*-
"""The HTML recovery report in a real browser: headless Chromium (Debian's package) renders it
to a PNG, dumps the DOM it built, and logs every network request it made (--log-net-log).

A control page with an <img> and a style sheet pointing at loopback proves that the net log
shows page loads, so "no request" for the report means the report loads nothing."""

import json
import os
import shutil
import struct
import subprocess

import pytest

from testlib import REPO
from ansible_collections.resilience.dr.plugins.plugin_utils.report_html import render_html
from report_sample import sample_report

pytestmark = pytest.mark.integration

CHROMIUM = shutil.which('chromium') or shutil.which('chromium-browser')
WINDOW = (1200, 1000)
SCREENSHOT = os.path.join(REPO, 'tests', 'output', 'report-screenshot.png')


def chromium(tmp_path, page, *args):
    """Run headless Chromium on ``page`` (a file); returns (stdout, net log events)."""
    netlog = tmp_path / ('net-%s.json' % page.stem)
    argv = [CHROMIUM, '--headless', '--no-sandbox', '--disable-gpu', '--hide-scrollbars',
            '--user-data-dir=%s' % (tmp_path / 'profile'), '--no-first-run',
            '--disable-background-networking', '--disable-extensions',
            '--window-size=%d,%d' % WINDOW, '--log-net-log=%s' % netlog] + list(args) \
        + ['file://%s' % page]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=180, check=False,
                          env=dict(os.environ, HOME=str(tmp_path)))
    assert proc.returncode == 0, proc.stderr[-2000:]
    with open(str(netlog)) as handle:
        events = json.load(handle)['events']
    return proc.stdout, events


def page_requests(events):
    """URLs the page itself requested: requests in the page's (file://) network isolation key.
    Chromium's own background requests (updates, accounts) carry another key."""
    urls = set()
    for event in events:
        params = event.get('params') or {}
        if 'file://' in str(params.get('network_isolation_key', '')) and params.get('url'):
            urls.add(params['url'])
    return sorted(u for u in urls if not u.startswith('file://'))


def png_size(path):
    with open(path, 'rb') as handle:
        header = handle.read(24)
    assert header[:8] == b'\x89PNG\r\n\x1a\n'
    return struct.unpack('>II', header[16:24])


@pytest.fixture(scope='module')
def need_chromium():
    if CHROMIUM is None:
        pytest.fail('chromium is not installed: scripts/bootstrap.sh installs it (apt chromium)')


def test_the_net_log_sees_page_loads(need_chromium, tmp_path):
    control = tmp_path / 'control.html'
    control.write_text('<!DOCTYPE html><html><body><p>control</p>'
                       '<img src="http://127.0.0.1:9/probe.png">'
                       '<link rel="stylesheet" href="http://127.0.0.2:9/x.css"></body></html>')
    events = chromium(tmp_path, control, '--dump-dom')[1]
    assert 'http://127.0.0.1:9/probe.png' in page_requests(events)


@pytest.mark.parametrize('variant', ['recovered', 'failed'])
def test_report_renders_and_loads_nothing(need_chromium, tmp_path, variant):
    report = sample_report(fail_verify=(variant == 'failed'))
    page = tmp_path / 'report.html'
    page.write_text(render_html(report), encoding='utf-8')

    dom, events = chromium(tmp_path, page, '--dump-dom')
    assert page_requests(events) == []
    # The DOM Chromium built: title first, warnings before the timeline, every check listed.
    assert '<h1>Recovery report: os-disk - %s</h1>' % (
        'RECOVERED WITH WARNINGS' if variant == 'recovered' else 'FAILED') in dom
    assert dom.index('the NVMe was replaced') < dom.index('aria-label="phase timeline"')
    assert dom.count('<rect') == 2 + len(report['phases'])
    for check in report['verified']:
        assert check['check'] in dom
    if variant == 'failed':
        assert 'NOT MET, the run did not recover' in dom and ': met' not in dom
        assert dom.index('VERIFICATION FAILED') < dom.index('aria-label="phase timeline"')
    else:
        assert 'RTO target 4h 0m 0s: met' in dom
    assert '<script' not in dom

    shot = tmp_path / 'report.png'
    chromium(tmp_path, page, '--screenshot=%s' % shot)
    assert png_size(str(shot)) == WINDOW
    assert os.path.getsize(str(shot)) > 20000  # a rendered page, not a blank one
    if variant == 'recovered':
        os.makedirs(os.path.dirname(SCREENSHOT), exist_ok=True)
        shutil.copyfile(str(shot), SCREENSHOT)  # docs/report-screenshot.png is a copy of it
