# -*- coding: utf-8 -*-
# Copyright: (c) 2026, resilience.dr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""bcache: the kernel's sysfs view and the on-disk superblocks, read, planned and changed.

Used by the ``bcache_cache``, ``bcache_info`` and ``bcache_loss_record`` modules (docs/bcache.md).
One file per job:

``parsers``     pure functions over tool and sysfs text: human sizes (``8.0M``) both ways, the
                ``sequential_cutoff`` option, sysfs choice lists, ``bcache-super-show``.
``sysfs``       ``Sysfs``, the only code that touches ``/sys`` (its root is a captured tree in
                the unit tests).
``preflight``   can this kernel do bcache at all, is a device free to be written or stopped
                (through ``blockdev``); ``BcacheFailure``, the package's ``ModuleFailure``.
``discovery``   read-only: ``KernelView`` (what the kernel registered), ``DeviceProbe`` (what is
                on a device: ``blockdev`` signatures and the superblock), the superblock scan
                and ``gather_info`` (the ``bcache_info`` result).
``actions``     ``SysfsActions``: the plan steps that act on the kernel (``echo`` to sysfs,
                register, modprobe, make-bcache, wipefs, detach), each shown as the shell
                command an operator would type, failing with the kernel's words.
``cache_set``   planner for ``state: present``: create or register the cache set, format,
                register or move backing devices, attach them.
``lost_cache``  devices waiting for a cache set that is gone: what is lost, starting them.
``tunables``    planner for cache_mode, sequential_cutoff, writeback_percent (clamped).
``udev_rules``  planner for ``persist``: the udev rules that re-apply the tunables at boot.
``detach``      planner for ``state: detached``: ``FlushDetach`` (stop dirtying, wait, detach,
                restore on timeout).
``teardown``    planner for ``state: absent``: stop, unregister, wipe.
``ssd_swap``    pure: which phase of a cache-SSD replacement a run does (planned: detach, then
                replace; unplanned: replace), or why it is refused; the ``train_cache_plan``
                filter.
``loss_record`` the host's record of an accepted dirty-cache loss, kept until a scrub has run
                (``bcache_loss_record``): pure record logic and the one file access (atomic,
                never through a symlink).
``views``       what ``bcache_cache`` returns: the result, the diff's before/after, check
                mode's predicted after.
``manager``     ``CacheSetManager``: validate, probe, wire the planners, run, report.

Planners only add steps to a ``runner.Plan``; nothing runs until ``Plan.execute``.
"""
