"""Last in the tier: every operation of the contract was called at least once.

Only meaningful when the whole tier ran (pytest orders files by name, so this one comes
last); with a subset selected (``-k``, one file) it skips rather than report operations the
other files would have called, and against a real endpoint (``CFS_ENDPOINT``), where the
behaviour tests that call the destructive operations skip."""

import glob
import os

import pytest

pytestmark = pytest.mark.claudefs

HERE = os.path.dirname(os.path.abspath(__file__))


def test_every_operation_was_called(coverage, request):
    if os.environ.get('CFS_ENDPOINT'):
        pytest.skip('a real endpoint: the destructive operations are only called on the '
                    'emulator (called: %s)' % ', '.join(sorted(coverage.calls)))
    files = {os.path.basename(p) for p in glob.glob(os.path.join(HERE, 'test_*.py'))}
    ran = {os.path.basename(str(item.fspath)) for item in request.session.items}
    # make test's tier leaves out only the tests marked known_issue: still the whole contract
    whole = ('claudefs', 'claudefs and not known_issue', '')
    if files - ran or request.config.getoption('keyword') or request.config.getoption('markexpr') \
            not in whole:
        pytest.skip('only part of the ClaudeFS tier ran (%s)' % ', '.join(sorted(files - ran)))
    missing = coverage.missing()
    assert not missing, 'operations never called: %s' % ', '.join(missing)
    statuses = {op: sorted(codes) for op, codes in coverage.calls.items()}
    print('contract coverage: %d operations, statuses seen: %s' % (len(statuses), statuses))
