# -*- coding: utf-8 -*-
"""Repository housekeeping that a release (and an AWX project) depends on."""

import glob
import os
import re

import yaml

from testlib import REPO


def read(*parts):
    with open(os.path.join(REPO, *parts)) as handle:
        return handle.read()


def test_license_is_the_one_the_headers_and_galaxy_name():
    assert 'GNU GENERAL PUBLIC LICENSE' in read('LICENSE') and 'Version 3, 29 June 2007' in read('LICENSE')
    assert yaml.safe_load(read('galaxy.yml'))['license'] == ['GPL-3.0-or-later']
    for path in glob.glob(os.path.join(REPO, 'plugins', '*', '*.py')):
        with open(path) as handle:
            head = handle.read(400)
        assert 'GNU General Public License v3.0+ (see LICENSE' in head, path


def test_roles_min_ansible_version_is_requires_ansible():
    required = yaml.safe_load(read('meta', 'runtime.yml'))['requires_ansible']
    minimum = re.match(r'^>=\s*(\d+\.\d+)', required).group(1)
    for path in glob.glob(os.path.join(REPO, 'roles', '*', 'meta', 'main.yml')):
        with open(path) as handle:
            info = yaml.safe_load(handle)['galaxy_info']
        assert str(info['min_ansible_version']) == minimum, path


def test_dev_requirements_are_pinned_and_include_what_the_project_uses():
    pins = {}
    for line in read('requirements.txt').splitlines():
        line = line.split('#', 1)[0].strip()
        if line:
            name, sep, version = line.partition('==')
            assert sep and version, 'not pinned: %s' % line
            pins[name.lower()] = version
    for needed in ('ansible', 'ansible-core', 'jinja2', 'ansible-runner', 'ansible-builder',
                   'ansible-lint', 'pytest'):
        assert needed in pins, needed


def test_bootstrap_names_no_package_archive_host():
    script = read('scripts', 'bootstrap.sh')
    assert not re.search(r'https?://', script.replace('https://www.shellcheck', ''))
    assert 'apt-get indextargets' in script
    assert re.search(r'^APT_PACKAGES=\(.*\bchromium\b', script, re.S | re.M)


def test_ansible_cfg_finds_the_committed_collection_for_every_reader():
    """ansible-core reads collections_path; AWX reads collections_paths from a project's
    ansible.cfg to build ANSIBLE_COLLECTIONS_PATHS (honoured by ansible-core before 2.19)."""
    import configparser
    config = configparser.ConfigParser()
    config.read(os.path.join(REPO, 'ansible.cfg'))
    singular = config.get('defaults', 'collections_path')
    assert config.get('defaults', 'collections_paths') == singular
    assert singular.split(':')[0] == './collections'
    assert os.readlink(os.path.join(REPO, 'collections', 'ansible_collections', 'resilience',
                                    'dr')) == '../../..'
    assert config.get('defaults', 'callbacks_enabled') == 'resilience.dr.recovery_report'


def test_no_two_test_modules_share_a_basename():
    """pytest imports test files outside packages by their basename: two with the same name
    stop the collection of every tier that collects the whole tests/ tree."""
    seen = {}
    for path in glob.glob(os.path.join(REPO, 'tests', '**', 'test_*.py'), recursive=True):
        rel = os.path.relpath(path, REPO)
        if '/molecule/' in rel or os.path.exists(os.path.join(os.path.dirname(path),
                                                              '__init__.py')):
            continue
        seen.setdefault(os.path.basename(path), []).append(rel)
    assert [paths for paths in seen.values() if len(paths) > 1] == []
