"""Job `resolve`: source records into customers, in full or incrementally (`--incremental`).

Writes match_pairs (every scored candidate pair, explained), review_queue, identity_crosswalk
with stable customer ids, customer_master (golden records), identity_changes and
customer_id_map (how ids moved), blocking_diagnostics and resolution_metrics (with pairwise and
B-cubed quality when ground truth exists), and the state an incremental run starts from; saves
the model as JSON for inspection and reuse.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import time

from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from custseg.config import Config
from custseg.config.model import ResolveSettings
from custseg.config.resolved import join_path
from custseg.errors import InputDataError
from custseg.governance.filters import erased_filter
from custseg.resolve import FellegiSunterModel, resolve
from custseg.resolve.broadcast import broadcast_if_small
from custseg.resolve.decisions import labelled_quality, read_decisions
from custseg.resolve.evaluation import evaluate
from custseg.resolve.golden_input import golden_from_input
from custseg.resolve.identities import (
    ROLES,
    check_mapping,
    identities_of_pairs,
    mapped_roles,
    prepare_identities,
    read_input,
    record_node,
    reuse_identities,
    unparsed_columns,
    with_pair_nodes,
)
from custseg.resolve.incremental import PreviousState, resolve_incremental
from custseg.resolve.outputs import crosswalk_rows, diagnostics_rows, match_pair_rows, review_pairs, review_rows
from custseg.resolve.stable_ids import assign_ids, id_map, identity_changes
from custseg.runtime import JobContext, JobResult, run_job
from custseg.tables.gold import BLOCKING_DIAGNOSTICS, RESOLUTION_METRICS

log = logging.getLogger(__name__)
STATE_TABLES = ("resolution_identities", "resolution_block_keys", "match_pairs", "identity_crosswalk")


def run(spark: SparkSession, config: Config, parent_run_id: str | None = None) -> JobResult:
    return run_job(spark, config, "resolve", _resolve, parent_run_id)


def _resolve(ctx: JobContext) -> None:
    started = time.perf_counter()
    settings = ctx.config.resolve
    source_name = settings.input.table or settings.input.path or "input"
    frame = ctx.read(settings.input.table) if settings.input.table else read_input(ctx.spark, settings)
    check_mapping(frame, settings, source_name)
    erased_rows = erased_filter(ctx) if settings.input.path else None  # tables were filtered at ingest
    if erased_rows is not None:
        names = settings.column_names
        kinds: dict[str, str] = {names[r]: r for r in ("record_id", "email") if r in names}
        frame = erased_rows.drop_erased_columns(frame, kinds)
    region = settings.default_region or ctx.config.clean.default_region
    warnings = _check_parsing(frame, settings, source_name, region)
    warnings += [f"blocking rule {name} left out ({reason})" for name, reason in settings.omitted_blocking.items()]
    stale: DataFrame | None = None      # incremental: nodes whose input row is new or changed
    differing: DataFrame | None = None  # incremental: those and the nodes gone; all others as stored
    if settings.incremental and ctx.table_exists("resolution_identities"):
        reused = reuse_identities(frame, ctx.read("resolution_identities"), settings, source_name, region)
        identities, input_records, stale, differing = reused.identities, reused.input_records, reused.standardized, reused.differing
        standardized: int | None = stale.count()
        ctx.metrics["incremental_standardized"] = str(standardized)
    else:
        identities = prepare_identities(frame, settings, source_name, region).persist(StorageLevel.MEMORY_AND_DISK)
        input_records, standardized = None, None
    records = identities.count()
    ctx.clock.mark("read and standardize")
    if records == 0:
        raise InputDataError(f"resolve: {source_name} holds no record with a record id "
                             f"(column {settings.column_names['record_id']!r}): nothing to resolve")
    duplicated = (input_records or records) - identities.select("node").distinct().count()
    if duplicated:
        raise InputDataError(f"resolve: {duplicated} record(s) of {source_name} share a (source, record_id) with another")
    if settings.input.path:
        ctx.count_input(f"file:{settings.input.path}", records)
    labels = read_decisions(ctx.spark, settings.decisions_file) if settings.decisions_file else None
    roles = mapped_roles(settings)
    previous_crosswalk = ctx.read("identity_crosswalk") if ctx.table_exists("identity_crosswalk") else None
    if settings.incremental:
        previous = _previous_state(ctx)
        model = _model(ctx, required=True)
        assert model is not None
        result, delta = resolve_incremental(identities, roles, settings, model, labels, previous, differing)
        ctx.metrics.update({f"incremental_{k}": str(v) for k, v in delta.items()})
        if standardized != delta.get("new", 0):
            # An input row can change without changing its matching values (an email's case):
            # its record is not "changed", but its stored raw hash must be, so no append.
            result = dataclasses.replace(result, added_nodes=None, added_keys=None)
    else:
        result = resolve(identities, roles, settings, _model(ctx, required=False), labels, ctx.clock)
    # An incremental run builds few clusters: their records are picked by a scan of the
    # identities, not a shuffle of them all.
    built = result.clusters if result.rebuilt is None else broadcast_if_small(result.rebuilt)
    members = identities.select("node", "source", "record_id").join(built, "node", "inner")
    ids = _carry_ids(members, previous_crosswalk, result.recomputed)
    # Stored (persisted) before the clock is read: carrying ids over is part of resolving, and
    # would otherwise be paid inside the first table staged that reads them.
    ids.assigned.count()
    ctx.clock.mark("carry ids over")
    matched = time.perf_counter()
    scored = _write(ctx, result, identities, roles, ids, frame, source_name, stale)
    written = time.perf_counter()
    # Where the time went: reading the input, matching it (in an incremental run, only what
    # changed) and carrying ids over, against staging the output tables. Scoring the run
    # against the ground truth, below, is in neither. An incremental run still rewrites
    # match_pairs, identity_crosswalk and customer_master whole: a table without deletion
    # vectors drops rows only by rewriting the files that hold them, and the rows a 1% change
    # replaces are in every file. (customer_id_map too: each of its rows names its run.)
    ctx.metrics["matching_seconds"] = f"{matched - started:.1f}"
    ctx.metrics["writing_seconds"] = f"{written - matched:.1f}"
    metrics = _metrics(ctx, result, scored, identities, records, labels)
    ctx.clock.mark("metrics and evaluation")
    ctx.write(RESOLUTION_METRICS.name, ctx.spark.createDataFrame(
        [(ctx.run_id, name, float(value)) for name, value in sorted(metrics.items())], RESOLUTION_METRICS.schema))
    _save_model(ctx, result.model)
    if result.model.candidate_pairs == 0 and settings.model == "train":
        warnings.append("blocking found no candidate pairs: every record is a customer of its own "
                        "(see blocking_diagnostics for what each rule found)")
    else:
        warnings += [f"m of {c} could not be estimated from the training rules, so the documented prior m is used "
                     f"(add a rule that leaves {c} free, e.g. resolve.training_rules: [[{_training_hint(roles, c)}]])"
                     for c in result.model.prior_m]
    for warning in warnings:
        log.warning("resolve: %s", warning)
    if warnings:
        ctx.metrics["warnings"] = json.dumps(warnings)
    ctx.metrics.update({name: f"{value:.6g}" for name, value in metrics.items()})
    ctx.metrics["phases"] = ctx.clock.as_json()  # {phase: [seconds, spark jobs]}
    ctx.metrics["customers"] = str(ctx.rows_out["customer_master"])


def _check_parsing(frame: DataFrame, settings: ResolveSettings, source_name: str, region: str) -> list[str]:
    """Stop (or warn, by resolve.unparsed_severity) when a mapped column mostly fails to read."""
    problems = [c for c in unparsed_columns(frame, settings, source_name, region)
                if c.share > settings.max_unparsed_share]
    if not problems:
        return []
    hints = {"birth_date": "give its pattern, e.g. resolve.columns.birth_date: {column: %s, format: dd.MM.yyyy}"}
    described = [f"{c.describe()}; "
                 + hints.get(c.role, f"check that the column holds {c.role} values").replace("%s", c.column)
                 for c in problems]
    if settings.unparsed_severity == "error":
        raise InputDataError(f"resolve: in {source_name}, " + "; and ".join(described)
                             + f" (above resolve.max_unparsed_share {settings.max_unparsed_share}; "
                             "resolve.unparsed_severity: warn goes on regardless)")
    return [f"in {source_name}, {d}" for d in described]


def _training_hint(roles: list[str], comparison: str) -> str:
    exact = [r for r in ("email", "phone", "national_id", "birth_date") if r in roles and r != comparison]
    return exact[0] if exact else ", ".join(r for r in ("first_name", "last_name") if r in roles and r != comparison)


@dataclasses.dataclass
class CarriedIds:
    """Customer ids of this run. Only the clusters built this run (all of them in a full run)
    are matched against the previous crosswalk; an incremental run keeps the rows of every
    cluster it left as it was."""

    rebuilt: DataFrame            # node, source, record_id, component, weakest_link of the clusters built
    previous: DataFrame | None    # source, record_id, customer_id, id_issued_at: their records' previous ids
    assigned: DataFrame           # component, customer_id, id_issued_at of the clusters built
    kept: DataFrame | None        # previous crosswalk rows of the clusters left as they were

    def all_ids(self) -> DataFrame:
        if self.kept is None:
            return self.assigned
        return self.assigned.unionByName(
            self.kept.select(F.col("cluster_node").alias("component"), "customer_id", "id_issued_at").distinct())


def _carry_ids(members: DataFrame, previous_crosswalk: DataFrame | None, recomputed: DataFrame | None) -> CarriedIds:
    """``members``: the records of the clusters built this run (every cluster in a full run),
    with their cluster; ``recomputed``: in an incremental run, the previous clusters rebuilt."""
    now = dt.datetime.now(dt.UTC)
    if previous_crosswalk is None:
        return CarriedIds(members, None, assign_ids(members, None, now).persist(StorageLevel.MEMORY_AND_DISK), None)
    issued = previous_crosswalk.select("source", "record_id", "customer_id", "id_issued_at")
    if recomputed is None:
        return CarriedIds(members, issued, assign_ids(members, issued, now).persist(StorageLevel.MEMORY_AND_DISK), None)
    # A cluster left as it was holds the same records, label, pairs and id as before; every
    # id that moves lives in the recomputed clusters, whose records are all revisited here.
    was_recomputed = recomputed.select(F.col("component").alias("cluster_node"))
    kept = previous_crosswalk.join(was_recomputed, "cluster_node", "left_anti").persist(StorageLevel.MEMORY_AND_DISK)
    rebuilt = members.persist(StorageLevel.MEMORY_AND_DISK)   # ids, crosswalk and changes all read it
    previous = previous_crosswalk.join(was_recomputed, "cluster_node", "left_semi").select(*issued.columns) \
        .persist(StorageLevel.MEMORY_AND_DISK)   # ids, changes and golden records read it
    assigned = assign_ids(rebuilt, previous, now, issued=issued).persist(StorageLevel.MEMORY_AND_DISK)
    return CarriedIds(rebuilt, previous, assigned, kept)


def _write(ctx: JobContext, result, identities: DataFrame, roles: list[str], ids: CarriedIds,  # type: ignore[no-untyped-def]
           frame: DataFrame, source_name: str, stale: DataFrame | None) -> DataFrame:
    """Stage every output table; returns the scored pairs as staged."""
    # Every table below reads the pairs back from the staged files: in an incremental run
    # they are the stored pairs kept and re-decided plus the new ones, a plan that would
    # otherwise run again for each.
    scored = with_pair_nodes(ctx.write("match_pairs", match_pair_rows(result.scored)))
    review = review_pairs(scored).checkpoint(eager=True)
    ctx.write("review_queue", review_rows(review, identities_of_pairs(identities, review), roles))
    linking = scored
    if ids.kept is not None:
        # An accepted pair joins two records of one cluster: the pairs of the clusters built
        # are those whose left record is in one.
        linking = scored.join(F.broadcast(ids.rebuilt.select(F.col("node").alias("node_l"))), "node_l", "left_semi")
    crosswalk = crosswalk_rows(ids.rebuilt, linking, ids.assigned)
    if ids.kept is not None:
        crosswalk = crosswalk.unionByName(ids.kept.select(*crosswalk.columns))
    crosswalk = ctx.write("identity_crosswalk", crosswalk)
    ctx.write("customer_master", _golden_records(ctx, frame, crosswalk, ids, stale, source_name))
    changes = ctx.write("identity_changes", identity_changes(ids.rebuilt, ids.previous, ids.assigned, ctx.run_id))
    previous_map = ctx.read("customer_id_map") if ctx.table_exists("customer_id_map") else None
    ctx.write("customer_id_map", id_map(previous_map, changes, ids.all_ids(), ctx.run_id))
    state = identities.select("node", "source", "record_id", *ROLES, "content_hash", "raw_hash")
    if result.added_nodes is not None and result.added_keys is not None:
        # Only new records: the state grows by their rows, and nothing stored changes.
        ctx.write("resolution_identities", state.join(result.added_nodes, "node", "left_semi"), mode="append")
        ctx.write("resolution_block_keys", result.added_keys, mode="append")
    else:
        ctx.write("resolution_identities", state)
        ctx.write("resolution_block_keys", result.keys)
    omitted = ctx.config.resolve.omitted_blocking
    if result.diagnostics or omitted:
        ctx.write(BLOCKING_DIAGNOSTICS.name, ctx.spark.createDataFrame(
            diagnostics_rows(ctx.run_id, result.diagnostics, scored, omitted), BLOCKING_DIAGNOSTICS.schema))
    for change in changes.groupBy("change_type").count().collect():
        ctx.metrics[f"ids_{change.change_type}"] = str(change["count"])
    return scored


def _golden_records(ctx: JobContext, frame: DataFrame, crosswalk: DataFrame, ids: CarriedIds, stale: DataFrame | None,
                    source_name: str) -> DataFrame:
    """customer_master rows. An incremental run rebuilds the golden records of the customers
    whose cluster it rebuilt or who hold a record whose input row changed (a golden record
    is made of display values, which can change while the matching values do not), and
    keeps the previous row of every other customer: their records and values are as before."""
    settings = ctx.config.resolve
    if ids.kept is None or stale is None or not ctx.table_exists("customer_master"):
        return golden_from_input(frame, settings, crosswalk, source_name)
    edited = crosswalk.join(F.broadcast(stale), record_node(F.col("source"), F.col("record_id")) == F.col("node"), "left_semi")
    refreshed = ids.assigned.select("customer_id").unionByName(edited.select("customer_id")).distinct()
    # The records of the customers rebuilt: few next to the input, so each input row is
    # matched to them by a broadcast join, not a shuffle of the whole input.
    records = F.broadcast(crosswalk.join(F.broadcast(refreshed), "customer_id", "left_semi").checkpoint(eager=True))
    rebuilt = golden_from_input(frame, settings, records, source_name)
    # Every other customer keeps its row; an id that left the crosswalk was an id of a
    # recomputed cluster, so dropping those ids drops every retired customer too.
    replaced = refreshed.unionByName(ids.previous.select("customer_id")).distinct() if ids.previous is not None else refreshed
    kept = ctx.read("customer_master").join(F.broadcast(replaced), "customer_id", "left_anti")
    return rebuilt.unionByName(kept.select(*rebuilt.columns))


def _previous_state(ctx: JobContext) -> PreviousState:
    missing = [t for t in STATE_TABLES if not ctx.table_exists(t)]
    if missing:
        raise InputDataError(f"resolve --incremental needs the state of an earlier resolve run (missing {missing}); "
                             "run `custseg resolve` once in full first")
    keys = ctx.read("resolution_block_keys")
    if keys.schema["block"].dataType != T.LongType():
        raise InputDataError("resolve --incremental: resolution_block_keys holds its block keys as text, as written before "
                             "they were stored as 64-bit ids; run `custseg resolve` once in full to rewrite the state")
    pairs = with_pair_nodes(ctx.read("match_pairs")).withColumn("label", F.lit(None).cast("boolean"))
    crosswalk = ctx.read("identity_crosswalk").select(
        record_node(F.col("source"), F.col("record_id")).alias("node"), F.col("cluster_node").alias("component"),
        F.col("min_link_probability").alias("weakest_link"))
    return PreviousState(ctx.read("resolution_identities"), keys, pairs, crosswalk)


def _metrics(ctx: JobContext, result, scored: DataFrame, identities: DataFrame, records: int,  # type: ignore[no-untyped-def]
             labels: DataFrame | None) -> dict[str, float]:
    """``scored``: the pairs as staged, of which the candidates are those blocking proposed."""
    by_decision = scored.groupBy("decision", (F.col("blocked_by") != "decision").alias("proposed")).count().collect()
    decisions: dict[str, int] = {}
    for row in by_decision:
        decisions[row.decision] = decisions.get(row.decision, 0) + row["count"]
    candidates = sum(row["count"] for row in by_decision if row.proposed)
    metrics: dict[str, float] = {
        "records": records, "prior": result.model.prior, "em_iterations": result.model.em_iterations,
        "candidate_pairs": candidates, "pairs_per_record": 2 * candidates / records if records else 0.0,
        "reduction_ratio": 1 - candidates / (records * (records - 1) / 2) if records > 1 else 0.0,
        **{f"pairs_{name}": float(count) for name, count in decisions.items()},
        "skipped_pairs": float(sum(d.skipped_pairs for d in result.diagnostics)),
    }
    if labels is not None:
        metrics.update(labelled_quality(scored, labels, ctx.config.resolve.match_threshold))
    if ctx.config.resolve.evaluate and ctx.table_exists("truth_records"):
        truth = ctx.read("truth_records").select("source", "record_id", F.col("person_id").alias("person"))
        labelled = identities.join(truth, ["source", "record_id"], "inner").select("node", "person")
        metrics.update(evaluate(labelled, result.clusters.select("node", "component"), result.candidates, records))
    return metrics


def _model(ctx: JobContext, required: bool) -> FellegiSunterModel | None:
    """The model to score with: resolve.model if a path, else (incremental) the last run's."""
    path = ctx.config.resolve.model
    if path == "train":
        if not required:
            return None
        path = join_path(ctx.config.models_dir, "resolution", "latest.json")
    from custseg.files import read_text

    try:
        text = read_text(ctx.spark, path)
    except Exception as exc:
        raise InputDataError(f"resolve.model: cannot read a saved model at {path}: {str(exc).splitlines()[0][:200]}") from exc
    return FellegiSunterModel.from_json(text)


def _save_model(ctx: JobContext, model: FellegiSunterModel) -> None:
    folder = join_path(ctx.config.models_dir, "resolution")
    ctx.metrics["model_path"] = ctx.publish_text(folder, f"{ctx.run_id}.json", model.to_json(), latest="latest.json")
