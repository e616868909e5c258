"""Handlers of the commands that are not pipeline jobs: the inspection commands (`custseg tables`,
`history`, `vacuum`, `resolve-model`, `segments diff`) and the governance ones (`erase`, `lineage`,
`export`, `consent`).

They sit above the jobs, whose ``run`` some of them call. Each handler imports the job or module it
runs when it is called, so building the command line (`custseg --help`) does not import them all.
"""

from __future__ import annotations

import argparse
import json

from pyspark.sql import SparkSession

from custseg.catalog import Catalog
from custseg.config import Config
from custseg.config.resolved import join_path
from custseg.delta.base import tables_read
from custseg.errors import CustsegError
from custseg.files import read_text
from custseg.runtime import table_store


def print_tables(spark: SparkSession, config: Config, args: argparse.Namespace) -> int:
    store, catalog = table_store(spark, config), Catalog(config)
    print(f"{'table':<24} {'layer':<7} {'version':>7} {'rows':>12}  path")
    for spec in catalog.specs():
        path = catalog.path(spec.name)
        if store.exists(path):
            version = store.version(path)
            print(f"{spec.name:<24} {spec.layer:<7} {version:>7} {store.row_count(path, version):>12,}  {path}")
        else:
            print(f"{spec.name:<24} {spec.layer:<7} {'-':>7} {'-':>12}  (not written yet)")
    return 0


def print_history(spark: SparkSession, config: Config, args: argparse.Namespace) -> int:
    store, catalog = table_store(spark, config), Catalog(config)
    print(f"{'version':>7}  {'committed (UTC)':<19}  {'operation':<14} {'job':<10} {'rows':>10}  run / inputs")
    for entry in store.history(catalog.path(args.table), limit=args.limit):
        inputs = ", ".join(f"{name}@{v}" for name, v in tables_read(entry.input_versions))
        rows = f"{entry.rows_written:,}" if entry.rows_written is not None else "-"
        print(f"{entry.version:>7}  {entry.timestamp:%Y-%m-%d %H:%M:%S}  {entry.operation:<14} "
              f"{entry.job or '-':<10} {rows:>10}  {entry.run_id or '-'}{' <- ' + inputs if inputs else ''}")
    return 0


def vacuum_tables(spark: SparkSession, config: Config, args: argparse.Namespace) -> int:
    store, catalog = table_store(spark, config), Catalog(config)
    hours = args.retention_hours if args.retention_hours is not None else config.storage.vacuum_retention_hours
    names = args.tables or [s.name for s in catalog.specs()]
    for name in names:
        path = catalog.path(name)
        if not store.exists(path):
            continue
        removed = store.vacuum(path, hours, dry_run=args.dry_run)
        verb = "would remove" if args.dry_run else "removed"
        print(f"{name}: {verb} {len(removed)} file(s) older than {hours}h and not in any recent version")
    return 0


def print_segment_migration(spark: SparkSession, config: Config, args: argparse.Namespace) -> int:
    from custseg.jobs import segments_diff
    from custseg.segment.migration import render

    result, rows = segments_diff.run(spark, config, args.from_version, args.to_version)
    print(f"customer_segments version {args.from_version} (rows) -> version {args.to_version} (columns); "
          f"{result.metrics['customers_moved']} customer(s) changed segment")
    print(render(rows))
    return 0


def print_resolve_model(spark: SparkSession, config: Config, args: argparse.Namespace) -> int:
    """Print a saved identity-resolution model (``args.path``, default the latest under storage.root)."""
    from custseg.resolve.model import FellegiSunterModel, describe

    path = args.path or join_path(config.models_dir, "resolution", "latest.json")
    try:
        text = read_text(spark, path)
    except FileNotFoundError:
        raise CustsegError(f"no saved model at {path}: run `custseg resolve` first, or give a path") from None
    try:
        model = FellegiSunterModel.from_json(text)
    except (ValueError, TypeError) as exc:  # not JSON, or JSON of something else
        raise CustsegError(f"{path} is not a saved resolution model: {str(exc)[:200]}") from None
    print(describe(model))
    return 0


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
