"""Inspection commands: `custseg tables`, `custseg history`, `custseg vacuum`, `custseg resolve-model`
and `custseg segments diff`."""

from __future__ import annotations

import argparse

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
