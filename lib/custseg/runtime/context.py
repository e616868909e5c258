"""What a job body sees: tables by name, staged writes, and the run's accounting.

Reads pin each input table's version on first use, so a job sees one consistent snapshot and
the run log can name exactly what it read; a read at a named version (time travel) is recorded
beside the pinned one. Writes are staged; ``commit`` publishes them only after the whole body
succeeded, and ``discard`` removes them when it failed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from pyspark.sql import DataFrame, SparkSession

from custseg.catalog import Catalog, conform
from custseg.config import Config
from custseg.config.resolved import join_path
from custseg.delta import CommitInfo, StagedWrite, TableStore, WriteMode
from custseg.delta.base import input_key
from custseg.delta.rows import Row
from custseg.errors import DataQualityError, InputDataError, TableError
from custseg.files import copy, move, remove, write_text
from custseg.memory.release import PersistedDuringJob
from custseg.quality.checks import CheckResult
from custseg.runtime.boundary import validate_references, validate_write
from custseg.runtime.phases import PhaseClock
from custseg.tables.ops import VALIDATION_RESULTS
from custseg.tables.spec import TableSpec

log = logging.getLogger(__name__)
# Table name -> the table (at a version the caller chose), or None where it does not exist.
TableReader = Callable[[str], DataFrame | None]


class JobContext:
    def __init__(
        self, spark: SparkSession, config: Config, store: TableStore, catalog: Catalog, job: str, run_id: str
    ):
        self.spark = spark
        self.config = config
        self.store = store
        self.catalog = catalog
        self.job = job
        self.run_id = run_id
        # Table name -> pinned version, and table@version -> each other version read (input_key).
        self.input_versions: dict[str, int] = {}
        self.rows_in: dict[str, int] = {}
        self.rows_out: dict[str, int] = {}
        self.output_versions: dict[str, int] = {}
        self.metrics: dict[str, str] = {}
        self._staged: dict[str, StagedWrite] = {}
        self.checks: list[CheckResult] = []
        self._staged_frames: dict[str, DataFrame] = {}
        self._after_commit: list[Callable[[], object]] = []
        self._on_failure: list[Callable[[], object]] = []
        self.clock = PhaseClock(spark, run_id)
        # What the job is doing, for the sentence that explains a failure ("staging table events").
        self.step = "starting"
        self._persisted: PersistedDuringJob | None = None

    # -- memory --------------------------------------------------------------------------
    def track_persisted(self) -> None:
        """Note what the session holds persisted now; ``release_persisted`` frees what comes after."""
        self._persisted = PersistedDuringJob(self.spark)

    def release_persisted(self) -> int:
        """Unpersist every RDD and DataFrame the job persisted or checkpointed; returns how many."""
        return self._persisted.release() if self._persisted is not None else 0

    def persisted_left(self) -> int:
        """RDDs persisted since ``track_persisted`` that the session still holds."""
        return self._persisted.left() if self._persisted is not None else 0

    # -- reading -------------------------------------------------------------------------
    def table_exists(self, name: str) -> bool:
        return self.store.exists(self.catalog.path(name))

    def read(self, name: str, version: int | None = None) -> DataFrame:
        """Table ``name`` at the version pinned for this run (its latest at first read), or at
        ``version`` (time travel). Each version read lands in ``input_versions``, and so in
        ``job_runs`` and the commits: the pinned one under ``name``, any other under
        ``name@version`` (``custseg.delta.base.input_key``).

        Raises:
            InputDataError: the table does not exist, or has no such version.
        """
        path = self.catalog.path(name)
        pinned = self.input_versions.get(name)
        if version is None and pinned is not None:
            return self.store.read(path, version=pinned)
        latest = self._latest_version(name, path)
        if version is None:
            version = latest
            self._record_input(name, path, version)
            for record in (self.input_versions, self.rows_in):  # read before at this version: now the pinned one
                record.pop(input_key(name, version), None)
        elif not 0 <= version <= latest:
            raise InputDataError(f"job {self.job}: table {name} has versions 0 to {latest}, not {version}")
        elif version != pinned and input_key(name, version) not in self.input_versions:
            self._record_input(input_key(name, version), path, version)
        return self.store.read(path, version=version)

    def read_optional(self, name: str, version: int | None = None) -> DataFrame | None:
        """``read``, or None where the table does not exist (yet)."""
        return self.read(name, version) if self.table_exists(name) else None

    def _latest_version(self, name: str, path: str) -> int:
        if not self.store.exists(path):
            raise InputDataError(
                f"job {self.job} needs table {name!r}, which does not exist yet ({path}); "
                "run the job that writes it first, or `custseg run_all`"
            )
        return self.store.version(path)

    def _record_input(self, key: str, path: str, version: int) -> None:
        self.input_versions[key] = version
        self.rows_in[key] = self.store.row_count(path, version)

    def count_input(self, name: str, rows: int) -> None:
        """Record rows read from a non-table input (a raw source)."""
        self.rows_in[name] = self.rows_in.get(name, 0) + rows

    # -- writing -------------------------------------------------------------------------
    def write(self, name: str, df: DataFrame, mode: WriteMode | None = None) -> DataFrame:
        """Stage ``df`` as the next version of ``name``; returns the staged data for reuse."""
        spec = self._spec_to_write(name)
        staged = self.store.stage(self.catalog.path(name), conform(df, spec), mode or spec.mode, spec.partition_by)
        return self._staged_write(name, spec, staged)

    def write_rows(self, name: str, rows: Sequence[Row], mode: WriteMode | None = None) -> DataFrame:
        """``write`` for rows the driver holds (tuples in the declared column order, or mappings
        by column name), which the store may write without a Spark job."""
        spec = self._spec_to_write(name)
        staged = self.store.stage_rows(self.catalog.path(name), rows, spec.schema, mode or spec.mode, spec.partition_by)
        return self._staged_write(name, spec, staged)

    def _spec_to_write(self, name: str) -> TableSpec:
        if name in self._staged:
            raise TableError(f"job {self.job} writes table {name!r} twice in one run")
        self.step = f"staging table {name}"
        return self.catalog.spec(name)

    def _staged_write(self, name: str, spec: TableSpec, staged: StagedWrite) -> DataFrame:
        self._staged[name] = staged
        nulls = {c: staged.null_counts[c] for c in spec.required_columns if staged.null_counts.get(c)}
        if nulls:
            raise TableError(f"table {name}: required column(s) hold nulls (column: rows) {nulls}")
        self.rows_out[name] = staged.num_records
        frame = self.store.staged_dataframe(staged)
        self._staged_frames[name] = frame
        self.checks += validate_write(self, spec, staged, frame)
        phase = self.clock.mark(f"stage {name}")  # with the work still pending on the frame, and its checks
        log.info("%s: staged %s rows for %s in %.1fs", self.job, staged.num_records, name, phase.seconds)
        return frame

    def table_for_check(self, name: str) -> DataFrame:
        """A referenced table: as staged by this job, else its latest committed version."""
        return self._staged_frames[name] if name in self._staged_frames else self.read(name)

    def after_commit(self, action: Callable[[], object], on_failure: Callable[[], object] | None = None) -> None:
        """Run ``action`` once every table is committed (e.g. publish files outside Delta);
        ``on_failure`` runs instead if the job fails."""
        self._after_commit.append(action)
        if on_failure is not None:
            self._on_failure.append(on_failure)

    def publish_text(self, folder: str, name: str, text: str, latest: str | None = None) -> str:
        """Write ``text`` as file ``name`` in ``folder`` (a report, a model) along with the tables:
        staged under a hidden name now, moved into place (and copied to ``latest``) once every
        table is committed, removed if the job fails. Returns the final path."""
        staged, final = join_path(folder, f".{name}"), join_path(folder, name)
        write_text(self.spark, staged, text)

        def publish() -> None:
            move(self.spark, staged, final)
            if latest is not None:
                copy(self.spark, final, join_path(folder, latest))

        self.after_commit(publish, on_failure=lambda: remove(self.spark, staged))
        return final

    def commit_info(self) -> CommitInfo:
        return CommitInfo(job=self.job, run_id=self.run_id, input_versions=self.input_versions)

    def commit(self) -> dict[str, int]:
        """Publish every staged table. If one commit fails, the tables already committed are
        put back to their previous content (a restore, or removal of a table this run created)."""
        self.step = "checking and committing its tables"
        self._publish_checks()
        info = self.commit_info()
        done: list[tuple[str, int | None]] = []
        for name, staged in self._staged.items():
            previous = self.store.version(staged.table_path) if self.store.exists(staged.table_path) else None
            try:
                self.output_versions[name] = self.store.commit(staged, info)
            except BaseException:
                self._roll_back(done, info)
                self.discard()
                raise
            done.append((name, previous))
        for action in self._after_commit:
            action()
        return dict(self.output_versions)

    def _publish_checks(self) -> None:
        """Run references rules, then stop if an error-severity check failed; else stage the
        results with the outputs."""
        for name, frame in list(self._staged_frames.items()):
            self.checks += validate_references(self, name, self._staged[name].num_records, frame)
        failures = [c for c in self.checks if c.failed_error]
        if failures:
            raise DataQualityError(
                f"{len(failures)} validation check(s) of severity error failed, nothing published:\n"
                + "\n".join(f"  - {c.message}" for c in failures)
            )
        if not self.checks or VALIDATION_RESULTS.name in self._staged:
            return
        self.metrics["checks_passed"] = f"{sum(c.passed for c in self.checks)}/{len(self.checks)}"
        rows = [(self.run_id, self.job, c.table, c.check_name, c.check_type, c.column, c.severity, c.rows,
                 c.violations, float(c.share), float(c.max_share), c.passed, c.message) for c in self.checks]
        self.write_rows(VALIDATION_RESULTS.name, rows)

    def discard(self) -> None:
        for staged in self._staged.values():
            if staged.committed_version is None:
                self.store.discard(staged)
        for cleanup in self._on_failure:
            try:
                cleanup()
            except Exception:  # the console shows one line; the run log keeps the traceback
                log.warning("%s: cleanup after failure failed", self.job, exc_info=True)

    def _roll_back(self, done: list[tuple[str, int | None]], info: CommitInfo) -> None:
        for name, previous in reversed(done):
            path = self.catalog.path(name)
            try:
                if previous is None:
                    self.store.drop(path)
                else:
                    self.store.restore(path, previous, info)
                self.output_versions.pop(name, None)
            except Exception:  # keep rolling back the others; the log names what is left
                log.exception("could not roll back table %s to version %s", name, previous)
