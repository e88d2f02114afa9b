# -*- coding: utf-8 -*-
"""KernelLogCursor against this host's /dev/kmsg: it sees what was logged after it, nothing else."""

import uuid

from ansible_collections.resilience.dr.plugins.module_utils.kernel_log import KernelLogCursor


def test_cursor_sees_exactly_the_records_after_it():
    before = 'resilience-dr-before-%s' % uuid.uuid4().hex
    after = 'resilience-dr-after-%s' % uuid.uuid4().hex
    with open('/dev/kmsg', 'w') as kmsg:
        kmsg.write(before + '\n')
    with KernelLogCursor() as cursor:
        assert cursor.available
        with open('/dev/kmsg', 'w') as kmsg:
            kmsg.write(after + ' caf\u00e9\n')
        messages = cursor.read()
    assert before not in '\n'.join(messages)
    assert after + ' caf\u00e9' in messages
