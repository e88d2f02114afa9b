# -*- coding: utf-8 -*-
# Copyright: (c) 2026, resilience.dr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Records the roles keep on the host (JSON files), as the filters get them: the registered
result of ``ansible.builtin.slurp``.  Controller-only: filters run there."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import json


def slurped_json(slurped):
    """The JSON object in a slurp result; None when there is no file (the task failed or was
    skipped).  Raises ValueError when the file is there but is not a JSON object: the caller
    decides whether that is harmless or a stop."""
    if not isinstance(slurped, dict) or slurped.get('failed') or not slurped.get('content'):
        return None
    try:
        value = json.loads(base64.b64decode(slurped['content']).decode('utf-8'))
    except (ValueError, TypeError):
        raise ValueError('%s is not readable JSON' % slurped.get('source', 'the record'))
    if not isinstance(value, dict):
        raise ValueError('%s is not a JSON object' % slurped.get('source', 'the record'))
    return value
