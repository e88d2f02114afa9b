# -*- coding: utf-8 -*-
# Copyright: (c) 2026, resilience.dr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Times in the forms the collection reads from operators and writes into results.

Two ways of writing a moment, named by what they are for:

* :func:`local_iso` - local time with its UTC offset (``2026-11-22T04:39:56+01:00``): what a
  module returns for an operator to compare with their own clock, and what :func:`parse_since`
  reads back (``btrfs_scrub``'s ``started``/``finished``/``threshold``);
* :func:`utc_iso` - UTC with a ``Z``, to the second (``2026-11-22T03:39:56Z``): for records
  compared across hosts and time zones (the recovery report, restore records).

And two ways of reading one from an option:

* :func:`parse_age` - a duration (``30m``, ``12h``, ``7d``, ``2w``, plain seconds);
* :func:`parse_since` - an ISO 8601 moment (``2026-11-22T04:00:00Z``, an offset, or local).

Both raise ``ValueError`` with a message that says what to write instead; a module turns it
into its own failure (naming the option).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import re
import time

_AGE = re.compile(r'^\s*(\d+)\s*([smhdw]?)\s*$')
_AGE_UNITS = {'': 1, 's': 1, 'm': 60, 'h': 3600, 'd': 86400, 'w': 604800}


def parse_age(text):
    """``30m``, ``12h``, ``7d``, ``2w`` or plain seconds -> seconds (None stays None)."""
    if text is None:
        return None
    m = _AGE.match(str(text))
    if not m:
        raise ValueError('cannot read %r as an age: use a number with s, m, h, d or w, e.g. 7d'
                         % (text,))
    return int(m.group(1)) * _AGE_UNITS[m.group(2)]


def parse_since(text):
    """An ISO 8601 moment (``2026-11-22T04:00:00``, optional ``Z``/offset) -> epoch seconds.

    Without an offset it is local time.
    """
    value = str(text).strip().replace('Z', '+00:00')
    if ' ' in value and 'T' not in value:
        value = value.replace(' ', 'T', 1)
    try:
        moment = datetime.datetime.fromisoformat(value)
    except ValueError:
        raise ValueError('cannot read %r as a time: use ISO 8601, e.g. 2026-11-22T04:00:00Z'
                         % (text,))
    if moment.tzinfo is None:
        return int(time.mktime(moment.timetuple()))
    epoch = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
    return int((moment - epoch).total_seconds())


def local_iso(epoch):
    """Epoch seconds -> local ISO 8601 with its offset (what :func:`parse_since` reads back)."""
    if epoch is None:
        return None
    return datetime.datetime.fromtimestamp(epoch).astimezone().isoformat()


def utc_iso(epoch):
    """Epoch seconds -> UTC ISO 8601 with a ``Z``, to the second."""
    moment = datetime.datetime.fromtimestamp(epoch, tz=datetime.timezone.utc)
    return moment.strftime('%Y-%m-%dT%H:%M:%SZ')
