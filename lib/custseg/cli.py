"""The `custseg` command: run jobs in-process, inspect tables, and help spark-submit.sh.

``jobs/<name>.py`` calls ``main([name, *args])``, so a job behaves the same under
spark-submit and from this console script. Configuration is loaded and validated before a
SparkSession exists, so a bad key never costs a JVM start.
"""

from __future__ import annotations

import argparse
import gc
import logging
import shlex
import sys
from collections.abc import Callable, Sequence

from custseg.config import Config, load_config
from custseg.errors import CustsegError

# Exit codes of failures custseg did not raise itself: 7 when memory or the JVM gave out.
EXIT_OUT_OF_MEMORY = 7
EXIT_UNEXPECTED = 1

JOB_HELP = {
    "generate": "write the built-in messy sample data (raw files) and its ground truth",
    "ingest": "read raw sources with their declared schemas into bronze tables; quarantine bad rows",
    "clean": "standardize bronze tables into silver tables",
    "resolve": "match source records into customers: customer_master and identity_crosswalk",
    "features": "compute per-customer features as of a date",
    "segment": "fit the segmentation pipeline, choose k, write segments and profiles",
    "assign": "segment new and changed customers with a saved model, without refitting",
    "audit": "profile tables (nulls, distincts, ranges, outliers, duplicates, rule violations) "
             "into data_audit and an HTML report",
    "report": "write an HTML report of the latest segmentation run (inputs, resolution, segments, migration)",
    "propensity": "train churn and purchase models per segment, score every customer, log to MLflow",
    "recommend": "recommend products per customer (ALS, segment re-ranking, cold-start fallback) and evaluate offline",
    "run_all": "run every job in order and print a summary",
    "stream": "real-time segments: abandoned carts from the event stream, activated exactly once (not in run_all)",
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    _configure_logging(args.verbose)
    try:
        return int(args.handler(args) or 0)
    except CustsegError as exc:
        print(f"custseg {args.command}: {exc}", file=sys.stderr)
        return exc.exit_code
    except Exception as exc:  # anything else is still one sentence; the traceback goes to the run log
        from custseg.memory import classify
        from custseg.memory.failures import dying_jvm_exit_code
        from custseg.memory.runlog import report_failure

        sentence = report_failure(exc, args.command, args.verbose)
        prefix = "" if sentence.startswith(f"custseg {args.command} ") else f"custseg {args.command}: "
        print(prefix + sentence, file=sys.stderr)
        return EXIT_UNEXPECTED if classify(exc, dying_jvm_exit_code(exc)) == "other" else EXIT_OUT_OF_MEMORY
    finally:
        gc.collect()  # release Arrow buffers before interpreter teardown


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="custseg", description="Customer segmentation job suite on Spark.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for job, help_text in JOB_HELP.items():
        sub = commands.add_parser(job, help=help_text, description=help_text)
        _add_config_arguments(sub)
        if job in ("generate", "run_all"):
            sub.add_argument("--customers", type=int, help="persons to generate (generate.customers)")
            sub.add_argument("--seed", type=int, help="random seed (generate.seed)")
        if job in ("features", "run_all"):
            sub.add_argument("--as-of", help="feature date, YYYY-MM-DD (features.as_of)")
        if job == "assign":
            sub.add_argument("--model-run",
                             help="segment run whose model to use (default: the one behind segment_profiles)")
        if job == "resolve":
            sub.add_argument("--incremental", action="store_true",
                             help="match only new, changed and deleted records against the last run "
                                  "(resolve.incremental)")
        if job == "stream":
            sub.add_argument("--for", dest="run_seconds", type=float,
                             help="stop after this many seconds (stream.run_seconds)")
            sub.add_argument("--until-idle", dest="idle_seconds", type=float,
                             help="stop once no input came for this many seconds (stream.stop_when_idle_seconds)")
        sub.set_defaults(handler=_run_job_command)
    _add_tool_commands(commands)
    _add_stream_commands(commands)
    return parser


def _add_tool_commands(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    from custseg import tools

    tables = commands.add_parser("tables", help="list every table with its version and rows")
    _add_config_arguments(tables)
    tables.set_defaults(handler=_with_spark(tools.print_tables))
    history = commands.add_parser("history", help="show a table's versions and the runs that wrote them")
    _add_config_arguments(history)
    history.add_argument("table")
    history.add_argument("--limit", type=int, default=20)
    history.set_defaults(handler=_with_spark(tools.print_history))
    vacuum = commands.add_parser("vacuum", help="delete files no longer needed by recent versions")
    _add_config_arguments(vacuum)
    vacuum.add_argument("tables", nargs="*", help="tables to vacuum (default: all)")
    vacuum.add_argument("--retention-hours", type=int, help="default: storage.vacuum_retention_hours")
    vacuum.add_argument("--dry-run", action="store_true")
    vacuum.set_defaults(handler=_with_spark(tools.vacuum_tables))
    spark_args = commands.add_parser("spark-args",
                                     help="validated spark-submit arguments from config (for spark-submit.sh)")
    _add_config_arguments(spark_args)
    spark_args.add_argument("--master", help="target master; local masters get driver settings")
    spark_args.set_defaults(handler=_print_spark_args)
    archive = commands.add_parser(
        "jvm-archive", help="write the class-data archive local runs start the JVM from (make venv runs it)")
    archive.set_defaults(handler=_write_jvm_archive, verbose=False)
    coordinate = commands.add_parser("delta-coordinate", help="Maven coordinate of delta-spark for this pyspark")
    coordinate.set_defaults(handler=_print_delta_coordinate, verbose=False)
    sources = commands.add_parser("sources", help="the source inventory declared in conf/sources.yaml")
    _add_config_arguments(sources)
    sources.set_defaults(handler=_print_sources)
    dictionary = commands.add_parser("data-dictionary", help="every table and column with type and meaning (markdown)")
    _add_config_arguments(dictionary)
    dictionary.add_argument("--output", help="write to this file instead of standard output")
    dictionary.set_defaults(handler=_print_data_dictionary)
    reference = commands.add_parser("config-reference",
                                    help="every configuration key with type, default and meaning (markdown)")
    _add_config_arguments(reference)
    reference.add_argument("--output", help="write to this file instead of standard output")
    reference.set_defaults(handler=_print_config_reference)
    model = commands.add_parser("resolve-model",
                                help="show a saved identity-resolution model: m, u and weights per level")
    _add_config_arguments(model)
    model.add_argument("path", nargs="?", help="model JSON (default: <storage.root>/models/resolution/latest.json)")
    model.set_defaults(handler=_with_spark(tools.print_resolve_model))
    segments = commands.add_parser("segments", help="inspect segment versions")
    segment_commands = segments.add_subparsers(dest="segments_command", required=True, metavar="SUBCOMMAND")
    diff = segment_commands.add_parser("diff", help="migration matrix between two versions of customer_segments")
    _add_config_arguments(diff)
    diff.add_argument("--from", dest="from_version", type=int, required=True, help="earlier customer_segments version")
    diff.add_argument("--to", dest="to_version", type=int, required=True, help="later customer_segments version")
    diff.set_defaults(handler=_with_spark(tools.print_segment_migration))
    _add_governance_commands(commands)
    bench = commands.add_parser("bench", help="time every stage at a given scale; write bench/results")
    _add_config_arguments(bench)
    bench.add_argument("--scale", type=int, required=True, help="customers to generate")
    bench.add_argument("--output-dir", default="bench/results")
    bench.add_argument("--stages", nargs="+", metavar="STAGE",
                       help="time only these stages, on the tables an earlier bench at this scale left (default: all)")
    bench.set_defaults(handler=_run_bench)
    bench_resolve = commands.add_parser("bench-resolve", help="time identity resolution at several record counts")
    _add_config_arguments(bench_resolve)
    bench_resolve.add_argument("--records", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    bench_resolve.add_argument("--output-dir", default="bench/results")
    bench_resolve.add_argument("--reuse-data", action="store_true",
                               help="keep data generated by an earlier bench at the same size")
    bench_resolve.set_defaults(handler=lambda args: __import__("custseg.bench", fromlist=["resolve_main"]).resolve_main(
        _config_from(args), args.records, args.output_dir, args.reuse_data))


def _add_stream_commands(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    replay = commands.add_parser(
        "replay", help="live feed: timed event files into stream.landing_dir, with the truth of each cart")
    _add_config_arguments(replay)
    replay.add_argument("--carts", type=int, help="carts to play (stream.feed.carts)")
    replay.add_argument("--files", type=int, help="event files to write (stream.feed.files)")
    replay.add_argument("--realtime", action="store_true",
                        help="event times are the wall clock; files land as time passes")
    replay.set_defaults(handler=lambda args: __import__("custseg.stream.replay", fromlist=["main"]).main(
        _config_from(args), args.carts, args.files, args.realtime))
    bench = commands.add_parser("bench-stream", help="events at steady rates through `stream`: events/s and latency")
    _add_config_arguments(bench)
    bench.add_argument("--rates", type=int, nargs="+", default=[500, 2000], help="events per second")
    bench.add_argument("--seconds", type=float, default=60.0, help="seconds of events per rate")
    bench.add_argument("--output-dir", default="bench/results")
    bench.set_defaults(handler=lambda args: __import__("custseg.bench.stream", fromlist=["main"]).main(
        _config_from(args), args.rates, args.seconds, args.output_dir))


def _add_governance_commands(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    from custseg import tools

    erase = commands.add_parser("erase", help="remove persons from every table and log the request (right to erasure)")
    _add_config_arguments(erase)
    erase.add_argument("--subject", dest="subjects", action="append", required=True, metavar="SUBJECT",
                       help="an email, a customer id or source:record_id (repeatable)")
    erase.set_defaults(handler=_with_spark(tools.erase))
    lineage = commands.add_parser("lineage", help="the jobs, runs and input versions that produced a table version")
    _add_config_arguments(lineage)
    lineage.add_argument("table")
    lineage.add_argument("--version", type=int, help="table version (default: the latest)")
    lineage.add_argument("--json", action="store_true", help="print the lineage tree as JSON")
    lineage.set_defaults(handler=_with_spark(tools.lineage))
    export = commands.add_parser("export", help="segment_export: consented customers' segments, identifiers hashed")
    _add_config_arguments(export)
    export.set_defaults(handler=_with_spark(tools.export))
    consent = commands.add_parser("consent", help="consent per customer and channel")
    consent_commands = consent.add_subparsers(dest="consent_command", required=True, metavar="SUBCOMMAND")
    build = consent_commands.add_parser("build", help="rebuild the sources' consent rows, keeping recorded ones")
    _add_config_arguments(build)
    build.set_defaults(handler=_with_spark(tools.consent_build))
    record = consent_commands.add_parser("set", help="record an opt-in or opt-out given outside the sources")
    _add_config_arguments(record)
    record.add_argument("--customer", required=True, help="customer id")
    record.add_argument("--channel", required=True, help="one of privacy.consent_channels")
    record.add_argument("--status", required=True, choices=["opt_in", "opt_out"])
    record.add_argument("--by", default="cli", help="who or what recorded it (kept in origin)")
    record.set_defaults(handler=_with_spark(tools.consent_set))


def _add_config_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--env", default="local", help="configuration overlay conf/env/ENV.yaml (default: local)")
    parser.add_argument("--conf-dir", help="folder with base.yaml (default: ./conf)")
    parser.add_argument("--config", dest="config_files", action="append", default=[], metavar="FILE",
                        help="a YAML file of settings over base and env, before --set (repeatable)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override one setting, e.g. --set segment.k_max=8 (repeatable)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress at INFO level")


def _config_from(args: argparse.Namespace) -> Config:
    overrides = list(args.overrides)
    if getattr(args, "customers", None) is not None:
        overrides.append(f"generate.customers={args.customers}")
    if getattr(args, "seed", None) is not None:
        overrides.append(f"generate.seed={args.seed}")
    if getattr(args, "as_of", None):
        overrides.append(f"features.as_of={args.as_of}")
    if getattr(args, "incremental", False):
        overrides.append("resolve.incremental=true")
    if getattr(args, "run_seconds", None) is not None:
        overrides.append(f"stream.run_seconds={args.run_seconds}")
    if getattr(args, "idle_seconds", None) is not None:
        overrides.append(f"stream.stop_when_idle_seconds={args.idle_seconds}")
    if getattr(args, "model_run", None):
        overrides.append(f"segment.model_run={args.model_run}")
    return load_config(args.conf_dir, args.env, overrides, getattr(args, "config_files", ()))


def _run_job_command(args: argparse.Namespace) -> int:
    from custseg import jobs, summary
    from custseg.session import build_spark_session

    config = _config_from(args)
    spark = build_spark_session(config, app_name=f"custseg-{args.command}", extra_conf=_run_log_conf(config, args))
    try:
        results = jobs.run(args.command, spark, config)
        print(summary.render(spark, config, results))
    finally:
        _stop(spark)
    return 0


def _run_log_conf(config: Config, args: argparse.Namespace) -> dict[str, str]:
    """Start the run's log file; the JVM is told to write its own log beside it."""
    from custseg.memory.runlog import JVM_LOG_PROPERTY, jvm_log_path, open_run_log

    jvm_log = str(jvm_log_path(open_run_log(config.root_dir, args.command)))
    option = f"-D{JVM_LOG_PROPERTY}={shlex.quote(jvm_log)}"
    return {"spark.driver.extraJavaOptions": option}


def _stop(spark: object) -> None:
    """Stop the session, unless its JVM already died (stopping it would only raise again)."""
    from custseg.memory import jvm_alive

    if jvm_alive(spark):  # type: ignore[arg-type]
        spark.stop()  # type: ignore[attr-defined]


def _with_spark(action: Callable[..., int | None]) -> Callable[[argparse.Namespace], int]:
    def handler(args: argparse.Namespace) -> int:
        from custseg.session import build_spark_session

        config = _config_from(args)
        spark = build_spark_session(config, app_name=f"custseg-{args.command}", extra_conf=_run_log_conf(config, args))
        try:
            return int(action(spark, config, args) or 0)
        finally:
            _stop(spark)

    return handler


def _write_jvm_archive(args: argparse.Namespace) -> int:
    from pyspark.find_spark_home import _find_spark_home

    from custseg import jvm_archive
    from custseg.errors import EnvironmentProblem
    from custseg.session import check_java, users_spark_conf_dir

    if users_spark_conf_dir() is not None:
        raise EnvironmentProblem(f"SPARK_CONF_DIR is set ({users_spark_conf_dir()}), and sessions with a Spark conf "
                                 "folder of their own start without an archive: unset it to write one")
    try:
        path, seconds = jvm_archive.build(check_java(), _find_spark_home())
    except (RuntimeError, OSError) as exc:
        raise EnvironmentProblem(f"no class-data archive written ({exc}); local runs start without one") from None
    print(f"custseg: class-data archive {path} ({path.stat().st_size / 2**20:.0f} MB) written in {seconds:.0f} s; "
          "local runs now start from it")
    return 0


def _print_spark_args(args: argparse.Namespace) -> int:
    from custseg.session import spark_properties

    config = _config_from(args)
    master = args.master or config.spark.master
    properties = spark_properties(config, master=master)
    words = ["--master", master, "--name", properties.pop("spark.app.name"),
             "--driver-memory", properties.pop("spark.driver.memory")]
    if not master.startswith("local"):
        words += ["--executor-memory", properties.pop("spark.executor.memory")]
    for key, value in properties.items():
        words += ["--conf", f"{key}={value}"]
    print(shlex.join(words))
    return 0


def _print_sources(args: argparse.Namespace) -> int:
    from custseg.inventory import sources_table

    print(sources_table(_config_from(args)), end="")
    return 0


def _print_data_dictionary(args: argparse.Namespace) -> int:
    from pathlib import Path

    from custseg.inventory import data_dictionary

    text = data_dictionary(_config_from(args))
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
    else:
        print(text, end="")
    return 0


def _print_config_reference(args: argparse.Namespace) -> int:
    from pathlib import Path

    from custseg.config.loader import find_conf_dir
    from custseg.docs.config_reference import config_reference

    text = config_reference(find_conf_dir(args.conf_dir) / "base.yaml")
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
    else:
        print(text, end="")
    return 0


def _print_delta_coordinate(args: argparse.Namespace) -> int:
    from custseg.delta import delta_maven_coordinate

    print(delta_maven_coordinate())
    return 0


def _run_bench(args: argparse.Namespace) -> int:
    from custseg import bench

    return bench.main(_config_from(args), args.scale, args.output_dir, args.stages)


def _configure_logging(verbose: bool) -> None:
    from custseg.memory.runlog import ConsoleFormatter

    console = logging.StreamHandler(sys.stderr)
    console.setFormatter(ConsoleFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s", verbose))
    if not verbose:  # a lost JVM connection is explained once, by the failure's sentence
        console.addFilter(lambda record: not record.name.startswith("py4j"))
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, handlers=[console])
    logging.getLogger("py4j").setLevel(logging.WARNING)
    logging.getLogger("custseg").setLevel(logging.INFO)


if __name__ == "__main__":
    sys.exit(main())
