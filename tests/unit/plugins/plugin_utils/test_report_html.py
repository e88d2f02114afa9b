# -*- coding: utf-8 -*-
"""The HTML recovery report (plugins/plugin_utils/report_html.py) as text: self-contained,
escaped, warnings first.  tests/integration/test_report_html_browser.py renders it in Chromium."""

from html.parser import HTMLParser

from ansible_collections.resilience.dr.plugins.plugin_utils import report_html
from report_sample import sample_report

CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; "
       "form-action 'none'")

ALLOWED_TAGS = {'html', 'head', 'meta', 'title', 'style', 'body', 'header', 'h1', 'h2', 'p',
                'main', 'div', 'b', 'span', 'section', 'svg', 'rect', 'line', 'text', 'table',
                'tr', 'th', 'td'}


class Elements(HTMLParser):
    """Every element and attribute of the page, as a browser's tokenizer sees them."""

    def __init__(self):
        HTMLParser.__init__(self)
        self.tags, self.attrs, self.style = set(), [], ''
        self._in_style = False

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        self.attrs.extend(attrs)
        self._in_style = tag == 'style'

    def handle_endtag(self, tag):
        self._in_style = False

    def handle_data(self, data):
        if self._in_style:
            self.style += data


def assert_self_contained(page):
    parsed = Elements()
    parsed.feed(page)
    assert parsed.tags <= ALLOWED_TAGS, parsed.tags - ALLOWED_TAGS
    assert ('content', CSP) in parsed.attrs and ('http-equiv', 'Content-Security-Policy') in parsed.attrs
    for name, value in parsed.attrs:
        assert name not in ('src', 'href', 'xlink:href', 'srcset', 'action', 'xmlns') \
            and not name.startswith('on'), name
        assert '//' not in (value or '') and 'url(' not in (value or ''), (name, value)
    assert 'url(' not in parsed.style and '@import' not in parsed.style and '//' not in parsed.style


def test_page_is_self_contained_and_reads_top_down():
    page = report_html.render_html(sample_report())
    assert_self_contained(page)
    assert page.index('WARNING (train-server): the NVMe was replaced') < page.index('<svg')
    assert '<h1>Recovery report: os-disk - RECOVERED WITH WARNINGS</h1>' in page
    assert 'RTO target 4h 0m 0s: met' in page
    # One bar per phase; the role that ran in two plays says which play.
    assert page.count('<rect') == 2 + 6
    assert 'train_storage (Preflight)' in page and 'train_storage (Storage)' in page
    assert 'The RTO target (4h 0m 0s) is off the right edge' in page
    assert page.count('<td class="ok">ok</td>') == 6


def test_rto_line_inside_the_timeline_when_the_target_is_close():
    report = sample_report()
    report['rto']['target_seconds'] = 400.0  # the run took 424 s
    report['rto']['met'] = False
    page = report_html.render_html(report)
    assert '>RTO target</text>' in page
    assert 'off the right edge' not in page


def test_failed_run_lists_failures_first_and_never_says_met():
    page = report_html.render_html(sample_report(fail_verify=True))
    assert '<h1>Recovery report: os-disk - FAILED</h1>' in page
    alerts = page[:page.index('<div class="facts">')]
    assert 'VERIFICATION FAILED (train-server): checksums 3 of 84 files differ' in alerts
    assert 'FAILED train_verify / train-server / verify: checksums' in alerts
    assert ': met' not in page
    assert 'NOT MET, the run did not recover' in page
    assert '<td class="bad">FAILED</td>' in page


def test_check_mode_is_said_first():
    page = report_html.render_html(sample_report(check_mode=True))
    assert 'CHECK MODE: nothing was changed' in page[:page.index('<div class="facts">')]
    assert 'not assessed in check mode' in page


def test_hostile_text_is_escaped():
    hostile = '<script>alert(1)</script>"><img src=http://x.invalid/a onerror=alert(2)>'
    page = report_html.render_html(sample_report(scenario=hostile, warning=hostile))
    assert_self_contained(page)
    assert '&lt;script&gt;alert(1)&lt;/script&gt;' in page
    assert '<script' not in page and '<img' not in page
