"""Driver memory sized to the machine when ``spark.driver_memory`` is ``auto``.

In local mode the driver JVM runs every task, and each core also runs a Python worker
(pandas UDFs, Arrow batches) outside the JVM heap. So ``auto`` gives the heap a share of
physical memory and keeps the rest for the Python workers, the JVM's own off-heap use and
the operating system:

    heap = 0.6 * physical memory - 1 GiB per local core,

rounded down to whole GiB (to 256 MiB below 4 GiB), at least 1 GiB and at most 31 GiB
(above that the JVM loses compressed object pointers). On 24 GiB and ``local[2]`` that is
12 GiB, enough heap for an ingest of 1M generated customers. A master that is not local
runs the tasks elsewhere, and ``auto`` then gives the driver a fixed 4 GiB.
"""

from __future__ import annotations

import os
import re

import psutil

AUTO = "auto"
HEAP_SHARE = 0.6
PYTHON_WORKER_BYTES = 2**30
MIN_HEAP_BYTES = 2**30
MAX_HEAP_BYTES = 31 * 2**30
CLUSTER_DRIVER_MEMORY = "4g"
STEP_BYTES = 256 * 2**20

_SIZE = re.compile(r"^\s*(\d+)\s*([kmgt]?)b?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40}


def is_jvm_size(text: str) -> bool:
    """True for a JVM memory size such as ``512m``, ``4g`` or ``1024``."""
    return bool(_SIZE.match(text))


def size_bytes(text: str) -> int:
    """Bytes in a JVM memory size (``4g`` -> 4294967296); a bare number counts bytes, as ``-Xmx`` does.

    Raises:
        ValueError: ``text`` is not a size.
    """
    match = _SIZE.match(text)
    if not match:
        raise ValueError(f"{text!r} is not a memory size such as 512m or 4g")
    return int(match.group(1)) * _UNITS[match.group(2).lower()]


def format_size(n_bytes: int) -> str:
    """A JVM size: whole gibibytes as ``12g``, else mebibytes as ``12800m``."""
    if n_bytes % 2**30 == 0:
        return f"{n_bytes // 2**30}g"
    return f"{n_bytes // 2**20}m"


def local_cores(master: str) -> int:
    """Task slots of a local master: ``local`` 1, ``local[4]`` 4, ``local[*]`` every CPU."""
    match = re.match(r"local(?:-cluster)?(?:\[(\*|\d+)(?:,\s*\d+)?\])?$", master.strip())
    if not match or match.group(1) in (None, ""):
        return 1
    return (os.cpu_count() or 1) if match.group(1) == "*" else int(match.group(1))


def auto_heap_bytes(physical_bytes: int, cores: int) -> int:
    """The heap ``auto`` chooses for a local driver with ``cores`` task slots."""
    heap = int(HEAP_SHARE * physical_bytes) - cores * PYTHON_WORKER_BYTES
    heap -= heap % (2**30 if heap >= 4 * 2**30 else STEP_BYTES)
    return max(MIN_HEAP_BYTES, min(MAX_HEAP_BYTES, heap))


def driver_memory(setting: str, master: str, physical_bytes: int | None = None) -> tuple[str, str]:
    """(JVM size, how it was chosen) for the ``spark.driver_memory`` setting on ``master``.

    Args:
        setting: the configured value, ``auto`` or a JVM size.
        master: the Spark master URL the driver will use.
        physical_bytes: physical memory of the machine (default: measured with psutil).
    """
    if setting.strip().lower() != AUTO:
        return setting, f"spark.driver_memory={setting} as configured"
    if not master.startswith("local"):
        return CLUSTER_DRIVER_MEMORY, f"auto: {CLUSTER_DRIVER_MEMORY} for the driver of master {master}"
    total = physical_bytes if physical_bytes is not None else psutil.virtual_memory().total
    cores = local_cores(master)
    chosen = format_size(auto_heap_bytes(total, cores))
    return chosen, (
        f"auto: {chosen} of {total / 2**30:.1f} GiB physical memory for {master} "
        f"({HEAP_SHARE:.0%} less 1 GiB per Python worker; set spark.driver_memory to choose)"
    )
