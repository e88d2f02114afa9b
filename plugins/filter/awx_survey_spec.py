# -*- coding: utf-8 -*-
# Copyright: (c) 2026, resilience.dr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
name: awx_survey_spec
short_description: An AWX survey specification from a job template's short list of questions
version_added: 0.1.0
author: resilience.dr contributors (@resilience-dr)
description:
  - Turns the C(survey) list of one entry of C(awx_dr_job_templates) (C(awx/vars.yml)) into the
    C(survey_spec) that M(awx.awx.job_template) takes.
  - A question without C(choices) is a yes/no opt-in; its choices are C(false) and C(true)
    (AWX surveys have no boolean type; the roles read these variables through the C(bool)
    filter). Every question is required, so the answer is always the shown default unless
    the operator changes it.
options:
  _input:
    description: One job template entry, with C(name) and C(survey).
    type: dict
    required: true
'''

EXAMPLES = r'''
- name: A job template with its survey
  awx.awx.job_template:
    name: "{{ item.name }}"
    survey_enabled: "{{ item.survey | length > 0 }}"
    survey_spec: "{{ item | resilience.dr.awx_survey_spec }}"
  loop: "{{ awx_dr_job_templates }}"
'''

RETURN = r'''
_value:
  description: The survey specification (C(name), C(description), C(spec)).
  type: dict
'''

from ansible.errors import AnsibleFilterError

YES_NO = ['false', 'true']


def awx_survey_spec(template):
    """The AWX survey spec of one job template entry of awx/vars.yml."""
    if not isinstance(template, dict) or 'name' not in template:
        raise AnsibleFilterError('awx_survey_spec expects a job template entry with a name')
    spec = []
    for question in template.get('survey') or []:
        variable = question.get('variable')
        if not variable or 'default' not in question:
            raise AnsibleFilterError('every survey question of %s needs a variable and a default'
                                     % template['name'])
        choices = [str(c) for c in question.get('choices') or YES_NO]
        default = str(question['default'])
        if default not in choices:
            raise AnsibleFilterError('the default %r of %s in %s is not one of its choices %s'
                                     % (default, variable, template['name'], choices))
        spec.append({
            'question_name': question.get('question_name') or variable,
            'question_description': question.get('question_description', ''),
            'required': True,
            'type': 'multiplechoice',
            'variable': variable,
            'choices': choices,
            'default': default,
        })
    return {'name': template['name'], 'description': 'Opt-in variables of %s'
            % template.get('playbook', template['name']), 'spec': spec}


class FilterModule(object):
    def filters(self):
        return {'awx_survey_spec': awx_survey_spec}
