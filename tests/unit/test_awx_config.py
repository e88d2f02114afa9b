# -*- coding: utf-8 -*-
"""AWX configuration as code (awx/vars.yml, awx/configure.yml) derived, not hard-coded, from
the playbooks and the roles' argument specs:

* every playbook in playbooks/ has exactly one job template;
* every opt-in (gating) variable a playbook can reach has a survey question whose default is
  the role's default (the refusal), and a survey never offers a variable the playbook fixes;
* every secret the roles take from the vault is injected by a credential field marked secret;
* every awx.awx module call uses only options the module documents.
"""

import glob
import os
import re

import pytest
import yaml

from ansible.parsing.dataloader import DataLoader

from testlib import REPO
from ansible_collections.resilience.dr.plugins.filter.awx_survey_spec import awx_survey_spec

PLAYBOOKS = sorted(glob.glob(os.path.join(REPO, 'playbooks', '*.yml')))
AWX_MODULES = os.path.join(os.path.dirname(os.path.dirname(yaml.__file__)), 'ansible_collections',
                           'awx', 'awx', 'plugins', 'modules')
ROLE_PREFIX = 'resilience.dr.'


def load(path):
    return DataLoader().load_from_file(path)


AWX_VARS = load(os.path.join(REPO, 'awx', 'vars.yml'))
TEMPLATES = AWX_VARS['awx_dr_job_templates']


def role_specs(role):
    path = os.path.join(REPO, 'roles', role, 'meta', 'argument_specs.yml')
    with open(path) as handle:
        return yaml.safe_load(handle)['argument_specs']


def role_uses(playbook):
    """(role, entry point) for every role a playbook runs, directly or by include/import."""
    uses = set()
    for play in load(playbook):
        for entry in play.get('roles') or []:
            name = entry['role'] if isinstance(entry, dict) else entry
            uses.add((name.replace(ROLE_PREFIX, ''), 'main'))
        for section in ('pre_tasks', 'tasks', 'post_tasks'):
            for task in play.get(section) or []:
                for action in ('ansible.builtin.include_role', 'ansible.builtin.import_role'):
                    if action in task:
                        args = task[action]
                        entry = re.sub(r'\.ya?ml$', '', args.get('tasks_from', 'main'))
                        uses.add((args['name'].replace(ROLE_PREFIX, ''), entry))
    return uses


def dependencies(role):
    """The roles a role depends on (meta/main.yml), whose variables it sees, as Ansible runs them."""
    with open(os.path.join(REPO, 'roles', role, 'meta', 'main.yml')) as handle:
        deps = yaml.safe_load(handle).get('dependencies') or []
    return [(d['role'] if isinstance(d, dict) else d).replace(ROLE_PREFIX, '') for d in deps]


def model_options_of(role):
    """Options of the roles a role depends on (the variable models, roles/train and
    roles/claudefs): the role reads some of them; they are opt-ins only where a refusal names them."""
    options = {}
    for dep in dependencies(role):
        options.update(model_options_of(dep))
        options.update(options_of(dep, 'main'))
    return options


def options_of(role, entry):
    options = {}
    specs = role_specs(role)
    options.update(specs['main'].get('options') or {})  # tasks_from files use the role's main variables
    options.update((specs.get(entry) or {}).get('options') or {})
    return options


def fixed_vars(playbook):
    """Variables a play of the playbook sets itself: a survey must not override them."""
    fixed = set()
    for play in load(playbook):
        fixed.update((play.get('vars') or {}).keys())
        for entry in play.get('roles') or []:  # a role's own vars in the play's roles list
            if isinstance(entry, dict):
                fixed.update((entry.get('vars') or {}).keys())
    return fixed


def safe_default(option):
    """The role's default as a survey answer, or None when the option is not an opt-in."""
    default = option.get('default')
    if option.get('type') == 'bool':
        if default is False or (isinstance(default, str) and 'default(false)' in default.replace(' ', '')):
            return 'false'
        return None
    if option.get('choices') and default is not None:
        return str(default)
    return None


