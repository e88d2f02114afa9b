# -*- coding: utf-8 -*-
"""The safety helpers: no write through a symlink, delete guard, URL secrets, failure text."""

import errno
import os

import pytest

from ansible_collections.resilience.dr.plugins.module_utils import paths, redact, safe_fs
from ansible_collections.resilience.dr.plugins.module_utils.restic import outcome as O
from ansible_collections.resilience.dr.plugins.module_utils.restic import target as T


@pytest.fixture
def victim(tmp_path):
    path = tmp_path / 'victim'
    path.write_text('orig\n')
    os.chmod(path, 0o644)
    return path


def test_state_write_replaces_planted_symlinks(tmp_path, victim):
    target = tmp_path / 't'
    target.mkdir()
    os.symlink(str(victim), str(target / '.restic-restore.json.tmp'))
    os.symlink(str(victim), str(target / '.restic-restore.json'))
    loc = T.state_location(str(target), '.restic-restore.json')
    assert T.read_state(loc) is None  # never read through a symlink
    T.write_state(loc, {'a': 1})
    assert victim.read_text() == 'orig\n' and oct(victim.stat().st_mode & 0o777) == '0o644'
    assert not os.path.islink(str(target / '.restic-restore.json'))
    assert T.read_state(loc) == {'a': 1}
    assert not os.path.lexists(str(target / '.restic-restore.json.tmp'))


def test_state_in_a_symlinked_subdirectory_is_refused(tmp_path):
    target = tmp_path / 't'
    target.mkdir()
    elsewhere = tmp_path / 'elsewhere'
    elsewhere.mkdir()
    os.symlink(str(elsewhere), str(target / 'sub'))
    loc = T.state_location(str(target), 'sub/state.json')
    with pytest.raises(safe_fs.UnsafePath):
        T.write_state(loc, {'a': 1})
    assert os.listdir(str(elsewhere)) == []


def test_walks_below_the_target_never_go_up_or_through_links(tmp_path):
    root = tmp_path / 'root'
    (root / 'a').mkdir(parents=True)
    (tmp_path / 'outside').mkdir()
    os.symlink(str(tmp_path / 'outside'), str(root / 'link'))
    fd = os.open(str(root), os.O_RDONLY | os.O_DIRECTORY)
    try:
        for walk in (safe_fs.open_beneath, safe_fs.makedirs_beneath):
            for rel in ('a/../..', '../outside', 'link', 'link/x'):
                with pytest.raises(safe_fs.UnsafePath):
                    os.close(walk(fd, rel))
        os.close(safe_fs.makedirs_beneath(fd, 'a/b/c'))
        assert (root / 'a' / 'b' / 'c').is_dir()
        assert os.listdir(str(tmp_path / 'outside')) == []
    finally:
        os.close(fd)


def test_merge_replaces_symlinks_at_every_level(tmp_path):
    staged, target, elsewhere = (tmp_path / n for n in ('s', 't', 'e'))
    for d in ('alice/sub', ):
        (staged / d).mkdir(parents=True)
    (staged / 'alice' / 'sub' / 'f').write_text('new')
    (staged / 'alice' / 'g').write_text('g')
    (target / 'alice').mkdir(parents=True)
    elsewhere.mkdir()
    (elsewhere / 'keep').write_text('keep')
    os.symlink(str(elsewhere), str(target / 'alice' / 'sub'))
    os.symlink(str(elsewhere / 'keep'), str(target / 'alice' / 'g'))
    moved = []
    T.merge_staged(str(staged), str(target), moved)
    assert sorted(moved) == ['alice/g', 'alice/sub']
    assert (target / 'alice' / 'sub' / 'f').read_text() == 'new'
    assert not os.path.islink(str(target / 'alice' / 'sub'))
    assert os.listdir(str(elsewhere)) == ['keep'] and (elsewhere / 'keep').read_text() == 'keep'


def test_metadata_and_removal_never_follow(tmp_path):
    target, elsewhere = tmp_path / 't', tmp_path / 'e'
    target.mkdir()
    elsewhere.mkdir()
    os.chmod(str(elsewhere), 0o755)
    (elsewhere / 'x').write_text('x')
    os.symlink(str(elsewhere), str(target / 'alice'))
    node = {'type': 'dir', 'mode': 0o700, 'uid': None, 'gid': None, 'mtime_ns': 10 ** 9}
    T.apply_dir_metadata(str(target), None, {'alice': node, 'alice/x': node})
    assert os.stat(str(elsewhere)).st_mode & 0o777 == 0o755
    T.remove_extra(str(target), ['alice/x'])
    assert (elsewhere / 'x').exists()
    T.remove_extra(str(target), ['alice'])
    assert not os.path.lexists(str(target / 'alice')) and (elsewhere / 'x').exists()


def test_staging_planted_as_symlink_is_replaced(tmp_path):
    target, elsewhere = tmp_path / 't', tmp_path / 'e'
    target.mkdir()
    elsewhere.mkdir()
    (elsewhere / 'x').write_text('x')
    os.symlink(str(elsewhere), str(target / T.STAGING_NAME))
    path = T.make_staging(str(target))
    assert os.path.isdir(path) and not os.path.islink(path)
    assert (elsewhere / 'x').exists()
    assert T.remove_staging(str(target)) and not os.path.lexists(path)


