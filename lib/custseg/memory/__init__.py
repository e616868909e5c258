"""Memory: driver heap sized to the machine, frames kept without their lineage, persisted data
released per job, and failures (a full heap, a dead JVM, a killed Python worker) explained in
one sentence."""

from custseg.memory.failures import FailurePlace, classify, explain, heap_max_bytes, jvm_alive, mark, place_of
from custseg.memory.release import PersistedDuringJob, persisted_rdd_ids
from custseg.memory.sizing import AUTO, driver_memory, is_jvm_size, size_bytes
from custseg.memory.stored import stored

__all__ = [
    "AUTO", "FailurePlace", "PersistedDuringJob", "classify", "driver_memory", "explain", "heap_max_bytes",
    "is_jvm_size", "jvm_alive", "mark", "persisted_rdd_ids", "place_of", "size_bytes", "stored",
]