def gating(playbook):
    """Opt-in variables of a playbook and their safe defaults: bool role options that default to
    false, plus any variable the playbook or its roles' refusals tell the operator to set
    (``-e name=value`` / ``set name=value``), minus what the playbook fixes in play vars."""
    found, options, models = {}, {}, {}
    for role, entry in role_uses(playbook):
        options.update(options_of(role, entry))
        models.update(model_options_of(role))
    texts = [open(playbook).read()]
    for role, _entry in role_uses(playbook):
        texts += [open(p).read() for p in glob.glob(os.path.join(REPO, 'roles', role, 'tasks', '*.yml'))]
    named = set()
    for text in texts:
        named.update(re.findall(r'(?:-e |set )((?:train|claudefs)_[a-z_]+)(?:=|: )', text))
    for name, option in options.items():
        default = safe_default(option)
        if default is not None and (option.get('type') == 'bool' or name in named):
            found[name] = default
    for name in named:
        assert name in options or name in models, \
            '%s is named by a refusal but no role used by %s documents it' % (name, os.path.basename(playbook))
        default = safe_default(models.get(name, {}))
        if name not in options and default is not None:
            found[name] = default
    for name in fixed_vars(playbook):
        found.pop(name, None)
    return found


def template_for(playbook):
    rel = os.path.relpath(playbook, REPO)
    matches = [t for t in TEMPLATES if t['playbook'] == rel]
    assert len(matches) == 1, 'job templates for %s: %d' % (rel, len(matches))
    return matches[0]


def test_every_playbook_has_one_job_template_and_no_template_is_stale():
    assert len(PLAYBOOKS) >= 3
    for playbook in PLAYBOOKS:
        template_for(playbook)
    for template in TEMPLATES:
        assert os.path.isfile(os.path.join(REPO, template['playbook'])), template['playbook']
    assert len({t['name'] for t in TEMPLATES}) == len(TEMPLATES)


def test_the_derivation_finds_the_known_opt_ins():
    """A guard on the derivation itself: the opt-ins issue 12 names are found."""
    recover = gating(os.path.join(REPO, 'playbooks', 'recover-os-disk.yml'))
    assert {'train_storage_allow_degraded', 'train_storage_accept_dirty_cache_loss',
            'train_verify_allow_degraded'} <= set(recover)
    assert 'train_storage_mode' not in recover  # fixed to assemble by the playbook
    setup = gating(os.path.join(REPO, 'playbooks', 'setup-train-server.yml'))
    assert setup['train_storage_mode'] == 'assemble' and setup['train_backups_init_repository'] == 'false'


@pytest.mark.parametrize('playbook', PLAYBOOKS, ids=os.path.basename)
def test_survey_has_every_opt_in_with_its_safe_default(playbook):
    expected = gating(playbook)
    spec = awx_survey_spec(template_for(playbook))
    questions = dict((q['variable'], q) for q in spec['spec'])
    assert set(questions) == set(expected), os.path.basename(playbook)
    for name, default in expected.items():
        assert questions[name]['default'] == default, name
        assert questions[name]['required'] is True and default in questions[name]['choices']
    assert not set(questions) & fixed_vars(playbook)


def vault_secrets():
    """Role options that come from the vault (their description says so)."""
    secrets = set()
    for path in glob.glob(os.path.join(REPO, 'roles', '*', 'meta', 'argument_specs.yml')):
        with open(path) as handle:
            for entry in yaml.safe_load(handle)['argument_specs'].values():
                for name, option in (entry.get('options') or {}).items():
                    if re.search(r'\bvault\b', ' '.join(option.get('description') or []) if isinstance(
                            option.get('description'), list) else option.get('description', ''), re.I):
                        secrets.add(name)
    return secrets


def injected_by_secret_fields():
    """Variable -> credential type, for extra vars injected only from secret fields."""
    injected = {}
    for ctype in AWX_VARS['awx_dr_credential_types']:
        secret = {f['id'] for f in ctype['inputs']['fields'] if f.get('secret')}
        for variable, template in (ctype['injectors'].get('extra_vars') or {}).items():
            fields = set(re.findall(r'{{\s*([a-z_]+)', str(template)))
            if fields and fields <= secret:
                injected[variable] = ctype['name']
    return injected


