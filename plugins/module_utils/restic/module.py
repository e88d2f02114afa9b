# -*- coding: utf-8 -*-
# Copyright: (c) 2026, resilience.dr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every restic module shares: its options, the client built from them, the end of main().

The options are documented once in the doc fragment ``resilience.dr.restic`` (and
``resilience.dr.restic.snapshot_filters``); :func:`restic_module` declares them with their
``no_log`` and masks credentials inside the repository URL before anything is logged.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.resilience.dr.plugins.module_utils.redact import RedactingModule
from ansible_collections.resilience.dr.plugins.module_utils.runner import (
    ModuleFailure, run_module)
from ansible_collections.resilience.dr.plugins.module_utils.restic.client import Restic
from ansible_collections.resilience.dr.plugins.module_utils.restic.preflight import (
    check_credentials)


def repository_argument_spec():
    """The options of doc fragment ``resilience.dr.restic`` (repository access)."""
    return dict(
        repository=dict(type='str', required=True),
        password=dict(type='str', no_log=True),
        password_file=dict(type='path', no_log=False),
        environment=dict(type='dict', default={}, no_log=True),
        cache_dir=dict(type='path'),
        retries=dict(type='int', default=3),
        retry_delay=dict(type='float', default=2.0),
        executable=dict(type='path', default='restic', aliases=['restic_binary']),
    )


def snapshot_filter_argument_spec():
    """The options of doc fragment ``resilience.dr.restic.snapshot_filters``."""
    return dict(
        host=dict(type='str'),
        tags=dict(type='list', elements='str', default=[]),
        paths=dict(type='list', elements='str', default=[]),
    )


def restic_module(argument_spec):
    """The AnsibleModule of a restic module: the shared options plus ``argument_spec``.

    Credentials inside the repository URL are registered as ``no_log`` values as soon as the
    parameters are read (:class:`redact.RedactingModule`).
    """
    spec = repository_argument_spec()
    spec.update(snapshot_filter_argument_spec())
    spec.update(argument_spec)
    return RedactingModule(argument_spec=spec, supports_check_mode=True,
                           mutually_exclusive=[('password', 'password_file')],
                           url_options=['repository'])


def restic_from_module(module, runner, no_lock=False):
    """The :class:`client.Restic` the options describe; refuses missing credentials first."""
    p = module.params
    env = dict((str(k), str(v)) for k, v in (p['environment'] or {}).items())
    check_credentials(p['password'], p['password_file'], env)
    executable = p['executable']
    if '/' not in executable:
        executable = runner.which(executable, hint='install restic (apt install restic) '
                                  'or point executable at a restic binary')
    return Restic(runner, executable=executable, repository=p['repository'],
                  password=p['password'], password_file=p['password_file'], environment=env,
                  cache_dir=p['cache_dir'], limit_download=p.get('limit_download'),
                  retries=p['retries'], backoff=p['retry_delay'], no_lock=no_lock)


def run_restic_module(module, runner, work):
    """The end of every restic module's ``main()``: ``work()`` returns the result; the
    commands that ran (``commands``: argv, rc, seconds; never a secret, which restic gets
    through its environment) go into the result and into every failure."""
    def wrapped():
        try:
            result = work()
        except ModuleFailure as exc:
            exc.details['commands'] = runner.executed
            raise
        result['commands'] = runner.executed
        return result
    run_module(module, wrapped)
