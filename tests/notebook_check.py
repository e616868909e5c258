"""Run notebooks top to bottom with nbclient on a storage root, and check what they drew: no error,
every figure shown has data on each of its axes, at least one image, one image per figure shown,
and no image nearly blank.

One kernel (and so one Spark driver) serves every notebook of the test run: it starts with the
first notebook run and stops when pytest ends, which spares each test a kernel and a JVM start.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import PROJECT

NOTEBOOK_DIR = PROJECT / "notebooks"
SETTINGS = ("spark.driver_memory=1g", "spark.shuffle_partitions=2")
_KERNEL = pytest.StashKey[Any]()

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


def kernel(pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The test run's notebook kernel, started on first use and shut down when pytest ends."""
    from jupyter_client.manager import KernelManager

    if _KERNEL not in pytestconfig.stash:
        manager = KernelManager(kernel_name="python3")
        manager.start_kernel(cwd=str(tmp_path_factory.mktemp("notebook-kernel")))
        pytestconfig.stash[_KERNEL] = manager
        pytestconfig.add_cleanup(lambda: manager.shutdown_kernel(now=True))
    return pytestconfig.stash[_KERNEL]


def execute(manager: Any, py_file: Path, storage_root: str, settings: Sequence[str] = SETTINGS) -> Any:
    """Run notebook ``py_file`` (jupytext percent) in ``manager``'s kernel on ``storage_root``, its
    parameters overridden just after its ``parameters`` cell, and return it with its outputs.

    Raises:
        nbclient.exceptions.CellExecutionError: when a cell fails (an empty figure among them).
        AssertionError: when it showed no figure, an image is missing or one is nearly blank.
    """
    import jupytext
    import matplotlib.image
    from nbclient import NotebookClient

    notebook = jupytext.read(py_file)
    position = next(i for i, c in enumerate(notebook["cells"]) if "parameters" in c["metadata"].get("tags", []))
    injected = f"STORAGE_ROOT = {storage_root!r}\nSETTINGS = {list(settings)!r}\n" + FIGURE_CHECK
    notebook["cells"].insert(position + 1, jupytext.reads(injected, fmt="py:percent")["cells"][0])
    notebook["cells"].append(jupytext.reads("print('FIGURES', len(_shown))", fmt="py:percent")["cells"][0])
    NotebookClient(notebook, km=manager, timeout=600, allow_errors=False).execute()
    images = [base64.b64decode(o["data"]["image/png"]) for c in notebook["cells"] if c["cell_type"] == "code"
              for o in c.get("outputs", []) if "image/png" in o.get("data", {})]
    shown = int(notebook["cells"][-1]["outputs"][0]["text"].split()[-1])
    assert images and len(images) == shown, (py_file.name, len(images), shown)
    for image in images:
        pixels = matplotlib.image.imread(io.BytesIO(image))
        assert (pixels[..., :3] < 0.9).mean() > 0.01, f"{py_file.name}: a nearly blank image"
    return notebook


def outputs_text(notebook: Any) -> str:
    """Everything the notebook's cells printed."""
    return "".join(o.get("text", "") for c in notebook["cells"] if c["cell_type"] == "code"
                   for o in c.get("outputs", []) if o.get("output_type") == "stream")
