# -*- coding: utf-8 -*-
# Copyright: (c) 2026, resilience.dr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Multi-device BTRFS: what ``btrfs_array``, ``btrfs_array_info`` and ``btrfs_scrub`` know.

Pure, unit-tested over captured output:

``parsers``     the tools' text (``filesystem show --raw``, ``usage -b``, ``device stats``,
                ``scrub status -R``, the chunk tree, ``findmnt --json``, kernel log lines);
                ``PROFILES``, ``BLOCK_GROUP_TYPES``.

Reading the host (never a command in ``discovery.MUTATING``):

``discovery``   ``Btrfs``, the read-only view (show + findmnt + sysfs, else the chunk tree);
                ``public_fs`` / ``diff_view``, a described filesystem as result and diff.

Deciding (each builds ``runner.Plan`` steps or refuses; nothing runs here):

``request``     ``ArrayRequest`` (options; ``Contradiction`` when they contradict) and
                ``identify`` (which filesystem the request names: uuid, label, superblocks);
``guard``       ``DeviceGuard``: is this device safe to write (exists, block, not in use,
                not a mounted member, not our own stale member, blank or ``force``);
``lifecycle``   ``plan_create`` (mkfs.btrfs) and ``plan_wipe`` (state: absent);
``membership``  ``MembershipPlanner``: replace missing members, add, remove;
``profile``     ``ProfilePlanner``: compare, convert, restore redundancy after a replace;
                device minimums per profile;
``mount``       ``MountedStep`` (a step that needs the mountpoint) and ``TemporaryMount``
                (planned as steps, a context manager that always unmounts).

Wiring (what the modules call):

``array``       ``ArrayManager``: discovery -> identify -> planners -> ``Plan.execute``
                inside the temporary mount -> rediscover -> result and diff;
``scrub``       ``ScrubManager``: freshness, start/wait/cancel, the files the kernel named;
``info``        ``gather_info`` for ``btrfs_array_info``.

The corruption ladder (playbooks/recover-btrfs-corruption.yml, role train_btrfs_repair):

``ladder``      the pure planner: which rung worked, what comes next (filter btrfs_ladder);
``rescue``      ``RescueManager`` for ``btrfs_rescue``: normal, then read-only rescue mounts,
                ``btrfs check --readonly``, ``--repair`` only behind its option and safeguard;
``quarantine``  ``btrfs_quarantine``: files that fail to read moved aside through ``safe_fs``.

Shared with the other subsystems: ``runner`` (Plan, failures), ``blockdev`` (device identity,
use, signatures), ``kernel_log`` (the kmsg cursor), ``timeutil`` (ages and ISO times).
"""
