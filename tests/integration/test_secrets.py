# -*- coding: utf-8 -*-
"""No secret ever leaves a run: outputs, reports, state files and temporary directories.

Distinctive secrets are planted in a real playbook run (tests/integration/playbooks/
secrets_probe.yml) of every module of the collection: the repository password (option and
password file), credentials inside repository URLs (REST userinfo, an rclone connection string
with S3 keys), cloud keys in the restic modules' ``environment`` option and in the task
controller's environment of every module (btrfs and bcache modules take no secret: they run with
the secrets in their environment). Some runs fail on purpose. The playbook runs at ``-vvv`` with
the default callback and with the json callback, both with the recovery report callback
enabled by ansible.cfg, under a temporary HOME. Every byte of stdout, stderr, the reports, the
restore target (state file included) and the temporary HOME (``~/.ansible/tmp``, restic's
cache) is searched; the test fails if any secret is found.
"""

import json
import os
import subprocess
import sys
import time

import pytest

from testlib import REPO, ansible_env, bin_path
from restic_helpers import (
    Dataset, ansible_argv, du_bytes, kill_tree, rest_with_auth, restic, tmpdir)

pytestmark = pytest.mark.integration

PLAYBOOK = os.path.join(REPO, 'tests', 'integration', 'playbooks', 'secrets_probe.yml')
HOST_RESTIC = '/usr/bin/restic'
SECRETS = {
    'password': 'PwPlanted-4d7c91-restic',
    'wrong_password': 'WrongPwPlanted-1b2c3d',
    'url': 'UrlPlanted-8e2f44',
    'cloud_key': 'AKIAPLANTED7Q3ZX',
    'cloud_secret': 'CloudPlanted-a9d0e1-xyz',
    'rclone_pass': 'RclonePlanted-55c2',
}


def files_under(root):
    for dirpath, _unused, names in os.walk(root):
        for name in names:
            path = os.path.join(dirpath, name)
            if os.path.isfile(path) and not os.path.islink(path):
                yield path


def leaks(haystacks):
    """[(where, secret name)] for every planted secret found in the haystacks."""
    found = []
    for where, data in haystacks:
        for name, secret in SECRETS.items():
            at = data.find(secret.encode())
            if at >= 0:
                found.append((where, name, data[max(0, at - 160):at + 40]))
    return found


@pytest.fixture(scope='module')
def probe_world():
    with tmpdir('secrets-probe-') as base:
        data = Dataset(os.path.join(base, 'data'))
        repo_root = os.path.join(base, 'repos')
        os.makedirs(repo_root)
        repo = os.path.join(repo_root, 'train')
        env = {'RESTIC_PASSWORD': SECRETS['password']}
        restic(HOST_RESTIC, repo, 'init', env=env)
        restic(HOST_RESTIC, repo, 'backup', '--host', 'train', data.homes(2), env=env)
        bulk = os.path.join(base, 'bulk')
        os.makedirs(bulk)
        with open(os.path.join(bulk, 'blob.bin'), 'wb') as handle:
            handle.write(os.urandom(8 * 1024 * 1024))
        restic(HOST_RESTIC, repo, 'backup', '--host', 'bulk', bulk, env=env)
        with rest_with_auth(repo_root, 'drill', SECRETS['url']) as port:
            yield {'base': base, 'port': port, 'data': data}


