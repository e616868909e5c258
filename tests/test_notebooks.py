"""The notebooks: each `.py` (jupytext percent, what reviews see) is paired with its `.ipynb`, and every
notebook runs top to bottom with nbclient on the pipeline's outputs, drawing no empty figure."""

from __future__ import annotations

import base64
import io
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
from tests.conftest import PROJECT, config_at

jupytext = pytest.importorskip("jupytext", reason="the notebook extra is not installed")
NOTEBOOKS = sorted((PROJECT / "notebooks").glob("*.py"))

# Run in the kernel before each notebook: every figure shown must have drawn something, and
# each shown figure is counted so the test can match it with an image in the outputs.
FIGURE_CHECK = """
import matplotlib.pyplot as _plt
# The kernel is shared by the notebooks: wrap the original show once, and count anew per notebook.
_show = _plt._unchecked_show = getattr(_plt, "_unchecked_show", _plt.show)
_shown = []
def _checked_show(*args, **kwargs):
    for number in _plt.get_fignums():
        figure = _plt.figure(number)
        axes = [ax for ax in figure.axes if ax.axison or ax.has_data()]
        empty = [ax.get_title() or str(i) for i, ax in enumerate(axes) if not ax.has_data()]
        assert axes and not empty, f"empty figure {number}: axes without data {empty}"
        _shown.append(number)
    return _show(*args, **kwargs)
_plt.show = _checked_show
"""


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


def test_every_notebook_is_paired_and_in_sync() -> None:
    assert {p.stem for p in NOTEBOOKS} >= {"data_audit", "identity_resolution", "segments", "migration"}
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


def test_every_notebook_runs_on_the_pipeline_outputs(two_versions: Config, tmp_path: Path) -> None:
    import matplotlib.image
    from jupyter_client.manager import KernelManager
    from nbclient import NotebookClient

    kernel = KernelManager(kernel_name="python3")
    kernel.start_kernel(cwd=str(tmp_path))  # one kernel, one Spark driver, for all the notebooks
    try:
        for py_file in NOTEBOOKS:
            notebook = jupytext.read(py_file)
            position = next(i for i, c in enumerate(notebook["cells"]) if "parameters" in c["metadata"].get("tags", []))
            injected = (f"STORAGE_ROOT = {two_versions.root_dir!r}\n"
                        "SETTINGS = ['spark.driver_memory=1g', 'spark.shuffle_partitions=2']\n" + FIGURE_CHECK)
            notebook["cells"].insert(position + 1, jupytext.reads(injected, fmt="py:percent")["cells"][0])
            notebook["cells"].append(jupytext.reads("print('FIGURES', len(_shown))", fmt="py:percent")["cells"][0])
            NotebookClient(notebook, km=kernel, timeout=600, allow_errors=False).execute()
            images = [base64.b64decode(o["data"]["image/png"]) for c in notebook["cells"] if c["cell_type"] == "code"
                      for o in c.get("outputs", []) if "image/png" in o.get("data", {})]
            shown = int(notebook["cells"][-1]["outputs"][0]["text"].split()[-1])
            assert images and len(images) == shown, (py_file.name, len(images), shown)
            for image in images:
                pixels = matplotlib.image.imread(io.BytesIO(image))
                assert (pixels[..., :3] < 0.9).mean() > 0.01, f"{py_file.name}: a nearly blank image"
    finally:
        kernel.shutdown_kernel(now=True)
