"""ClaudeFS conformance tests: which cluster they run against, and the shared fixtures.

By default every cluster is an emulator brought up here (``cfsemu``), owned by this pytest
process: a fixture takes it down in ``finally``, an atexit hook does so if pytest dies in
between, and ``cfsemu gc`` (run at session start) removes what a killed run left.

``CFS_ENDPOINT`` (+ ``CFS_ADMIN_TOKEN``) points the tests at a real cluster instead: the
contract tests run against it, the behaviour tests that need fault injection skip (a real
cluster's faults are not this harness's to inject).

Seeds: ``CFS_SEED`` fixes the seed of every randomised test (default: a new one per run, printed
and saved with each history under tests/output/claudefs/).
"""

import atexit
import os
import random
import shutil
import sys
import time

import pytest

LAB = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'lab', 'claudefs')
if LAB not in sys.path:
    sys.path.insert(0, LAB)

from cfscheck.api import Client  # noqa: E402
from cfscheck.contract import Contract, Coverage  # noqa: E402
from cfs_helpers import assert_healthy  # noqa: E402
from cfsemu import supervisor  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CONTRACT = os.path.join(REPO, 'docs', 'claudefs', 'admin-api.yaml')
OUTPUT = os.path.join(REPO, 'tests', 'output', 'claudefs')
REMOTE = os.environ.get('CFS_ENDPOINT')


class Emulator:
    """One emulator cluster for tests: the supervisor plus API clients per node."""

    def __init__(self, base, contract, coverage, **options):
        for attempt in range(10):  # another run may claim the same free net first
            self.net = supervisor.free_net()
            self.state_dir = os.path.join(base, 'cfs-%d' % self.net)
            try:
                self.cluster = supervisor.Cluster.create(self.state_dir, owner=os.getpid(),
                                                         net=self.net, **options)
                break
            except supervisor.ClusterError:
                if attempt == 9:
                    raise
                time.sleep(0.1)
        supervisor.set_owner(self.state_dir, os.getpid(), temporary=True)
        self.contract = contract
        self.coverage = coverage
        self.doc = self.cluster.doc
        atexit.register(self.down)
        self.started = time.monotonic()
        self.timings = self.cluster.up(timeout=90)

    def client(self, node=None, timeout=5.0, token=None):
        node = node or self.doc['sites'][self.doc['active_site']]['nodes'][0]
        endpoint = 'http://%s:%d' % (self.doc['nodes'][node]['address'], self.doc['admin_port'])
        return Client(endpoint, self.doc['admin_token'] if token is None else token,
                      self.contract, self.coverage, timeout)

    def nodes(self, site=None):
        if site:
            return list(self.doc['sites'][site]['nodes'])
        return list(self.doc['nodes'])

    def save_logs(self, name):
        """Copy the node and S3 logs next to the run's histories (kept on failure)."""
        target = os.path.join(OUTPUT, 'logs', name)
        os.makedirs(target, exist_ok=True)
        for node, spec in self.doc['nodes'].items():
            log = os.path.join(spec['dir'], 'node.log')
            if os.path.exists(log):
                shutil.copy(log, os.path.join(target, '%s.log' % node))
        for path in ('faults.jsonl',):
            src = os.path.join(self.state_dir, path)
            if os.path.exists(src):
                shutil.copy(src, target)
        return target

    def down(self):
        if os.path.exists(os.path.join(self.state_dir, 'cluster.json')):
            self.cluster.down(remove_state=True)


class Remote:
    """A real endpoint: no faults, no per-node clients."""

    def __init__(self, contract, coverage):
        self.contract = contract
        self.coverage = coverage
        self.doc = None

    def client(self, node=None, timeout=5.0, token=None):
        if node:
            pytest.skip('per-node calls need the emulator (CFS_ENDPOINT is one endpoint)')
        return Client(REMOTE, os.environ.get('CFS_ADMIN_TOKEN', '') if token is None else token,
                      self.contract, self.coverage, timeout)


@pytest.fixture(scope='session')
def contract():
    if not os.path.exists(CONTRACT):
        pytest.skip('no contract yet at docs/claudefs/admin-api.yaml')
    return Contract.load(CONTRACT)


@pytest.fixture(scope='session')
def coverage(contract):
    return Coverage(contract)


@pytest.fixture(scope='session')
def run_seed():
    seed = int(os.environ.get('CFS_SEED') or random.SystemRandom().randrange(1 << 31))
    print('claudefs: run seed %d (CFS_SEED=%d repeats it)' % (seed, seed))
    return seed


@pytest.fixture(scope='session')
def cfs_base(tmp_path_factory):
    supervisor.gc()  # what an earlier, killed run left behind
    return str(tmp_path_factory.mktemp('claudefs'))


@pytest.fixture(scope='session')
def cfs(contract, coverage, cfs_base, request):
    """The shared cluster for the contract tests (they restore what they change)."""
    if REMOTE:
        yield Remote(contract, coverage)
        return
    emulator = Emulator(cfs_base, contract, coverage)
    try:
        yield emulator
    finally:
        if request.session.testsfailed:
            emulator.save_logs('session')
        emulator.down()


@pytest.fixture
def cluster_factory(contract, coverage, cfs_base, request):
    """Clusters of a test's own, with options (``flash_quota=...``); all taken down after."""
    if REMOTE:
        pytest.skip('fault injection needs the emulator: unset CFS_ENDPOINT')
    made = []

    def make(**options):
        emulator = Emulator(cfs_base, contract, coverage, **options)
        made.append(emulator)
        assert_healthy(emulator, 'before the fault')
        return emulator
    try:
        yield make
    finally:
        failed = getattr(request.node, 'rep_call_failed', False)
        for emulator in made:
            if failed:
                emulator.save_logs('%s-net%d' % (request.node.name, emulator.net))
            emulator.down()


@pytest.fixture
def fresh(cluster_factory):
    """A cluster of its own for a test that destroys things (the emulator only)."""
    return cluster_factory()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when == 'call' and report.failed:
        item.rep_call_failed = True


@pytest.fixture
def seed(run_seed, request):
    """A per-test seed derived from the run's seed (logged, saved with the history)."""
    return random.Random('%d-%s' % (run_seed, request.node.name)).randrange(1 << 31)
