# -*- coding: utf-8 -*-
"""resilience.dr.managed_files on the host's real filesystem: many files and directories in one
call, idempotent, check and diff mode, refusals before any change, symlinks never followed, and
the train roles' templates rendered through the lookup byte for byte as the template action
writes them (so that servers set up before the change see no change)."""

import json
import os
import stat
import subprocess
import sys

import pytest

from testlib import REPO, ansible_env, bin_path

pytestmark = pytest.mark.integration


def mode(path):
    return stat.S_IMODE(os.lstat(path).st_mode)


def entries(base):
    return [
        {'path': str(base / 'etc'), 'state': 'directory', 'mode': '0755'},
        {'path': str(base / 'etc' / 'job.json'), 'content': '{"a": 1}\n', 'mode': '0644'},
        {'path': str(base / 'etc' / 'secret'), 'content': 'pw', 'mode': '0600',
         'owner': 'root', 'group': '0'},
        {'path': 'cache/restic', 'state': 'directory', 'mode': '0750'},
        {'path': 'docker', 'state': 'directory'},
    ]


def test_creates_then_changes_nothing_and_check_mode_plans(run_module, tmp_path):
    args = {'files': entries(tmp_path), 'root': str(tmp_path), 'defaults': {'owner': 0, 'group': 0}}
    planned = run_module('managed_files', args, check=True, diff=True)
    assert not planned.failed and planned['changed'], planned
    assert not (tmp_path / 'etc').exists()  # check mode changed nothing
    assert [p['changes'] for p in planned['paths']] == [['created']] * 5
    assert {d['after_header']: d['after'] for d in planned['diff']}[str(tmp_path / 'etc' / 'job.json')] == '{"a": 1}\n'

    first = run_module('managed_files', args)
    assert not first.failed and first['changed'] and len(first['changed_paths']) == 5, first
    assert (tmp_path / 'etc' / 'job.json').read_text() == '{"a": 1}\n'
    assert (tmp_path / 'etc' / 'secret').read_bytes() == b'pw'
    assert mode(tmp_path / 'etc') == 0o755 and mode(tmp_path / 'etc' / 'secret') == 0o600
    assert mode(tmp_path / 'cache' / 'restic') == 0o750
    assert (tmp_path / 'docker').is_dir()

    second = run_module('managed_files', args)
    assert not second.failed and not second['changed'] and second['changed_paths'] == [], second

    # Drift: content, mode and a directory's mode are put back, and only those are reported.
    (tmp_path / 'etc' / 'job.json').write_text('edited')
    os.chmod(tmp_path / 'etc' / 'secret', 0o644)
    os.chmod(tmp_path / 'docker', 0o710)  # no mode in the request: left alone
    third = run_module('managed_files', args, diff=True)
    changes = {p['path']: p['changes'] for p in third['paths']}
    assert changes[str(tmp_path / 'etc' / 'job.json')] == ['content']
    assert changes[str(tmp_path / 'etc' / 'secret')] == ['mode']
    assert changes[str(tmp_path / 'docker')] == []
    assert mode(tmp_path / 'docker') == 0o710 and mode(tmp_path / 'etc' / 'secret') == 0o600
    assert third['diff'][0]['before'] == 'edited'


def test_owner_and_group_by_number(run_module, tmp_path):
    target = tmp_path / 'home'
    result = run_module('managed_files', {'files': [
        {'path': str(target), 'state': 'directory', 'mode': '0700', 'owner': 4242, 'group': '4243'}]})
    assert not result.failed, result
    st = os.stat(target)
    assert (st.st_uid, st.st_gid, mode(target)) == (4242, 4243, 0o700)


def test_existing_file_keeps_mode_and_owner_when_the_request_leaves_them(run_module, tmp_path):
    path = tmp_path / 'f'
    path.write_text('old')
    os.chmod(path, 0o640)
    os.chown(path, 4242, 4242)
    result = run_module('managed_files', {'files': [{'path': str(path), 'content': 'new'}]})
    assert result['changed_paths'] == [str(path)]
    st = os.stat(path)
    assert path.read_text() == 'new' and mode(path) == 0o640 and (st.st_uid, st.st_gid) == (4242, 4242)


def test_symlink_where_a_directory_belongs_is_refused_before_any_change(run_module, tmp_path):
    victim = tmp_path / 'victim'
    victim.mkdir()
    os.chmod(victim, 0o755)
    home = tmp_path / 'homes' / 'alice'
    home.mkdir(parents=True)
    os.symlink(str(victim), str(home / '.ssh'))  # planted by the user who owns the home
    result = run_module('managed_files', {'files': [
        {'path': str(tmp_path / 'first'), 'state': 'directory'},
        {'path': str(home / '.ssh'), 'state': 'directory', 'mode': '0700', 'owner': 4242}]})
    assert result.failed and 'symlink' in result['msg'] and 'Nothing was changed' in result['msg']
    assert not (tmp_path / 'first').exists()  # the valid entry before it was not applied either
    assert mode(victim) == 0o755 and os.stat(victim).st_uid == 0


