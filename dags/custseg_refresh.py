"""Airflow DAGs for custseg: the daily batch refresh and the hourly incremental resolve + assign.

Every task is a ``SparkSubmitOperator`` whose binary is the project's ``spark-submit.sh``: the
script validates the configuration, zips the package and finds the right spark-submit, and it
accepts spark-submit's own argument order, which the operator uses. Each task passes a run key
(``CUSTSEG_RUN_KEY``: DAG, task and logical time), so a retry of a task that had in fact
finished changes no table. Failures retry with backoff, then alert through the log and by
email (the SMTP provider's notifier, when ``CUSTSEG_ALERT_EMAILS`` lists addresses).

Settings come from the worker's environment: ``CUSTSEG_HOME`` (the project folder, default:
the parent of this file's folder), ``CUSTSEG_ENV`` (configuration overlay, default
standalone), ``CUSTSEG_SPARK_CONN`` (Airflow connection naming the master, default
spark_default) and ``CUSTSEG_PRIVACY_KEY`` (the pseudonymization key, read by the jobs only).
"""

from __future__ import annotations

import logging
import os
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator

try:  # Airflow 3
    from airflow.sdk import DAG
except ImportError:  # Airflow 2
    from airflow import DAG

PROJECT = Path(os.environ.get("CUSTSEG_HOME", Path(__file__).resolve().parents[1]))
SUBMIT = str(PROJECT / "spark-submit.sh")
ENV = os.environ.get("CUSTSEG_ENV", "standalone")
CONNECTION = os.environ.get("CUSTSEG_SPARK_CONN", "spark_default")
ALERT_EMAILS = [a.strip() for a in os.environ.get("CUSTSEG_ALERT_EMAILS", "").split(",") if a.strip()]
RUN_KEY = "{{ dag.dag_id }}.{{ task.task_id }}.{{ ts_nodash }}"

log = logging.getLogger("custseg.dags")


def alert(context: dict[str, Any]) -> None:
    """Log a failed task with what on-call needs to find the run (the job's own log is in job_runs)."""
    task = context.get("task_instance")
    log.error("custseg task failed after its retries: dag=%s task=%s try=%s logical_date=%s error=%s",
              getattr(task, "dag_id", "?"), getattr(task, "task_id", "?"), getattr(task, "try_number", "?"),
              context.get("logical_date"), context.get("exception"))


def failure_callbacks() -> list[Any]:
    """The log alert, and an email to CUSTSEG_ALERT_EMAILS through the SMTP provider's notifier."""
    callbacks: list[Any] = [alert]
    if ALERT_EMAILS:
        from airflow.providers.smtp.notifications.smtp import SmtpNotifier

        callbacks.append(SmtpNotifier(to=ALERT_EMAILS, subject="custseg {{ dag.dag_id }}.{{ task.task_id }} failed"))
    return callbacks


DEFAULT_ARGS: dict[str, Any] = {
    "owner": "customer-data",
    "retries": 3,
    "retry_delay": timedelta(minutes=5),
    "retry_exponential_backoff": True,
    "max_retry_delay": timedelta(minutes=60),
    "on_failure_callback": failure_callbacks(),
}


def submit(job: str, *job_args: str, task_id: str | None = None, timeout_hours: float = 4) -> SparkSubmitOperator:
    """A task running ``./spark-submit.sh <job> --env ENV <job_args>``."""
    return SparkSubmitOperator(
        task_id=task_id or job,
        application=str(PROJECT / "jobs" / f"{job}.py"),
        application_args=["--env", ENV, *job_args],
        spark_binary=SUBMIT,
        conn_id=CONNECTION,
        name=f"custseg-{job}",
        env_vars={"CUSTSEG_RUN_KEY": RUN_KEY},
        execution_timeout=timedelta(hours=timeout_hours),
    )


with DAG(
    dag_id="custseg_daily_refresh",
    description="Raw exports to segments: ingest, clean, resolve, features, segment, consent, export, audit",
    schedule="0 2 * * *",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["custseg", "batch"],
) as daily:
    steps = [submit("ingest"), submit("clean"), submit("resolve"), submit("features"), submit("segment"),
             submit("consent"), submit("export"), submit("audit", timeout_hours=1)]
    for upstream, downstream in zip(steps, steps[1:], strict=False):
        upstream >> downstream

with DAG(
    dag_id="custseg_hourly_incremental",
    description="New and changed records of the hourly sources: incremental resolve, then assign with the saved model",
    schedule="15 * * * *",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args={**DEFAULT_ARGS, "retries": 2, "retry_delay": timedelta(minutes=2)},
    tags=["custseg", "incremental"],
) as hourly:
    (submit("ingest", timeout_hours=0.5) >> submit("clean", timeout_hours=0.5)
     >> submit("resolve", "--incremental", timeout_hours=0.5) >> submit("features", timeout_hours=0.5)
     >> submit("assign", timeout_hours=0.5) >> submit("export", timeout_hours=0.5))
