"""MLflow tracking of propensity runs: one MLflow run per job run, a nested run per model
evaluated, with parameters, metrics and the saved model's version and path.

The default is a file store under ``<storage.root>/mlruns``; MLflow 3 refuses the file store
unless ``MLFLOW_ALLOW_FILE_STORE`` is set, so it is set for file URIs only. Any other tracking
URI (a server, a database) is used as given.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from custseg.config.model import PropensitySettings
from custseg.config.resolved import is_uri, join_path
from custseg.errors import EnvironmentProblem


def tracking_uri(settings: PropensitySettings, root_dir: str) -> str:
    """The configured URI, or a file store under the storage root."""
    if settings.tracking_uri:
        return settings.tracking_uri
    path = join_path(root_dir, "mlruns")
    return path if is_uri(path) else f"file://{path}"


@contextmanager
def mlflow_run(settings: PropensitySettings, root_dir: str, run_name: str, params: dict[str, Any]) -> Iterator[Any]:
    """The ``mlflow`` module inside an active run named ``run_name``."""
    try:
        import mlflow
    except ImportError as exc:
        raise EnvironmentProblem("propensity.mlflow is true but MLflow is not installed: "
                                 "pip install 'custseg[mlflow]' (mlflow-skinny), "
                                 "or set propensity.mlflow=false") from exc
    uri = tracking_uri(settings, root_dir)
    if uri.startswith("file:"):
        os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
    mlflow.set_tracking_uri(uri)
    mlflow.set_experiment(settings.experiment)
    with mlflow.start_run(run_name=run_name):
        mlflow.log_params(params)
        yield mlflow


def log_model_run(mlflow: Any, name: str, params: dict[str, Any], metrics: dict[str, float],
                  tags: dict[str, str]) -> None:
    """A nested run for one evaluated model."""
    with mlflow.start_run(run_name=name, nested=True):
        if params:
            mlflow.log_params(params)
        mlflow.log_metrics(metrics)
        mlflow.set_tags(tags)