def test_symlink_where_a_file_belongs_is_replaced_not_written_through(run_module, tmp_path):
    victim = tmp_path / 'victim'
    victim.write_text('untouched')
    link = tmp_path / 'backup.env'
    os.symlink(str(victim), str(link))
    result = run_module('managed_files', {'files': [{'path': str(link), 'content': 'A=1\n', 'mode': '0600'}]})
    assert not result.failed and result['paths'][0]['changes'] == ['replaced_symlink'], result
    assert not link.is_symlink() and link.read_text() == 'A=1\n' and mode(link) == 0o600
    assert victim.read_text() == 'untouched'


@pytest.mark.parametrize('bad, words', [
    ({'path': 'relative', 'content': 'x'}, 'not an absolute path'),
    ({'path': '/PLACEHOLDER/f', 'content': 'x', 'mode': 'u+rw'}, 'not an octal number'),
    ({'path': '/PLACEHOLDER/f', 'content': 'x', 'owner': 'no-such-user-here'}, 'does not exist'),
    ({'path': '/PLACEHOLDER/missing/f', 'content': 'x'}, 'does not exist'),
    ({'path': '/PLACEHOLDER/d', 'state': 'directory', 'content': 'x'}, 'takes no content'),
    ({'path': '/PLACEHOLDER/f'}, 'needs content'),
])
def test_bad_entries_are_refused_with_nothing_changed(run_module, tmp_path, bad, words):
    bad = dict(bad, path=bad['path'].replace('/PLACEHOLDER', str(tmp_path)))
    result = run_module('managed_files', {'files': [
        {'path': str(tmp_path / 'ok'), 'content': 'x'}, bad]})
    assert result.failed and words in result['msg'], result
    assert sorted(os.listdir(tmp_path)) == []


def test_templates_through_the_lookup_match_the_template_action(tmp_path):
    """train_backups' templates and script, written both ways, are byte-identical."""
    role = os.path.join(REPO, 'roles', 'train_backups')
    names = sorted(os.listdir(os.path.join(role, 'templates')))
    playbook = tmp_path / 'pb.yml'
    tasks = []
    for name in names:
        src = os.path.join(role, 'templates', name)
        tasks.append({'ansible.builtin.template': {'src': src, 'dest': str(tmp_path / 'action' / name[:-3]),
                                                   'mode': '0644'}})
    tasks.append({'ansible.builtin.copy': {'src': os.path.join(role, 'files', 'resilience-dr-backup'),
                                           'dest': str(tmp_path / 'action' / 'script'), 'mode': '0755'}})
    files = [{'path': str(tmp_path / 'module'), 'state': 'directory'}]
    files += [{'path': str(tmp_path / 'module' / name[:-3]),
               'content': "{{ lookup('ansible.builtin.template', '%s') }}"
               % os.path.join(role, 'templates', name)} for name in names]
    files.append({'path': str(tmp_path / 'module' / 'script'),
                  'content': "{{ lookup('ansible.builtin.file', '%s', rstrip=false) }}"
                  % os.path.join(role, 'files', 'resilience-dr-backup')})
    tasks.insert(0, {'ansible.builtin.file': {'path': str(tmp_path / 'action'), 'state': 'directory',
                                              'mode': '0755'}})
    tasks.append({'resilience.dr.managed_files': {'files': files}})
    play = [{'hosts': 'localhost', 'gather_facts': False,
             'vars_files': [os.path.join(REPO, 'roles', 'train_backups', 'defaults', 'main.yml'),
                            os.path.join(REPO, 'roles', 'train_backups', 'vars', 'main.yml'),
                            os.path.join(REPO, 'roles', 'train', 'defaults', 'main.yml')],
             'vars': {'train_backups_password': 'pw', 'train_storage_mountpoint': '/mnt/storage',
                      'train_backups_environment': {'RCLONE_X': 'y'}},
             'tasks': tasks}]
    playbook.write_text(json.dumps(play))
    env = ansible_env({'ANSIBLE_STDOUT_CALLBACK': 'ansible.builtin.default',
                       'RESILIENCE_DR_REPORT_DIR': str(tmp_path / 'reports')})
    env.pop('ANSIBLE_CALLBACKS_ENABLED')
    proc = subprocess.run([bin_path('ansible-playbook'), '-i', 'localhost,', '-c', 'local',
                           '-e', 'ansible_python_interpreter=%s' % sys.executable, str(playbook)],
                          capture_output=True, text=True, env=env, cwd=REPO, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    for name in [n[:-3] for n in names] + ['script']:
        action = (tmp_path / 'action' / name).read_bytes()
        assert action and (tmp_path / 'module' / name).read_bytes() == action, name
