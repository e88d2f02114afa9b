# -*- coding: utf-8 -*-
"""Shared pytest fixtures.  The plain helpers (REPO, ansible_env, bin_path, run_module) are in
``testlib.py``, importable from every test folder."""

import os

import pytest

from testlib import run_module


@pytest.fixture(name='run_module')
def run_module_fixture():
    return run_module


@pytest.fixture(scope='session')
def lab_owner():
    """Labs made by this pytest session are owned by it, so a killed run is cleaned next time."""
    os.environ.setdefault('RESILIENCE_LAB_OWNER', str(os.getpid()))
    return int(os.environ['RESILIENCE_LAB_OWNER'])


@pytest.fixture(scope='module')
def lab_factory(lab_owner):
    """``lab_factory(name, release=...)`` -> a Lab destroyed when the test module ends."""
    from labvm import Lab
    labs = []

    def make(name, release=None, **kwargs):
        kwargs.setdefault('owner', lab_owner)
        if release:
            kwargs['release'] = release
        lab = Lab.create(name, **kwargs)
        labs.append(lab)
        return lab

    yield make
    for lab in labs:
        lab.destroy()
