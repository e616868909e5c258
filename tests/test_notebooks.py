"""The notebooks: each `.py` (jupytext percent, what reviews see) is paired with its `.ipynb`, and every
notebook runs top to bottom with nbclient on the outputs it reads, drawing no empty figure. The four
here read the pipeline's outputs; `act` runs in tests/test_act_jobs.py on the propensity and recommend
jobs' outputs, and `realtime` in tests/test_stream.py on a stream's activations."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from custseg.catalog import Catalog
from custseg.config import Config
from custseg.runtime import JobResult, run_job, table_store
from custseg.segment.migration import migration_matrix
from tests import notebook_check
from tests.conftest import config_at

jupytext = pytest.importorskip("jupytext", reason="the notebook extra is not installed")
NOTEBOOKS = sorted(notebook_check.NOTEBOOK_DIR.glob("*.py"))
ON_PIPELINE = ("data_audit", "identity_resolution", "segments", "migration")
RUN_ELSEWHERE = {"act": "tests/test_act_jobs.py", "realtime": "tests/test_stream.py"}


def _cells(notebook: object) -> list[tuple[str, str]]:
    return [(c["cell_type"], c["source"]) for c in notebook["cells"]]  # type: ignore[index]


def drift(py_file: Path) -> list[str]:
    """Why ``py_file`` and its paired ``.ipynb`` differ (empty when they are in sync)."""
    ipynb = py_file.with_suffix(".ipynb")
    if not ipynb.is_file():
        return [f"{ipynb.name} is missing: run `jupytext --sync {py_file.name}`"]
    script, paired = jupytext.read(py_file), jupytext.read(ipynb)
    problems = [f"cell {i}: {a!r} != {b!r}" for i, (a, b) in enumerate(zip(_cells(script), _cells(paired),
                                                                           strict=False)) if a != b]
    if len(script["cells"]) != len(paired["cells"]):
        problems.append(f"{len(script['cells'])} cells in {py_file.name}, {len(paired['cells'])} in {ipynb.name}")
    if any(c.get("outputs") for c in paired["cells"]):
        problems.append(f"{ipynb.name} holds outputs: clear them before committing")
    return problems


def test_every_notebook_is_paired_in_sync_and_run_by_a_test() -> None:
    assert {p.stem for p in NOTEBOOKS} == {*ON_PIPELINE, *RUN_ELSEWHERE}  # a new notebook needs a test that runs it
    for py_file in NOTEBOOKS:
        assert drift(py_file) == [], py_file.name
        parameters = [c for c in jupytext.read(py_file)["cells"] if "parameters" in c["metadata"].get("tags", [])]
        assert len(parameters) == 1 and "STORAGE_ROOT = None" in parameters[0]["source"], py_file.name


def test_sync_check_sees_an_edited_notebook(tmp_path: Path) -> None:
    shutil.copy(NOTEBOOKS[0], tmp_path / NOTEBOOKS[0].name)
    paired = json.loads(NOTEBOOKS[0].with_suffix(".ipynb").read_text(encoding="utf-8"))
    paired["cells"][-1]["source"] = ["print('edited in Jupyter only')"]
    (tmp_path / NOTEBOOKS[0].with_suffix(".ipynb").name).write_text(json.dumps(paired), encoding="utf-8")
    assert any("edited in Jupyter only" in p for p in drift(tmp_path / NOTEBOOKS[0].name))
    (tmp_path / NOTEBOOKS[0].with_suffix(".ipynb").name).unlink()
    assert "is missing" in drift(tmp_path / NOTEBOOKS[0].name)[0]


@pytest.fixture(scope="module")
def two_versions(spark: SparkSession, pipeline: tuple[Config, list[JobResult]],
                 tmp_path_factory: pytest.TempPathFactory) -> Config:
    """A copy of the pipeline's outputs with a second customer_segments version: every customer of
    the smallest segment moved to the largest, so the migration has one known off-diagonal flow."""
    shared, _ = pipeline
    root = tmp_path_factory.mktemp("two-versions") / "root"
    shutil.copytree(shared.root_dir, root)
    config = config_at(shared, root)
    store, catalog = table_store(spark, config), Catalog(config)
    profiles = store.read(catalog.path("segment_profiles")).orderBy("customers").collect()
    small, large = profiles[0], profiles[-1]
    segments = store.read(catalog.path("customer_segments"))
    moved = segments.withColumns({
        "segment_id": F.when(F.col("segment_id") == small["segment_id"], F.lit(large["segment_id"]))
        .otherwise(F.col("segment_id")),
        "segment_name": F.when(F.col("segment_id") == small["segment_id"], F.lit(large["segment_name"]))
        .otherwise(F.col("segment_name")),
    })
    run_job(spark, config, "assign", lambda ctx: ctx.write("customer_segments", moved.localCheckpoint()))
    return config


def test_report_shows_the_migration_between_versions(spark: SparkSession, two_versions: Config) -> None:
    from custseg.jobs import report

    result = report.run(spark, two_versions)
    page = Path(result.metrics["report"]).read_text(encoding="utf-8")
    store, path = table_store(spark, two_versions), Catalog(two_versions).path("customer_segments")
    moves = migration_matrix(store.read(path, version=0), store.read(path, version=1)).collect()
    assert result.metrics["migration_from_version"] == "0" and len(moves) >= 2
    for move in moves:
        cell = (f'data-row="{move["from_segment"]}: {move["from_name"]}" data-col="{move["to_segment"]}: '
                f'{move["to_name"]}" data-value="{float(move["customers"])!r}"')
        assert cell in page
    moved = sum(m["customers"] for m in moves if m["from_segment"] != m["to_segment"])
    assert f'data-metric="moved" data-value="{moved}"' in page


def test_every_pipeline_notebook_runs_on_the_pipeline_outputs(two_versions: Config, pytestconfig: pytest.Config,
                                                              tmp_path_factory: pytest.TempPathFactory) -> None:
    kernel = notebook_check.kernel(pytestconfig, tmp_path_factory)
    for name in ON_PIPELINE:
        notebook_check.execute(kernel, notebook_check.NOTEBOOK_DIR / f"{name}.py", two_versions.root_dir)
