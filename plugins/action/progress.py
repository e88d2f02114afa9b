# -*- coding: utf-8 -*-
# Copyright: (c) 2026, resilience.dr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action of resilience.dr.progress: wait for an async job, printing its progress."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import shlex
import time

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.resilience.dr.plugins.plugin_utils.progress import (
    PROBES,
    Meter,
    probe_command,
    progress_line,
)

ARGUMENT_SPEC = {
    'jid': {'type': 'str', 'required': True},
    'probe': {'type': 'str', 'required': True, 'choices': sorted(PROBES)},
    'path': {'type': 'path'},
    'devices': {'type': 'list', 'elements': 'str', 'default': []},
    'total_bytes': {'type': 'int'},
    'label': {'type': 'str'},
    'interval': {'type': 'float', 'default': 30.0},
    'timeout': {'type': 'int', 'default': 0},
}


class ActionModule(ActionBase):

    TRANSFERS_FILES = False
    _requires_connection = True

    def run(self, tmp=None, task_vars=None):
        super(ActionModule, self).run(tmp, task_vars)
        _spec, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        needs = PROBES[args['probe']][2]
        if not args.get(needs):
            raise AnsibleActionFail('probe %s needs %s' % (args['probe'], needs))
        label = args['label'] or '%s %s' % (args['probe'], args.get('path') or ' '.join(args['devices']))
        host = task_vars.get('inventory_hostname', '?') if task_vars else '?'
        started = time.time()
        meter, initial = Meter(), None
        path = self._status_path(args['jid'])
        while True:
            result = self._job_file(path)
            if result is not None:
                break
            sample = self._probe(args, initial)
            if args['probe'] == 'bcache_flush' and initial is None and sample.total is not None:
                initial = sample.total
            now = time.time()
            self._display.display('  [%s] %s' % (host, progress_line(label, meter.update(now, sample),
                                                                     now - started)))
            if args['timeout'] and now - started > args['timeout']:
                raise AnsibleActionFail('%s still running after %d s; the async job %s goes on and '
                                        'ansible.builtin.async_status will have its result'
                                        % (label, args['timeout'], args['jid']))
            time.sleep(max(0.1, args['interval']))
        self._low_level_execute_command('rm -f -- %s' % path)
        self._display.display('  [%s] %s: done in %ds' % (host, label, time.time() - started))
        # The job's own result, as the module returned it (async_wrapper writes it unchanged).
        result.pop('ansible_job_id', None)
        return result

    def _job_file(self, path):
        """The finished job's result from its status file, or None while it runs.

        async_wrapper writes ``{"started": true, "finished": false, "ansible_job_id": ...}`` when
        the job starts and the module's own result when it ends.  The status is read directly
        (one cheap command per poll), and so not confused by a module that returns keys called
        ``started`` or ``finished`` of its own, as async_status would be.
        """
        res = self._low_level_execute_command('cat -- %s' % path)
        if res.get('rc') != 0:
            raise AnsibleActionFail('no async job status at %s: was the step started with async '
                                    'and poll: 0, on this host? (%s)' % (path, res.get('stderr', '').strip()))
        try:
            data = json.loads(res.get('stdout') or '')
        except ValueError:
            return None  # being written
        if set(data) == {'started', 'finished', 'ansible_job_id'} and data['finished'] in (False, 0):
            return None
        return data

    def _status_path(self, jid):
        """The job's status file as a shell word.  A leading ``~`` is left to the remote shell,
        which expands it with the same HOME that async_wrapper's expanduser used (the task's
        user, after become), whatever the passwd entry says."""
        async_dir = self.get_shell_option('async_dir', default='~/.ansible_async')
        if async_dir == '~' or async_dir.startswith('~/'):
            return '~/' + shlex.quote(async_dir[2:].rstrip('/') + '/' + jid if len(async_dir) > 2 else jid)
        return shlex.quote(self._connection._shell.join_path(async_dir, jid))

    def _probe(self, args, initial):
        parse = PROBES[args['probe']][1]
        res = self._low_level_execute_command(probe_command(args['probe'], args))
        output = res.get('stdout', '') if res.get('rc') == 0 else ''
        if args['probe'] == 'bcache_flush':
            return parse(output, initial)
        if args['probe'] == 'bytes_in':
            return parse(output, args.get('total_bytes'))
        return parse(output)
