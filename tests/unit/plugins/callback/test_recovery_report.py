# -*- coding: utf-8 -*-
"""The recovery_report callback driven with real ansible-core objects (no mocks):
Play/Task/Host/CallbackTaskResult, as the executor hands them to callbacks."""

import glob
import json
import os

import pytest

from ansible.executor.task_result import CallbackTaskResult
from ansible.inventory.host import Host
from ansible.parsing.dataloader import DataLoader
from ansible.playbook.play import Play
from ansible.playbook.task import Task
from ansible.vars.manager import VariableManager

try:  # ansible-core >= 2.19 only templates strings that are trusted (as if loaded from a file)
    from ansible.template import trust_as_template
except ImportError:  # pragma: no cover
    def trust_as_template(value):
        return value

from ansible_collections.resilience.dr.plugins.callback import recovery_report

FIXTURES = os.path.join(os.path.dirname(__file__), '..', '..', 'fixtures', 'report')


def fixture(name):
    with open(os.path.join(FIXTURES, name + '.json')) as handle:
        return json.load(handle)


class Playbook:
    _file_name = '/srv/resilience/playbooks/recover-os-disk.yml'


@pytest.fixture
def callback(tmp_path):
    """The plugin class as the loader would instantiate it, with its two options set.

    (Option parsing from env/ini is exercised by the real ansible-playbook run in
    tests/integration/test_recovery_report.py.)"""
    plugin = recovery_report.CallbackModule()
    plugin._plugin_options = {'report_dir': str(tmp_path / 'reports'), 'summary': True}
    return plugin


def make_play(variables, extra_vars=None):
    """A Play and its tasks as the executor hands them to callbacks (no action resolution,
    so the test does not depend on the plugin loader)."""
    loader = DataLoader()
    manager = VariableManager(loader=loader)
    if extra_vars:
        manager._extra_vars = extra_vars
    play = Play()
    play.name = 'Recover the OS disk'
    play.vars = variables
    play._variable_manager = manager
    play._loader = loader
    return play


def tasks_of(play):
    tasks = []
    for name, no_log in (('Restore', False), ('Secret', True), ('verify: data checksums', False)):
        task = Task()
        task.name = name
        task.action = 'ansible.builtin.debug'
        task.no_log = no_log
        tasks.append(task)
    return tasks


def result(host, task, data):
    return CallbackTaskResult(host, task, data, task.dump_attrs())


def test_callback_writes_json_and_markdown(callback, tmp_path, capsys):
    play = make_play({'dr_scenario': 'os-disk', 'dr_rto_seconds': 600,
                      'dr_rpo_target_seconds': trust_as_template('{{ 24 * 3600 }}')})
    host = Host('train')
    restore, secret, verify = tasks_of(play)
    callback.v2_playbook_on_start(Playbook())
    callback.v2_playbook_on_play_start(play)
    callback.v2_playbook_on_task_start(restore, False)
    callback.v2_runner_on_ok(result(host, restore, {'changed': True, 'rpo_seconds': 5400,
                                                    'password': 'not-a-contract-key'}))
    callback.v2_playbook_on_task_start(secret, False)
    callback.v2_runner_on_ok(result(host, secret, fixture('set_fact_no_log')))
    callback.v2_playbook_on_task_start(verify, False)
    callback.v2_runner_on_ok(result(host, verify, {'changed': False, 'msg': '12 files match'}))
    callback.v2_playbook_on_stats(None)

    written = sorted(glob.glob(str(tmp_path / 'reports' / 'os-disk-*')))
    assert [os.path.splitext(p)[1] for p in written] == ['.html', '.json', '.md']
    written = [written[1], written[2], written[0]]  # json, md, html
    with open(written[2], encoding='utf-8') as handle:
        assert handle.read().startswith('<!DOCTYPE html>')
    with open(written[0]) as handle:
        report = json.load(handle)
    assert report['playbook'].endswith('recover-os-disk.yml')
    assert report['rto']['target_seconds'] == 600
    assert report['rpo'] == {'target_seconds': 86400.0, 'achieved_seconds': 5400.0, 'met': True,
                             'sources': [{'host': 'train', 'task': 'Restore', 'seconds': 5400.0}]}
    assert report['verified'] == [{'check': 'data checksums', 'ok': True,
                                   'detail': '12 files match', 'host': 'train',
                                   'task': 'verify: data checksums'}]
    assert report['phases'][0]['counts']['changed'] == 1
    assert report['phases'][0]['counts']['ok'] == 2
    assert report['outcome'] == 'recovered'
    assert 'not-a-contract-key' not in open(written[0]).read()
    out = capsys.readouterr().out
    assert 'RECOVERY REPORT [os-disk]: RECOVERED' in out
    assert 'report: %s' % written[0] in out


def test_extra_vars_override_play_vars(callback, tmp_path):
    play = make_play({'dr_scenario': 'from-play'}, extra_vars={'dr_scenario': 'drill'})
    callback.v2_playbook_on_start(Playbook())
    callback.v2_playbook_on_play_start(play)
    callback.v2_playbook_on_stats(None)
    assert len(glob.glob(str(tmp_path / 'reports' / 'drill-*.md'))) == 1


def test_failed_and_ignored_results(callback, tmp_path):
    play = make_play({'dr_scenario': 'x'})
    host = Host('train')
    restore, _secret, verify = tasks_of(play)
    callback.v2_playbook_on_start(Playbook())
    callback.v2_playbook_on_play_start(play)
    callback.v2_playbook_on_task_start(restore, False)
    callback.v2_runner_on_failed(result(host, restore, fixture('command_failed')))
    callback.v2_playbook_on_task_start(verify, False)
    callback.v2_runner_on_failed(result(host, verify, {'failed': True, 'msg': 'differs'}),
                                 ignore_errors=True)
    callback.v2_playbook_on_stats(None)
    report = callback.recorder.report()
    assert report['outcome'] == 'failed'
    assert report['totals']['failed'] == 1 and report['totals']['ignored'] == 1
    assert report['failures'][0]['task'] == 'Restore'
    assert report['verified'][0]['ok'] is False


def test_callback_registers_its_recorder_for_the_lookup(callback):
    from ansible_collections.resilience.dr.plugins.plugin_utils import report_live
    report_live.register(None)
    callback.v2_playbook_on_start(Playbook())
    assert report_live.active() is callback.recorder
    # Not called by a TaskQueueManager here: nothing to publish the stats into.
    assert callback.stats is None
