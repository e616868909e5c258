"""Tables for notebooks: the jobs' own configuration, session builder and table store, read at any version.

A notebook calls ``open_tables()`` once and then ``tables.read("customer_segments", version=3)``:
the same paths, engines and time travel as the jobs, so what a notebook shows is what a job read.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from custseg.catalog import Catalog
from custseg.config import Config, load_config
from custseg.config.resolved import join_path
from custseg.delta import HistoryEntry
from custseg.errors import InputDataError
from custseg.runtime import segmentation_runs, table_store
from custseg.session import build_spark_session

STORAGE_ROOT_ENV = "CUSTSEG_STORAGE_ROOT"
ENV_ENV = "CUSTSEG_ENV"


class Tables:
    """Named custseg tables of one storage root."""

    def __init__(self, spark: SparkSession, config: Config) -> None:
        self.spark, self.config = spark, config
        self.store, self.catalog = table_store(spark, config), Catalog(config)

    def exists(self, name: str) -> bool:
        return self.store.exists(self.catalog.path(name))

    def read(self, name: str, version: int | None = None) -> DataFrame:
        """Table ``name`` at ``version`` (default: its latest).

        Raises:
            InputDataError: when the table has not been written under this storage root.
        """
        if not self.exists(name):
            raise InputDataError(f"table {name!r} does not exist under {self.config.root_dir}; "
                                 "run `make run` (or the job that writes it) first")
        return self.store.read(self.catalog.path(name), version=version)

    def version(self, name: str) -> int:
        return self.store.version(self.catalog.path(name))

    def history(self, name: str) -> list[HistoryEntry]:
        return self.store.history(self.catalog.path(name))

    def latest_run(self, job: str) -> str | None:
        """The latest succeeded run id of ``job``, from ``job_runs``."""
        row = (self.read("job_runs").filter((F.col("job") == job) & (F.col("status") == "succeeded"))
               .agg(F.max_by("run_id", "ended_at").alias("run_id")).first())
        return None if row is None else row["run_id"]

    def segmentation_run_of(self, run_id: str | None) -> str | None:
        """The segmentation run that run ``run_id`` of propensity or recommend used (None: not recorded)."""
        return None if run_id is None else segmentation_runs(self.read("job_runs"), [run_id]).get(run_id)

    def segment_model(self, run_id: str | None = None) -> Any:
        """The saved segmentation ``PipelineModel`` of ``run_id`` (default: the one behind segment_profiles)."""
        from pyspark.ml import PipelineModel

        if run_id is None:
            row = self.read("segment_profiles").select("model_run_id").first()
            if row is None:
                raise InputDataError("table 'segment_profiles' is empty; run `custseg segment` first")
            run_id = row["model_run_id"]
        return PipelineModel.load(join_path(self.config.models_dir, "segmentation", run_id))


def open_tables(env: str | None = None, storage_root: str | None = None, settings: Sequence[str] = (),
                spark: SparkSession | None = None) -> Tables:
    """Load the configuration the way the jobs do and open its tables.

    Args:
        env: configuration overlay (default: ``$CUSTSEG_ENV``, else ``local``).
        storage_root: tables' root (default: ``$CUSTSEG_STORAGE_ROOT``, else ``storage.root``: what `make run` wrote).
        settings: further ``section.key=value`` overrides, as ``--set`` takes them.
        spark: a session to use; default: one built by the jobs' builder.
    """
    root = storage_root or os.environ.get(STORAGE_ROOT_ENV)
    overrides = [*([f"storage.root={root}"] if root else []), *settings]
    config = load_config(env=env or os.environ.get(ENV_ENV, "local"), overrides=overrides)
    return Tables(spark or build_spark_session(config, app_name="custseg-notebook"), config)
