# -*- coding: utf-8 -*-
"""plugins/filter/train_files.py: the model's per-user layout as managed_files entries."""

import os

import pytest
import yaml

from ansible.errors import AnsibleFilterError
from ansible_collections.resilience.dr.plugins.filter import train, train_files

from testlib import REPO

with open(os.path.join(REPO, 'roles', 'train', 'defaults', 'main.yml')) as _handle:
    LAYOUT = yaml.safe_load(_handle)['train_user_directories']
ACCOUNTS = [{'name': 'alice', 'uid': 1000}, {'name': 'bob', 'uid': 1001}]


def test_same_paths_and_modes_as_train_user_dirs_owned_by_the_uid():
    files = train_files.train_user_dir_files(ACCOUNTS, '/mnt/storage', LAYOUT)
    dirs = train.train_user_dirs(ACCOUNTS, '/mnt/storage', LAYOUT)
    assert [f['path'] for f in files] == [d['path'] for d in dirs]
    assert [f['mode'] for f in files] == [d['mode'] for d in dirs]
    assert all(f['state'] == 'directory' for f in files)
    assert [(f['owner'], f['group']) for f in files] == [(d['uid'], d['uid']) for d in dirs]
    assert files[0] == {'path': '/mnt/storage/homes/alice', 'state': 'directory',
                        'owner': 1000, 'group': 1000, 'mode': '0700'}


def test_an_entry_without_mode_has_no_mode_key():
    files = train_files.train_user_dir_files(ACCOUNTS[:1], '/srv', [{'name': 'home', 'path': 'h/{user}'}])
    assert files == [{'path': '/srv/h/alice', 'state': 'directory', 'owner': 1000, 'group': 1000}]


def test_refuses_what_train_user_dirs_refuses():
    with pytest.raises(AnsibleFilterError):
        train_files.train_user_dir_files([{'name': '..', 'uid': 1}], '/srv', LAYOUT)
