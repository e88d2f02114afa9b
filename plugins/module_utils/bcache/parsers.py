# -*- coding: utf-8 -*-
# Copyright: (c) 2026, resilience.dr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure functions over the text bcache's tools and sysfs files print.

Unit-tested over output captured in the lab VM (Debian 13) and on the Debian 12 host
(tests/unit/fixtures/bcache/).  Nothing here reads the system.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible.module_utils.common.text.formatters import human_to_bytes

CACHE_MODES = ('writethrough', 'writeback', 'writearound', 'none')
BACKING_STATES = ('no cache', 'clean', 'dirty', 'inconsistent')
# bcache-super-show prints dev.data.cache_state as "<n> [<name>]"; these are the kernel's names.
SB_STATES = {0: 'detached', 1: 'clean', 2: 'dirty', 3: 'inconsistent'}
UNITS = 'kMGTPEZY'
UUID_RE = re.compile(r'^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$')


def parse_human(text):
    """Bytes from a bcache human size (``8.0M``, ``0.0k``, ``512``, ``-1.5k``); None if empty.

    The kernel prints ``<int>.<one digit><unit>`` with 1024-based units, so the value is
    only as exact as that one digit (``8.0M`` is 8 MiB +- 0.05 MiB).
    """
    if text is None:
        return None
    text = text.strip()
    if not text:
        return None
    m = re.match(r'^(-?)(\d+)(?:\.(\d+))?\s*([kKMGTPEZY]?)i?[bB]?$', text)
    if not m:
        raise ValueError('not a bcache size: %r' % text)
    sign, whole, frac, unit = m.groups()
    value = float('%s.%s' % (whole, frac or '0'))
    if unit:
        value *= 1024 ** (UNITS.index(unit.replace('K', 'k')) + 1)
    value = int(round(value))
    return -value if sign else value


def hprint(value):
    """How the kernel prints ``value`` bytes in sysfs (``bch_hprint``): ``4.0M``, ``0.0k``."""
    value = int(value)
    q = abs(value)
    unit = 0
    while True:
        unit += 1
        rem = q & 1023
        q >>= 10
        if q < 1000:
            break
    return '%s%d.%d%s' % ('-' if value < 0 else '', q, rem * 10 // 1024, UNITS[unit - 1])


def parse_size_option(value):
    """``sequential_cutoff`` as given by the user (``0``, ``4M``, ``512k``, 1048576) -> bytes.

    Ansible's ``human_to_bytes`` reads it (1024-based, ``k``/``K``, ``M``/``MB``, decimals); the
    forms it does not know but the kernel's own notation uses (``4MiB``, ``4Mb`` for bytes) are
    read as the unit alone.  Negative or unreadable values raise ValueError naming the option.
    """
    if value is None:
        return None
    text = re.sub(r'(?<=[kKMGTPEZY])i?[bB]$', '', str(value).strip())
    try:
        result = human_to_bytes(text) if text else None
    except ValueError:
        result = None
    if result is None:
        raise ValueError('sequential_cutoff must be a byte count such as 0, 524288, 512k or 4M, '
                         'not %r' % (value,))
    return result


def parse_choice(text):
    """The selected entry of a sysfs choice list: ``writethrough [writeback] none`` -> writeback."""
    if text is None:
        return None
    m = re.search(r'\[([^\]]+)\]', text)
    if m:
        return m.group(1)
    text = text.strip()
    return text or None


def parse_super_show(text):
    """``bcache-super-show`` output -> dict, or None for a bad magic.

    Keys are the tool's own (``sb.version``, ``dev.uuid``, ``cset.uuid``, ...) with their raw
    values under ``raw``, plus the derived ``type`` (``cache`` or ``backing``), ``dev_uuid``,
    ``cset_uuid``, ``label``, and for backing devices ``cache_mode`` and ``cache_state`` as names.
    """
    raw = {}
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        parts = line.split(None, 1)
        raw[parts[0]] = parts[1].strip() if len(parts) > 1 else ''
    if 'sb.magic' not in raw:
        raise ValueError('not bcache-super-show output')
    if raw['sb.magic'] != 'ok':
        return None
    result = {'raw': raw}
    version = raw.get('sb.version', '')
    m = re.match(r'^(\d+)', version)
    result['version'] = int(m.group(1)) if m else None
    if 'cache device' in version or 'dev.cache.first_sector' in raw:
        result['type'] = 'cache'
    elif 'backing device' in version or 'dev.data.first_sector' in raw:
        result['type'] = 'backing'
    else:
        result['type'] = 'unknown'
    result['dev_uuid'] = raw.get('dev.uuid')
    result['cset_uuid'] = raw.get('cset.uuid')
    label = raw.get('dev.label', '')
    result['label'] = '' if label == '(empty)' else label
    if result['type'] == 'backing':
        result.update(_backing_fields(raw))
    return result


def _backing_fields(raw):
    """``cache_mode``, ``cache_state`` (a name) and ``data_offset_sectors`` of a backing sb."""
    cache_state = raw.get('dev.data.cache_state', '')
    name = parse_choice(cache_state) if '[' in cache_state else None
    if name is None:
        m = re.match(r'^(\d+)', cache_state)
        name = SB_STATES.get(int(m.group(1))) if m else None
    sectors = raw.get('dev.data.first_sector')
    return {'cache_mode': parse_choice(raw.get('dev.data.cache_mode')),
            'cache_state': name,
            'data_offset_sectors': int(sectors) if sectors and sectors.isdigit() else None}


def parse_int(text):
    """A sysfs integer (``10``, ``-1``), or None when the file is missing or not a number."""
    if text is None or not text.lstrip('-').isdigit():
        return None
    return int(text)