def test_every_vault_secret_is_a_secret_credential_field():
    secrets = vault_secrets()
    assert {'train_backups_password', 'train_backups_rclone_config', 'claudefs_admin_token'} <= secrets
    injected = injected_by_secret_fields()
    for name in secrets:
        assert name in injected, '%s has no secret credential field' % name
    for template in TEMPLATES:
        assert not {q['variable'] for q in template.get('survey') or []} & secrets
        options = {}
        for role, entry in role_uses(os.path.join(REPO, template['playbook'])):
            options.update(options_of(role, entry))
        flags = {t['name']: t['job_template_flag'] for t in AWX_VARS['awx_dr_credential_types']}
        for secret in set(options) & secrets:
            flag = flags[injected[secret]]
            assert template.get(flag) is True, (template['name'], secret, flag)


def test_credential_fields_that_hold_secrets_are_secret():
    for ctype in AWX_VARS['awx_dr_credential_types']:
        for field in ctype['inputs']['fields']:
            if re.search(r'password|token|secret|key|config|repository', field['id']):
                assert field.get('secret') is True, (ctype['name'], field['id'])
        for variable in (ctype['injectors'].get('env') or {}):
            assert re.match(r'^[A-Z][A-Z0-9_]*$', variable)


def module_options(name):
    with open(os.path.join(AWX_MODULES, name + '.py')) as handle:
        source = handle.read()
    doc = yaml.safe_load(re.search(r"DOCUMENTATION = r?'''(.*?)'''", source, re.S).group(1))
    return doc['options']


def test_configure_playbook_uses_documented_awx_options_only():
    plays = load(os.path.join(REPO, 'awx', 'configure.yml'))
    used = 0
    for task in plays[0]['tasks']:
        for key, args in task.items():
            if key.startswith('awx.awx.'):
                options = module_options(key.split('.')[-1])
                assert set(args) <= set(options), (key, set(args) - set(options))
                for arg, value in args.items():
                    choices = options[arg].get('choices')
                    if choices and '{{' not in str(value):
                        assert value in choices, (key, arg, value)
                used += 1
    assert used >= 6


def test_the_drill_runs_a_template_that_accepts_its_job_type():
    drill = AWX_VARS['awx_dr_drill']
    template = [t for t in TEMPLATES if t['name'] == drill['job_template']][0]
    assert template['playbook'] == 'playbooks/recover-os-disk.yml'
    assert template.get('ask_job_type_on_launch') is True and drill['job_type'] == 'check'
    assert re.match(r'^DTSTART:\d{8}T\d{6}Z RRULE:FREQ=WEEKLY;', drill['schedule']['rrule'])


def test_survey_filter_refuses_a_default_outside_its_choices():
    from ansible.errors import AnsibleFilterError
    with pytest.raises(AnsibleFilterError, match='not one of its choices'):
        awx_survey_spec({'name': 't', 'survey': [{'variable': 'x', 'default': 'yes'}]})
    with pytest.raises(AnsibleFilterError, match='needs a variable and a default'):
        awx_survey_spec({'name': 't', 'survey': [{'variable': 'x'}]})
    spec = awx_survey_spec({'name': 't', 'playbook': 'p.yml', 'survey': [
        {'variable': 'mode', 'choices': ['assemble', 'create'], 'default': 'assemble'}]})
    assert spec['spec'][0]['choices'] == ['assemble', 'create'] and spec['spec'][0]['type'] == 'multiplechoice'


def test_the_restore_drill_is_scheduled_monthly_with_a_lasting_drill_dir():
    drill = AWX_VARS['awx_dr_restore_drill']
    template = [t for t in TEMPLATES if t['name'] == drill['job_template']][0]
    assert template['playbook'] == 'playbooks/dr-drill.yml'
    assert re.match(r'^DTSTART:\d{8}T\d{6}Z RRULE:FREQ=MONTHLY;', drill['schedule']['rrule'])
    assert drill['extra_data']['dr_drill_dir'].startswith('/')
    tasks = load(os.path.join(REPO, 'awx', 'configure.yml'))[0]['tasks']
    assert any('awx_dr_restore_drill' in str(t.get('awx.awx.schedule', '')) for t in tasks)