@pytest.mark.parametrize('target', ['/', '/.', '//', '/tmp/..', '/usr', '/etc/', '/usr/../etc',
                                    '//var', '/home', '/./root'])
def test_delete_guard_normalises(target):
    assert paths.system_dir(target)


def test_delete_guard_resolves_symlinks(tmp_path):
    link = tmp_path / 'root-link'
    os.symlink('/', str(link))
    assert paths.system_dir(str(link)) == '/'
    assert paths.system_dir(str(tmp_path / 'homes')) is None
    assert paths.system_dir('/mnt/storage/homes') is None


@pytest.mark.parametrize('value, secrets', [
    ('rest:http://user:S3cr3tPw@host:8000/repo', ['S3cr3tPw']),
    ('s3:https://AKIAXX:wJalrXUtn@minio:9000/bucket', ['wJalrXUtn']),
    ('rclone::s3,provider=AWS,env_auth=false,access_key_id=AKIA123,secret_access_key=SK-123:b/p',
     ['AKIA123', 'SK-123']),
    ('azure:container:/path?sv=2020&sig=abcDEF%2Bxyz', ['abcDEF%2Bxyz']),
    ('rclone:gdrive:backups/ml-train-server', []),
    ('/srv/restic', []),
    ('sftp:user@host:/srv/restic', []),
])
def test_url_secrets(value, secrets):
    assert redact.url_secrets(value) == secrets
    masked = redact.redact_url(value)
    for secret in secrets:
        assert secret not in masked
    if not secrets:
        assert masked == value


def test_failure_says_what_it_left(tmp_path):
    progress = O.Progress(str(tmp_path / 't'))
    exc = OSError(errno.ENOSPC, 'No space left on device')
    fail = O.failure(exc, progress, None, 'The staging directory x was removed.', 'Next: room.')
    assert fail.changed is False
    assert 'unchanged' in str(fail) and 'Next: room.' in str(fail)
    assert fail.as_result()['error_kind'] == 'no_space'
    progress.merged.append('alice')
    fail = O.failure(exc, progress, None, None, None)
    assert fail.changed is True and fail.as_result()['target_state'] == 'partial'
    assert 're-run' in str(fail)
    fail = O.failure(O.VerifyMismatch('differs'), progress, None, None)
    assert fail.changed is True and fail.as_result()['target_state'] == 'restored-differs'


# -- the one module contract (runner.py) -------------------------------------------------------

def test_a_plan_that_fails_part_way_says_changed_and_what_ran():
    from ansible_collections.resilience.dr.plugins.module_utils.runner import (
        ModuleFailure, Plan)

    ran = []

    def boom():
        raise ModuleFailure('second step broke', hint='look at it')

    plan = Plan()
    plan.add('first', action=lambda: ran.append(1))
    plan.add('second', action=boom)
    plan.add('third', action=lambda: ran.append(3))
    with pytest.raises(ModuleFailure) as err:
        plan.execute(runner=None)
    result = err.value.as_result()
    assert ran == [1]
    assert result['changed'] is True
    assert [s['step'] for s in result['steps_done']] == ['first']
    assert [s['step'] for s in result['steps_left']] == ['second', 'third']
    assert str(err.value) == 'second step broke -- next: look at it'


def test_every_failure_is_a_module_failure():
    from ansible_collections.resilience.dr.plugins.module_utils.bcache.preflight import (
        BcacheFailure)
    from ansible_collections.resilience.dr.plugins.module_utils.runner import (
        CommandError, ModuleFailure, Refusal)

    refusal = Refusal('would wipe /dev/x', option='wipe')
    assert isinstance(refusal, ModuleFailure)
    assert refusal.as_result() == {'changed': False, 'refused': True, 'option': 'wipe'}
    error = CommandError(['false'], 1, stderr='nope', hint='try again')
    assert error.as_result()['cmd'] == 'false' and error.as_result()['changed'] is False
    assert issubclass(BcacheFailure, ModuleFailure)
    assert isinstance(O.RestoreFailed('x', True, {}), ModuleFailure)


def test_a_step_that_may_fail_runs_without_check_rc_and_others_with_it():
    from ansible_collections.resilience.dr.plugins.module_utils.runner import Plan

    class RecordingRunner:
        def __init__(self):
            self.calls = []

        def run(self, argv, check_rc=True, hint=None):
            self.calls.append((argv, check_rc))
            return 0, '', ''

    plan = Plan()
    plan.add('forget', argv=['btrfs', 'device', 'scan', '--forget', '/dev/x'], may_fail=True)
    plan.add('wipe', argv=['wipefs', '-a', '/dev/x'], destructive=True)
    runner = RecordingRunner()
    plan.execute(runner)
    assert runner.calls == [(['btrfs', 'device', 'scan', '--forget', '/dev/x'], False),
                            (['wipefs', '-a', '/dev/x'], True)]


def test_an_action_step_shows_the_command_it_runs_and_a_command_step_cannot_pretend():
    from ansible_collections.resilience.dr.plugins.module_utils.runner import Plan, Step

    plan = Plan()
    plan.add('restore', action=lambda: None, shows=['restic', 'restore', 'latest'])
    plan.add('sysfs write', action=lambda: None)
    assert [s['command'] for s in plan.as_list()] == ['restic restore latest', None]
    with pytest.raises(ValueError):
        Step('wipe', argv=['wipefs', '-a', '/dev/x'], shows=['true'])
