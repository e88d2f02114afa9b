# -*- coding: utf-8 -*-
# Copyright: (c) 2026, resilience.dr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Credentials inside URL-shaped option values: find them, mask them, never log them.

A repository string may carry a secret even though the option as a whole is not one:
``rest:https://user:secret@host/repo``, ``s3:https://key:secret@host/bucket``, an rclone
connection string ``rclone::s3,access_key_id=AK,secret_access_key=SK:bucket`` or a query
string ``azure:...?sig=...``.  :func:`url_secrets` finds the secret parts;
:class:`RedactingModule` adds them to ``no_log_values`` right after the raw parameters are
read, before AnsibleModule validates or logs anything, so ansible-core masks them in every
result, message, warning and ``invocation.module_args``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible.module_utils.basic import AnsibleModule

MASK = '***'

# scheme://user:password@host   (the password is the secret; the user name is not)
_USERINFO = re.compile(r'://([^/@:\s]*):([^@/\s]+)@')
# key=value pairs in rclone connection strings (",key=value") and query strings ("?k=v&k=v")
_PAIR = re.compile(r'(?:^|[,?&;:])([A-Za-z0-9_.-]+)=("[^"]*"|\'[^\']*\'|[^,&;:@\s]*)')
_SECRET_KEY = re.compile(r'pass|secret|token|key|sig|credential|auth|signature|sas',
                         re.IGNORECASE)
_NOT_SECRET = set(['true', 'false', 'yes', 'no', 'on', 'off', '0', '1', ''])


def url_secrets(value):
    """The secret substrings of one URL-shaped string (may be empty)."""
    if not isinstance(value, str) or not value:
        return []
    found = []
    for match in _USERINFO.finditer(value):
        found.append(match.group(2))
    for match in _PAIR.finditer(value):
        key, val = match.group(1), match.group(2).strip('"\'')
        if _SECRET_KEY.search(key) and val.lower() not in _NOT_SECRET and len(val) >= 3:
            found.append(val)
    return [f for f in found if f]


def redact_url(value):
    """``value`` with every secret from :func:`url_secrets` replaced by ``***``."""
    if not isinstance(value, str):
        return value
    out = value
    for secret in sorted(set(url_secrets(value)), key=len, reverse=True):
        out = out.replace(secret, MASK)
    return out


def register_secrets(module, values):
    """Add the URL secrets found in ``values`` to ``module.no_log_values``."""
    for value in values:
        for secret in url_secrets(value):
            module.no_log_values.add(secret)


class RedactingModule(AnsibleModule):
    """An AnsibleModule that masks credentials inside the options named in ``url_options``.

    The secrets are registered in ``_load_params`` (the documented hook for modules that look
    at their raw parameters), i.e. before argument validation, before the invocation is logged
    to syslog/journald and before any ``fail_json`` can echo the parameters back.
    """

    def __init__(self, *args, **kwargs):
        self._url_options = tuple(kwargs.pop('url_options', ()))
        super(RedactingModule, self).__init__(*args, **kwargs)

    def _load_params(self):
        super(RedactingModule, self)._load_params()
        params = self.params if isinstance(self.params, dict) else {}
        register_secrets(self, [params.get(name) for name in self._url_options])
