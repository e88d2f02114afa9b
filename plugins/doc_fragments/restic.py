# -*- coding: utf-8 -*-
# Copyright: (c) 2026, resilience.dr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    """Options every restic module shares (module_utils.restic.module.repository_argument_spec
    and snapshot_filter_argument_spec)."""

    DOCUMENTATION = r'''
options:
  repository:
    description:
      - Any restic repository string, for example C(/srv/restic),
        C(rclone:gdrive:backups/ml-train-server), C(rest:http://127.0.0.1:8000/), C(s3:...),
        C(sftp:...).
      - Credentials inside it (C(rest:https://user:secret@host/), rclone connection strings with
        C(secret_access_key=...)) are masked in every result, message and the logged invocation.
    type: str
    required: true
  password:
    description: The repository password. Mutually exclusive with O(password_file). Never logged.
    type: str
  password_file:
    description:
      - A file holding the repository password. Its path is not a secret and is shown in messages;
        a missing file is refused before restic runs.
    type: path
  environment:
    description:
      - Extra environment for restic, for example C(RCLONE_CONFIG), C(RCLONE_CONFIG_<NAME>_TYPE),
        C(AWS_ACCESS_KEY_ID). Never logged.
    type: dict
    default: {}
  cache_dir:
    description: restic's cache directory (C(--cache-dir)).
    type: path
  retries:
    description: How often to retry a restic command after a transient backend failure.
    type: int
    default: 3
  retry_delay:
    description: Seconds before the first retry; doubled on every further retry.
    type: float
    default: 2.0
  executable:
    description: The restic binary to use. Found on the PATH when not absolute.
    type: path
    default: restic
    aliases: [restic_binary]
notes:
  - The repository and the password reach restic through its environment (C(RESTIC_REPOSITORY),
    C(RESTIC_PASSWORD) or C(RESTIC_PASSWORD_FILE)), never on its command line; results carry
    C(commands) (each command with its exit code and seconds) without them.
'''

    SNAPSHOT_FILTERS = r'''
options:
  host:
    description: Only consider snapshots of this host.
    type: str
  tags:
    description:
      - Only consider snapshots with these tags. Each item is passed as one C(--tag); an item
        C(a,b) requires both tags.
    type: list
    elements: str
    default: []
  paths:
    description: Only consider snapshots that include all these (exact) paths.
    type: list
    elements: str
    default: []
'''
