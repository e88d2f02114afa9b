# -*- coding: utf-8 -*-
"""resilience.dr.progress around a real long step: a btrfs scrub of a loop-device filesystem
started with async, polled with progress lines, and its result compared with the same module
run without async (the result must be the same); a failing step stays a failure; check mode."""

import json
import os
import re
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))
from btrfs_helpers import have_root_and_loops, loop_pool, sh  # noqa: E402
from testlib import REPO, ansible_env, bin_path  # noqa: E402

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not have_root_and_loops(), reason='needs root and loop devices'),
]

PLAYBOOK = os.path.join(REPO, 'tests', 'integration', 'playbooks', 'progress.yml')
# Fields that differ between two scrubs by nature (times, durations).
VOLATILE = {'scrub', 'started', 'duration_seconds', 'age_seconds', 'last_scrub', 'finished',
            'threshold', 'previous'}  # 'previous': the sync run's scrub is the async run's previous one


@pytest.fixture(scope='module')
def mounted():
    with loop_pool(size_mb=2048, prefix='progress-') as pool:
        loop = pool.new(1)[0]
        sh('mkfs.btrfs', '-q', '-f', loop.device)
        mnt = pool.mount(loop.device)
        with open(os.path.join(mnt, 'data'), 'wb') as handle:
            for dummy in range(600):
                handle.write(os.urandom(1024 * 1024))
        sh('sync')
        yield mnt


def run(mnt, variant, tmp_path, check=False):
    out = tmp_path / ('%s.json' % variant)
    argv = [bin_path('ansible-playbook'), '-i', 'localhost,', '-c', 'local',
            '-e', 'ansible_python_interpreter=%s' % sys.executable,
            '-e', 'mnt=%s variant=%s out=%s' % (mnt, variant, out), PLAYBOOK]
    if check:
        argv.append('--check')
    env = ansible_env({'ANSIBLE_STDOUT_CALLBACK': 'ansible.builtin.default',
                       'RESILIENCE_DR_REPORT_DIR': str(tmp_path / 'reports')})
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=REPO, timeout=900,
                          check=False)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    with open(str(out)) as handle:
        return json.load(handle), proc.stdout


def stable(result):
    kept = dict((k, v) for k, v in result.items() if k not in VOLATILE and not k.startswith('_'))
    kept['commands'] = [dict((k, v) for k, v in c.items() if k != 'seconds')
                        for c in kept.get('commands') or []]
    return kept


def test_progress_returns_what_the_module_returns(mounted, tmp_path):
    sync = run(mounted, 'sync', tmp_path)[0]
    with_progress, stdout = run(mounted, 'async', tmp_path)
    assert set(with_progress) == set(sync), set(with_progress) ^ set(sync)
    assert stable(with_progress) == stable(sync)
    assert with_progress['changed'] is True and with_progress['uncorrectable_errors'] == 0
    lines = [l for l in stdout.splitlines() if l.startswith('  [localhost] btrfs_scrub %s' % mounted)]
    assert lines and lines[-1].endswith('s') and 'done in' in lines[-1], stdout[-3000:]
    # The scrub ran in the background: the launch task reported no change of its own.
    assert 'TASK [Scrub in the background]' in stdout
    assert 'ok: [localhost]' in stdout.split('TASK [Scrub in the background]')[1].split('TASK [')[0]


def test_a_failing_step_stays_a_failure(mounted, tmp_path):
    result = run(mounted, 'fail', tmp_path)[0]
    assert result['failed'] is True and result['rc'] == 3 and result['stderr'] == 'broken'
    assert 'ansible_job_id' not in result and 'finished' not in result


def test_check_mode_waits_for_the_check_mode_result(mounted, tmp_path):
    sync = run(mounted, 'sync', tmp_path, check=True)[0]
    with_progress = run(mounted, 'async', tmp_path, check=True)[0]
    assert stable(with_progress) == stable(sync)


def test_progress_lines_reach_awx_job_output(tmp_path):
    """Under ansible-runner (AWX) the lines are job events (verbose), so the job output shows
    them while the step runs; percent, bytes, rate and ETA of a file being written."""
    import ansible_runner
    private = tmp_path / 'runner'
    private.mkdir()
    out = tmp_path / 'bytes.json'
    runner = ansible_runner.run(
        private_data_dir=str(private), project_dir=REPO, playbook=PLAYBOOK,
        inventory='localhost ansible_connection=local ansible_python_interpreter=%s' % sys.executable,
        extravars={'mnt': str(tmp_path), 'variant': 'bytes', 'out': str(out)},
        envvars={'HOME': str(tmp_path), 'PATH': os.path.dirname(sys.executable) + ':/usr/bin:/bin'},
        quiet=True)
    assert runner.status == 'successful', runner.stdout.read()[-3000:]
    lines = [e['stdout'] for e in runner.events
             if e['event'] == 'verbose' and 'bytes_in %s/written' % tmp_path in e.get('stdout', '')]
    measured = [line for line in lines if '% ' in line or '%,' in line]
    assert measured and 'of 7.6 MiB' in measured[-1], lines
    assert re.search(r'\d+\.\d (KiB|MiB)/s', ' '.join(measured)), lines
    assert 'ETA' in ' '.join(measured) and lines[-1].endswith('s') and 'done in' in lines[-1]
    with open(str(out)) as handle:
        result = json.load(handle)
    assert result['rc'] == 0 and result['stdout'] == 'wrote' and 'ansible_job_id' not in result
