"""Shared fixtures: one SparkSession for the whole run, built by custseg's own builder."""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import gc
import os
import pickle
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from custseg import jobs
from custseg.config import Config, load_config
from custseg.delta import TableStore
from custseg.delta.deltars import DeltaRsStore
from custseg.runtime import JobResult
from custseg.session import build_spark_session, delta_spark_available

PROJECT = Path(__file__).resolve().parents[1]

# PySpark reads naive Python datetimes in the process's local zone; Spark sessions run in UTC.
# Pin the test process to UTC so hand-written expected times mean the same on every machine.
os.environ["TZ"] = "UTC"
time.tzset()


# The heavy proofs: the whole pipeline, a real standalone cluster, incremental runs over many
# batches, the stream, the property-based fuzzing, and the linters over the whole tree; the
# slowest single tests elsewhere (a whole job end to end, a stage over several runs or dates, a
# process of their own) carry `@pytest.mark.heavy`. `make test` runs everything; `make test-fast`
# (`-m "not heavy"`) leaves these out for the inner loop.
HEAVY_MODULES = ("test_incremental.py", "test_code_quality.py", "test_standalone.py", "test_stream.py",
                 "test_segment_jobs.py", "test_fuzz.py", "test_standardizer_properties.py")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    reading_pipeline = {item.path for item in items if _reads_pipeline(item)}
    for item in items:
        if _reads_pipeline(item) or item.path.name in HEAVY_MODULES:
            item.add_marker(pytest.mark.heavy)
    items.sort(key=lambda item: _module_rank(item.path, reading_pipeline))


def _reads_pipeline(item: pytest.Item) -> bool:
    return "pipeline" in getattr(item, "fixturenames", ())


def _module_rank(module: Path, reading_pipeline: set[Path]) -> int:
    """The order modules run in: the pipeline's own tests first, which build the shared run;
    then the modules that never need it, the heavy ones first; last the modules with a test
    that reads the pipeline's tables. With pytest-xdist workers (`-n 2 --dist loadfile
    --no-loadscope-reorder`) one worker starts the shared run at once while the other takes
    the modules that do not wait on it. The sort is stable, so each module keeps its tests in
    order and together."""
    if module.name == "test_pipeline.py":
        return 0
    if module in reading_pipeline:
        return 3
    return 1 if module.name in HEAVY_MODULES else 2


@pytest.fixture(scope="session")
def base_config(tmp_path_factory: pytest.TempPathFactory) -> Config:
    root = tmp_path_factory.mktemp("custseg-root")
    return load_config(PROJECT / "conf", "local", [
        # one session runs every job of the suite
        f"storage.root={root}", "spark.shuffle_partitions=2", "spark.driver_memory=3g",
        "storage.delta_engine=auto",
    ])


@pytest.fixture(scope="session")
def spark(base_config: Config) -> SparkSession:
    """The one SparkSession of the test run: small-data settings on top of the job settings."""
    session = build_spark_session(base_config, app_name="custseg-tests", extra_conf={
        "spark.sql.shuffle.partitions": "2",  # tiny DataFrames: more partitions only add overhead
        "spark.default.parallelism": "2",
        "spark.ui.enabled": "false",
        "spark.sql.adaptive.enabled": "true",
        # Tiny frames: compiling each new query's generated code costs more than it saves, and
        # the suite plans thousands of distinct queries (modules running whole jobs take 10-25%
        # less time interpreted). Results are the same either way; the standalone cluster's run,
        # the stream's process and the CLI's subprocesses keep the compiled path under test.
        "spark.sql.codegen.wholeStage": "false",
        "spark.sql.codegen.factoryMode": "NO_CODEGEN",
    })
    yield session
    session.stop()
    gc.collect()  # release Arrow buffers held by deltalake readers before interpreter exit


@pytest.fixture(autouse=True)
def _reset_spark_state(request: pytest.FixtureRequest) -> None:
    """Clear cached data between tests so one test's cache cannot hide another's bug."""
    yield
    if "spark" in request.fixturenames:
        request.getfixturevalue("spark").catalog.clearCache()


def config_at(base: Config, root: Path, **section_overrides: object) -> Config:
    """``base`` with storage under ``root`` and whole sections replaced."""
    storage = dataclasses.replace(base.storage, root=str(root))
    return base.with_overrides(storage=storage, **section_overrides)


@pytest.fixture
def config(base_config: Config, tmp_path: Path) -> Config:
    """Configuration whose tables live in this test's own folder."""
    return config_at(base_config, tmp_path / "root")


@pytest.fixture
def store(spark: SparkSession, tmp_path: Path) -> TableStore:
    return DeltaRsStore(spark, str(tmp_path / "staging"))


@pytest.fixture(scope="session")
def has_delta_jars(spark: SparkSession) -> bool:
    return delta_spark_available(spark)


@pytest.fixture
def native_store(spark: SparkSession, tmp_path: Path, has_delta_jars: bool) -> TableStore:
    if not has_delta_jars:
        pytest.skip("delta-spark JVM classes are not on the classpath here")
    from custseg.delta.native import NativeDeltaStore

    return NativeDeltaStore(spark, str(tmp_path / "staging"))


@pytest.fixture(scope="session")
def project_dir() -> Path:
    return PROJECT


@contextlib.contextmanager
def _exclusive(lock_path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``lock_path`` across the test run's worker processes."""
    with lock_path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@pytest.fixture(scope="session")
def pipeline(spark: SparkSession, base_config: Config, tmp_path_factory: pytest.TempPathFactory,
             worker_id: str) -> tuple[Config, list[JobResult]]:
    """The whole pipeline run once on 3,000 generated customers (and their one-source export),
    shared by every test that reads its outputs. Tests that change its tables copy
    ``config.root_dir`` first.

    With several pytest-xdist workers the first worker to ask runs it and the others wait for it
    and read the same tables: one run, not one per worker."""
    run_folder = tmp_path_factory.getbasetemp()
    if worker_id != "master":
        run_folder = run_folder.parent  # shared by this run's workers, and by this run only
    root, finished = run_folder / "pipeline", run_folder / "pipeline-results.pickle"
    with _exclusive(run_folder / "pipeline.lock"):
        config = config_at(
            base_config, root,
            generate=dataclasses.replace(base_config.generate, customers=3000, people_export=True),
        )
        if finished.is_file():
            return config, pickle.loads(finished.read_bytes())
        if root.exists():
            shutil.rmtree(root)  # a worker that failed half-way left it
        results = jobs.run("run_all", spark, config)
        finished.write_bytes(pickle.dumps(results))
        return config, results
