# -*- coding: utf-8 -*-
"""Planning of the restore strategies (module_utils/restic/strategies.py) and of the stale-lock
path (view.py), over snapshots and errors captured from restic 0.14 and 0.18
(tests/unit/fixtures/restic/capture.sh).  Nothing here writes or runs restic."""

import os

import pytest

from ansible_collections.resilience.dr.plugins.module_utils.runner import Plan, render
from ansible_collections.resilience.dr.plugins.module_utils.restic import (
    client, parsers, strategies, target, view)

FIX = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..',
                                    'fixtures', 'restic'))
HOMES = '/W/mnt/storage/snapshots/backup_20250101_010203/homes'
TARGET = '/srv/restore/homes'
RESTIC = '/usr/bin/restic'
RESERVED = target.reserved_names(TARGET, os.path.join(TARGET, target.DEFAULT_STATE_FILE))
STAGING = os.path.join(TARGET, target.STAGING_NAME)


def fixture(name):
    with open(os.path.join(FIX, name)) as handle:
        return handle.read()


def snapshot(version='0.14'):
    return parsers.parse_json_lines(fixture('snapshots_%s.json' % version))[0]


def strategy_for(version, source_path='*/homes', include=(), exclude=(), delete=False):
    """The strategy restic_restore picks for this restic version and selection."""
    features = client.features_for(parsers.parse_version(fixture('version_%s.txt' % version)))
    tree = view.SourceTree(None, snapshot(version), list(include), list(exclude), RESERVED)
    tree.resolve(source_path)  # the backed-up paths name it: no listing needed
    cls = strategies.choose_strategy(features, tree.include, tree.exclude)
    restic = client.Restic(None, executable=RESTIC, repository='/srv/restic')
    return cls(restic, TARGET, tree, None, delete=delete,
               subfolder=features['subfolder'])


@pytest.mark.parametrize('version,include,exclude,expected', [
    ('0.18', [], [], 'native'),
    ('0.18', ['/alice'], [], 'native'),
    ('0.18', [], ['*.bin'], 'native'),
    ('0.18', ['/alice'], ['*.bin'], 'staging'),  # restic refuses --include with --exclude
    ('0.14', [], [], 'staging'),                 # no snapshot:subfolder before 0.17
    ('0.14', ['/alice'], ['*.bin'], 'staging'),
])
def test_choose_strategy(version, include, exclude, expected):
    assert strategy_for(version, include=include, exclude=exclude).name == expected


def test_native_argv_restores_the_subfolder_in_place():
    native = strategy_for('0.18')
    snap_id = snapshot('0.18')['id']
    assert native.argv(verify=False) == [
        RESTIC, 'restore', '--json', '%s:%s' % (snap_id, HOMES), '--target', TARGET,
        '--overwrite', 'if-changed',
        # the module's own names are never restored from the snapshot
        '--exclude', '/.restic-restore-staging', '--exclude', '/.restic-restore.json',
        '--exclude', '/.restic-restore.json.tmp']
    deleting = strategy_for('0.18', delete=True)
    assert deleting.restore_args(verify=True)[5:] == [
        '--overwrite', 'if-changed', '--delete',
        '--exclude', '/.restic-restore-staging', '--exclude', '/.restic-restore.json',
        '--exclude', '/.restic-restore.json.tmp', '--verify']


def test_native_argv_with_include_and_the_whole_snapshot():
    snap_id = snapshot('0.18')['id']
    included = strategy_for('0.18', include=['/alice'])
    # restic refuses --include with --exclude: no reserved-name excludes then
    assert included.restore_args(False) == [
        'restore', '--json', '%s:%s' % (snap_id, HOMES), '--target', TARGET,
        '--include', '/alice', '--overwrite', 'if-changed']
    whole = strategy_for('0.18', source_path=None, exclude=['*.bin'])
    args = whole.restore_args(False)
    assert args[2] == snap_id  # no ":/" for the whole snapshot
    assert args[args.index('--exclude') + 1] == '*.bin'


def test_native_plan_is_one_restic_step():
    native = strategy_for('0.18', delete=True)
    plan = native.plan(verify=False)
    assert isinstance(plan, Plan)
    assert plan.as_list() == [{'step': 'restore with restic (native method)',
                               'command': render(native.argv(False)), 'destructive': False}]


def test_staging_argv_014_translates_include_patterns_to_the_whole_snapshot():
    snap_id = snapshot('0.14')['id']
    staging = strategy_for('0.14')
    assert staging.restore_args(False) == [
        'restore', '--json', snap_id, '--target', STAGING, '--include', HOMES]
    assert staging.staged == STAGING + HOMES  # the subtree keeps its path while staged
    picky = strategy_for('0.14', include=['/bob', '*.bin'], exclude=['*.tmp'])
    args = picky.restore_args(True)
    assert args[-5:] == ['--include', HOMES + '/bob', '--include', HOMES + '/**/*.bin',
                         '--verify']
    assert '--exclude' not in args  # pruned from the staged tree instead


