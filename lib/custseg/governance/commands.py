"""Handlers of the governance commands: erase, lineage, export and consent."""

from __future__ import annotations

import argparse
import json

from pyspark.sql import SparkSession

from custseg.config import Config


def erase(spark: SparkSession, config: Config, args: argparse.Namespace) -> int:
    from custseg.jobs import erase as erase_job

    result = erase_job.run(spark, config, list(args.subjects))
    print(f"erased {result.metrics['records']} record(s) of {result.metrics['customers']} customer id(s): "
          f"{result.metrics['rows_erased']} row(s) from {result.metrics['tables_changed']} table(s); "
          f"run `custseg vacuum --retention-hours 0` to delete the old files too (request {result.run_id})")
    for table, version in sorted(result.output_versions.items()):
        print(f"  {table}: version {version}")
    return 0


def lineage(spark: SparkSession, config: Config, args: argparse.Namespace) -> int:
    from custseg.governance.lineage import lineage_tree, render

    tree = lineage_tree(spark, config, args.table, args.version)
    print(json.dumps(tree, indent=2, default=str) if args.json else render(tree))
    return 0


def export(spark: SparkSession, config: Config, args: argparse.Namespace) -> int:
    from custseg.jobs import export as export_job

    result = export_job.run(spark, config)
    print(f"segment_export: {result.rows_out.get('segment_export', 0)} consented customer(s), "
          f"version {result.output_versions.get('segment_export')}")
    return 0


def consent_build(spark: SparkSession, config: Config, args: argparse.Namespace) -> int:
    from custseg.jobs import consent as consent_job

    result = consent_job.run(spark, config)
    print(f"consent: {result.rows_out.get('consent', 0)} row(s), version {result.output_versions.get('consent')}")
    return 0


def consent_set(spark: SparkSession, config: Config, args: argparse.Namespace) -> int:
    from custseg.jobs import consent as consent_job

    result = consent_job.record(spark, config, args.customer, args.channel, args.status, args.by)
    print(f"consent: {args.customer} {args.channel} {args.status}, version {result.output_versions.get('consent')}")
    return 0
