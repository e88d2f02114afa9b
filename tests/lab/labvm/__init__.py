"""The lab: Debian VMs under qemu with data disks and an NVMe, and hardware faults on demand."""

from .image import DEFAULT_RELEASE, ensure_image  # noqa: F401
from .lab import Lab, LabError, VM, gc_stale  # noqa: F401