def test_staging_argv_018_with_include_and_exclude_uses_the_subfolder():
    snap_id = snapshot('0.18')['id']
    staging = strategy_for('0.18', include=['/bob'], exclude=['*.bin'])
    assert staging.restore_args(False) == [
        'restore', '--json', '%s:%s' % (snap_id, HOMES), '--target', STAGING,
        '--include', '/bob']
    assert staging.staged == STAGING


def test_staging_argv_whole_snapshot_passes_excludes_without_includes():
    snap_id = snapshot('0.14')['id']
    staging = strategy_for('0.14', source_path=None, exclude=['*.tmp'])
    assert staging.restore_args(False) == [
        'restore', '--json', snap_id, '--target', STAGING, '--exclude', '*.tmp']


@pytest.mark.parametrize('delete', [False, True])
def test_staging_plan_steps(delete):
    staging = strategy_for('0.14', delete=delete)
    steps = staging.plan(verify=False).as_list()
    expected = [
        ('clear the staging directory %s' % STAGING, None, False),
        ('restore with restic (staging method)', render(staging.argv(False)), False),
        ('rename the staged subtree into %s' % TARGET, None, delete),
    ]
    if delete:
        expected.append(('delete from the target what the snapshot lacks', None, True))
    assert [(s['step'], s['command'], s['destructive']) for s in steps] == expected


@pytest.mark.parametrize('version,source_path,empty,expected', [
    ('0.18', '*/homes', True, 'scan+root'),
    ('0.18', '*/homes', False, 'full'),
    ('0.18', None, True, 'scan'),
    ('0.14', '*/homes', False, 'scan'),
    ('0.14', None, True, 'scan'),
])
def test_listing_mode_of_each_strategy(version, source_path, empty, expected):
    chosen = strategy_for(version, source_path=source_path)
    assert chosen.listing_mode(False, empty) == expected
    assert chosen.listing_mode(True, empty) == 'loaded'


def test_restic_step_reports_its_command_and_runs_its_action():
    ran = []
    plan = Plan()
    plan.add('restore', action=lambda: ran.append(1), shows=[RESTIC, 'restore', '--json'])
    assert plan.as_list() == [{'step': 'restore', 'command': RESTIC + ' restore --json',
                               'destructive': False}]
    plan.execute(runner=None)  # an action step never reaches the runner
    assert ran == [1]


class ReplayRunner:
    """Answers restic with output captured from it: locked unless --no-lock, as restic does."""

    def __init__(self, version):
        self.version = version
        self.executed = []

    def run(self, argv, check_rc=True, env=None, **kwargs):
        self.executed.append(list(argv))
        if '--no-lock' not in argv:
            text = fixture('err_locked_%s.txt' % self.version).rstrip('\n').splitlines()
            return int(text[-1].split('=')[1]), '', '\n'.join(text[:-1])
        if 'snapshots' in argv:
            return 0, fixture('snapshots_%s.json' % self.version), ''
        return 0, fixture('ls_homes_%s.ndjson' % self.version), ''


@pytest.mark.parametrize('version', ['0.14', '0.18'])
def test_check_mode_plans_one_unlock_and_reads_without_lock(version):
    runner = ReplayRunner(version)
    restic = client.Restic(runner, executable=RESTIC, repository='/srv/restic', retries=0)
    plan = Plan()
    repo = view.RepositoryView(restic, unlock_stale=True, check_mode=True, plan=plan)
    snap = repo.find_snapshot(host='train', tags=['train-backups'])
    assert snap['short_id'] == snapshot(version)['short_id']
    tree = view.SourceTree(repo, snap, [], [], RESERVED)
    tree.resolve('*/homes')
    tree.load()
    assert set(tree.wanted()[1]) >= {'alice', 'bob/zeros.bin'}
    assert plan.as_list() == [{'step': 'remove stale repository locks',
                               'command': RESTIC + ' unlock', 'destructive': False}]
    assert not repo.unlocked  # check mode only plans it
    # one locked read, then every read without a lock; never restic unlock itself
    assert ['--no-lock' in argv for argv in runner.executed] == [False, True, True]
    assert not any('unlock' in argv for argv in runner.executed)


@pytest.mark.parametrize('version', ['0.14', '0.18'])
def test_locked_without_unlock_stale_fails_with_the_hint(version):
    restic = client.Restic(ReplayRunner(version), executable=RESTIC, repository='/r')
    repo = view.RepositoryView(restic, unlock_stale=False, check_mode=True, plan=Plan())
    with pytest.raises(client.ResticError) as exc:
        repo.find_snapshot()
    assert exc.value.kind == 'locked' and 'unlock_stale' in exc.value.hint
