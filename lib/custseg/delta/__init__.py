"""Delta tables through one API, with the engine picked by ``storage.delta_engine``."""

from __future__ import annotations

from importlib import metadata

from pyspark.sql import SparkSession

from custseg.config.model import deltars_needs_local_root, is_remote
from custseg.config.resolved import join_path
from custseg.delta.base import CommitInfo, HistoryEntry, StagedWrite, TableStore, WriteMode
from custseg.errors import EnvironmentProblem

__all__ = ["CommitInfo", "HistoryEntry", "StagedWrite", "TableStore", "WriteMode", "delta_maven_coordinate",
           "open_store"]


def open_store(spark: SparkSession, engine: str, root: str) -> TableStore:
    """The table store for ``engine``, staging its writes under ``<root>/staging``: ``auto`` picks
    native when delta-spark is loaded, else deltars, which keeps tables on the local disk only.

    Raises:
        EnvironmentProblem: native is wanted but not loaded, or deltars would get a remote root.
    """
    from custseg.session import delta_spark_available

    if engine not in ("auto", "native", "deltars"):
        raise ValueError(f"unknown delta engine {engine!r}; use auto, native or deltars")
    native_ok = engine != "deltars" and delta_spark_available(spark)
    if engine == "native" and not native_ok:
        raise EnvironmentProblem(
            "storage.delta_engine is 'native' but delta-spark's JVM classes are not loaded: pass "
            "--delta-packages to spark-submit.sh (needs Maven access), or set storage.delta_engine=deltars."
        )
    staging_root = join_path(root, "staging")
    if native_ok:
        from custseg.delta.native import NativeDeltaStore

        return NativeDeltaStore(spark, staging_root)
    if is_remote(root):
        raise EnvironmentProblem(deltars_needs_local_root(engine, root))
    from custseg.delta.deltars import DeltaRsStore

    return DeltaRsStore(spark, staging_root)


def delta_maven_coordinate() -> str:
    """The delta-spark artifact matching the installed pyspark, e.g. io.delta:delta-spark_4.1_2.13:4.4.1."""
    import pyspark

    spark_minor = ".".join(pyspark.__version__.split(".")[:2])
    return f"io.delta:delta-spark_{spark_minor}_2.13:{metadata.version('delta-spark')}"