@pytest.mark.parametrize('mode', ['vvv-default', 'json'])
def test_no_secret_anywhere(probe_world, mode):
    base = probe_world['base']
    run_dir = os.path.join(base, mode)
    home = os.path.join(run_dir, 'home')
    report_dir = os.path.join(run_dir, 'reports')
    target = os.path.join(run_dir, 'target')
    os.makedirs(home)
    pw_file = os.path.join(run_dir, 'restic-password')
    with open(pw_file, 'w') as handle:
        handle.write(SECRETS['password'] + '\n')
    os.chmod(pw_file, 0o600)
    cloud_env = {'AWS_ACCESS_KEY_ID': SECRETS['cloud_key'],
                 'AWS_SECRET_ACCESS_KEY': SECRETS['cloud_secret'],
                 'RCLONE_CONFIG_PROBE_PASS': SECRETS['rclone_pass'],
                 'RCLONE_RETRIES': '1', 'RCLONE_LOW_LEVEL_RETRIES': '1'}
    probe_vars = {
        'probe_repo_url': 'rest:http://drill:%s@127.0.0.1:%d/train' % (
            SECRETS['url'], probe_world['port']),
        'probe_dead_url': 'rest:http://drill:%s@127.0.0.1:9/train' % SECRETS['url'],
        'probe_rclone_repo': ('rclone::s3,provider=Minio,endpoint=http://127.0.0.1:9,'
                              'access_key_id=%s,secret_access_key=%s:bucket/train'
                              % (SECRETS['cloud_key'], SECRETS['cloud_secret'])),
        'probe_password': SECRETS['password'],
        'probe_wrong_password': SECRETS['wrong_password'],
        'probe_password_file': pw_file,
        'probe_restic': HOST_RESTIC,
        'probe_target': target,
        'probe_cloud_env': cloud_env,
        'ansible_python_interpreter': sys.executable,
    }
    # the vault's role: secrets come from a vars file, never from the command line
    vars_file = os.path.join(base, '%s-vars.json' % mode)
    with open(vars_file, 'w') as handle:
        json.dump(probe_vars, handle)
    env = ansible_env({'HOME': home, 'RESILIENCE_DR_REPORT_DIR': report_dir,
                       'PATH': os.path.dirname(sys.executable) + ':' + os.environ['PATH']})
    env.pop('ANSIBLE_CALLBACKS_ENABLED')  # ansible.cfg enables the recovery report
    env.update(cloud_env)  # an operator's shell with cloud keys exported
    argv = [bin_path('ansible-playbook'), '-i', 'localhost,', '-c', 'local',
            '-e', '@' + vars_file, PLAYBOOK]
    if mode == 'json':
        env['ANSIBLE_STDOUT_CALLBACK'] = 'ansible.posix.json'
    else:
        env['ANSIBLE_STDOUT_CALLBACK'] = 'ansible.builtin.default'
        argv.append('-vvv')
    try:
        proc = subprocess.run(argv, capture_output=True, env=env, cwd=REPO, timeout=900,
                              check=False)
        out = proc.stdout.decode('utf-8', 'replace')
        assert proc.returncode == 0, out[-3000:] + proc.stderr.decode('utf-8', 'replace')[-3000:]

        # the run did what it should: a restore, the failures it was meant to have, reports
        assert os.path.exists(os.path.join(target, '.restic-restore.json'))
        assert os.path.isdir(os.path.join(target, 'alice'))
        reports = os.listdir(report_dir)
        assert any(r.endswith('.json') for r in reports) and any(r.endswith('.md') for r in reports)
        if mode == 'json':
            doc = json.JSONDecoder().raw_decode(out)[0]  # the report summary follows
            results = [t['hosts']['localhost'] for t in doc['plays'][0]['tasks']]
            failed = [r for r in results if r.get('failed')]
            assert len(failed) >= 5, [r.get('msg') for r in results]
            assert any(r.get('error_kind') == 'wrong_password' for r in failed)
            # masked where it would have been: the URL in the invocation, the tool's stderr
            info = results[0]
            assert info['invocation']['module_args']['repository'].startswith('rest:http://drill:')
            assert info['repository'].startswith('rest:http://drill:***@')
        else:
            assert 'ignored=' in out and 'ignored=0' not in out

        haystacks = [('stdout', proc.stdout), ('stderr', proc.stderr)]
        for root in (report_dir, target, home):
            haystacks += [(path, open(path, 'rb').read()) for path in files_under(root)]
        found = leaks(haystacks)
        assert not found, 'secrets leaked: %s' % found
        # the searched places are not empty (so the search means something)
        assert len(haystacks) > 5
    finally:
        subprocess.run(['rm', '-rf', run_dir], check=False)


def test_environment_keyword_is_shown_at_vvv(tmp_path):
    """What docs/security.md says about ansible-core itself: values of the play/task
    ``environment:`` keyword appear in -vvv output. If this ever fails, ansible-core changed
    and the page (and the advice to use the modules' no_log ``environment`` option) can go."""
    playbook = tmp_path / 'env.yml'
    playbook.write_text('- name: Env probe\n  hosts: all\n  gather_facts: false\n'
                        '  tasks:\n    - name: Probe\n      ansible.builtin.command: "true"\n'
                        '      changed_when: false\n'
                        '      environment:\n        PROBE_TOKEN: %s\n' % SECRETS['cloud_secret'])
    env = ansible_env({'HOME': str(tmp_path), 'ANSIBLE_STDOUT_CALLBACK': 'ansible.builtin.default'})
    proc = subprocess.run([bin_path('ansible-playbook'), '-i', 'localhost,', '-c', 'local',
                           '-e', 'ansible_python_interpreter=%s' % sys.executable, '-vvv',
                           str(playbook)], capture_output=True, text=True, env=env, cwd=REPO,
                          timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout[-2000:]
    assert SECRETS['cloud_secret'] in proc.stdout


@pytest.mark.parametrize('pipelining', ['True', 'False'])
def test_killed_run_leaves_no_secret_in_ansible_tmp(probe_world, pipelining):
    """SIGKILL (ansible, the module, restic) mid-restore, then search the temporary HOME.
    docs/security.md reports what ansible-core leaves there; this pins it down."""
    base = probe_world['base']
    run_dir = os.path.join(base, 'killed-%s' % pipelining)
    home = os.path.join(run_dir, 'home')
    target = os.path.join(run_dir, 'target')
    os.makedirs(home)
    args = {'repository': os.path.join(base, 'repos', 'train'), 'password': SECRETS['password'],
            'executable': HOST_RESTIC, 'host': 'bulk', 'target': target, 'limit_download': 256}
    env = ansible_env({'HOME': home, 'ANSIBLE_PIPELINING': pipelining})
    proc = subprocess.Popen(ansible_argv('restic_restore', args), env=env, cwd=REPO,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        deadline = time.time() + 120
        while time.time() < deadline and proc.poll() is None and du_bytes(target) < 512 * 1024:
            time.sleep(0.1)
        assert proc.poll() is None, 'the restore ended before it could be killed'
        kill_tree(proc.pid)
        proc.wait()
        left = list(files_under(home))
        found = leaks([(path, open(path, 'rb').read()) for path in left])
        assert not found, 'secrets left behind by a killed run: %s' % found
    finally:
        if proc.poll() is None:
            kill_tree(proc.pid)
            proc.wait()
        subprocess.run(['rm', '-rf', run_dir], check=False)
