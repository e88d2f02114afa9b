# -*- coding: utf-8 -*-
"""A job template of awx/vars.yml run the way AWX runs it: ansible-runner with a private data
directory, the project checkout, an inventory, the survey's answers and the credentials'
injected extra vars and environment as extra vars / envvars, and the job type (run or check).

Used by tests/integration/test_awx_job_templates.py (localhost) and tests/e2e/test_awx_runner.py
(the lab train server)."""

import glob
import json
import os
import sys

import jinja2
import jinja2.sandbox
from ansible.parsing.dataloader import DataLoader

from ansible_collections.resilience.dr.plugins.filter.awx_survey_spec import awx_survey_spec

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Distinctive sample secrets: they must never reach the job's output, events or reports.
SAMPLE_INPUTS = {
    'resilience.dr restic repository': {
        'repository': '/nonexistent/awx-test-repository',
        'password': 'AWX-TEST-restic-pw-7f3c',
        'rclone_config': '[remote]\ntype = local\ntoken = AWX-TEST-rclone-token-91ad\n',
    },
    'resilience.dr ClaudeFS admin token': {
        'admin_token': 'AWX-TEST-claudefs-token-4be2',
    },
}


def awx_vars():
    return DataLoader().load_from_file(os.path.join(REPO, 'awx', 'vars.yml'))


def secrets(inputs=None):
    """The secret values among the credential inputs."""
    found = []
    for ctype in awx_vars()['awx_dr_credential_types']:
        values = (inputs or SAMPLE_INPUTS).get(ctype['name'], {})
        for field in ctype['inputs']['fields']:
            if field.get('secret') and values.get(field['id']):
                found.extend(v for v in values[field['id']].splitlines() if 'AWX-TEST' in v)
    return found


def survey_answers(template):
    """The survey as an operator who accepts every default submits it."""
    return dict((q['variable'], q['default']) for q in awx_survey_spec(template)['spec'])


def injected(template, inputs=None):
    """(extra vars, environment) the job template's credentials inject, rendered as AWX does."""
    extra, env = {}, {}
    types = dict((t['name'], t) for t in awx_vars()['awx_dr_credential_types'])
    attached = [t['name'] for t in types.values() if template.get(t['job_template_flag'])]
    for name in attached:
        values = dict((f['id'], '') for f in types[name]['inputs']['fields'])
        values.update((inputs or SAMPLE_INPUTS)[name])
        sandbox = jinja2.sandbox.ImmutableSandboxedEnvironment(undefined=jinja2.StrictUndefined)
        for key, source in (types[name]['injectors'].get('extra_vars') or {}).items():
            extra[key] = sandbox.from_string(str(source)).render(values)
        for key, source in (types[name]['injectors'].get('env') or {}).items():
            env[key] = sandbox.from_string(str(source)).render(values)
    return extra, env


def template_named(name):
    return [t for t in awx_vars()['awx_dr_job_templates'] if t['name'] == name][0]


def run_job(template, private_data_dir, project_dir, inventory, home, job_type='run',
            syntax_only=False, extra_vars=None, inputs=None, timeout=3600):
    """Run one job template through ansible_runner; returns (runner, artifact dir)."""
    import ansible_runner
    extravars = survey_answers(template)
    cred_vars, cred_env = injected(template, inputs)
    extravars.update(cred_vars)
    extravars.update(extra_vars or {})
    envvars = {'HOME': str(home),
               'PATH': os.pathsep.join([os.path.dirname(sys.executable), '/usr/sbin', '/usr/bin',
                                        '/sbin', '/bin'])}
    envvars.update(cred_env)
    cmdline = []
    if syntax_only:
        cmdline.append('--syntax-check')
    elif job_type == 'check':
        cmdline.append('--check')
    runner = ansible_runner.run(
        private_data_dir=str(private_data_dir), project_dir=str(project_dir),
        playbook=template['playbook'], inventory=str(inventory), extravars=extravars,
        envvars=envvars, cmdline=' '.join(cmdline) or None, quiet=True, timeout=timeout)
    artifacts = os.path.join(str(private_data_dir), 'artifacts', runner.config.ident)
    return runner, artifacts


def stats_artifacts(runner):
    """The artifact data AWX stores for the job (the playbook_on_stats event's)."""
    for event in runner.events:
        if event.get('event') == 'playbook_on_stats':
            return event['event_data'].get('artifact_data') or {}
    return None


def artifact_reports(artifacts):
    found = dict((os.path.splitext(p)[1], p) for p in glob.glob(os.path.join(artifacts, '*-*Z*.*'))
                 if os.path.splitext(p)[1] in ('.json', '.md', '.html'))
    report = None
    if '.json' in found:
        with open(found['.json']) as handle:
            report = json.load(handle)
    return found, report


def leaked(artifacts, values):
    """Files under the artifact directory that contain one of ``values``."""
    hits = []
    for root, _dirs, files in os.walk(artifacts):
        for name in files:
            path = os.path.join(root, name)
            with open(path, 'rb') as handle:
                data = handle.read()
            hits.extend('%s: %s' % (path, v) for v in values if v.encode() in data)
    return hits
