"""One resolve run, from the input's rows to its output tables: what `custseg resolve` does.

The job reads the input (a table or a file), the saved model and any decisions people
recorded. This module standardizes the records, matches them in full or incrementally, carries
customer ids over and stages every output table through the run's
:class:`~custseg.resolve.workspace.Workspace`, in the order their reads need. What it returns
is for the job to record: the model to save, the figures and the warnings.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from pyspark import StorageLevel
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from custseg.config.model import ResolveSettings
from custseg.errors import ConfigError, InputDataError
from custseg.resolve.blocking import RuleDiagnostics
from custseg.resolve.broadcast import broadcast_if_small
from custseg.resolve.decisions import labelled_quality
from custseg.resolve.engine import resolve
from custseg.resolve.evaluation import evaluate
from custseg.resolve.golden_input import golden_from_input
from custseg.resolve.identities import (
    ROLES,
    identities_of_pairs,
    mapped_roles,
    prepare_identities,
    unparsed_columns,
    with_pair_nodes,
)
from custseg.resolve.incremental import StateAppend, StateRewrite, resolve_incremental
from custseg.resolve.incremental_state import read_previous_state, refreshed_golden_records, reuse_identities
from custseg.resolve.model import FellegiSunterModel
from custseg.resolve.outputs import crosswalk_rows, diagnostics_rows, match_pair_rows, review_pairs, review_rows
from custseg.resolve.stable_ids import CarriedIds, carry_ids, id_map, identity_changes
from custseg.resolve.workspace import Workspace
from custseg.runtime.phases import Phase
from custseg.tables.gold import BLOCKING_DIAGNOSTICS


@dataclass
class RunInput:
    frame: DataFrame                   # the input's rows, as read
    source_name: str                   # the input's name in messages and golden records
    region: str                        # the phone region of numbers without a country code
    model: FellegiSunterModel | None   # the model to score with; None: train one
    labels: DataFrame | None           # decisions people recorded (node_l, node_r, label)
    run_id: str
    issued_at: dt.datetime             # when the ids issued by this run are issued


@dataclass
class RunOutcome:
    model: FellegiSunterModel
    records: int
    metrics: dict[str, float]   # the run's resolution_metrics
    figures: dict[str, str]     # more for the run log: incremental counts, ids moved, seconds matching and writing
    warnings: list[str]


@dataclass
class _Matched:
    """What either kind of run hands to the writing of the outputs."""

    identities: DataFrame
    records: int
    scored: DataFrame              # SCORED columns: every pair of the run
    clusters: DataFrame            # node, component, weakest_link: every cluster
    built: DataFrame               # the clusters built this run (all of them in a full run)
    recomputed: DataFrame | None   # incremental: the previous clusters rebuilt; all others as before
    candidates: DataFrame          # node_l, node_r
    model: FellegiSunterModel
    diagnostics: list[RuleDiagnostics]
    state: StateRewrite | StateAppend
    stale: DataFrame | None        # incremental: nodes whose input row is new or changed


def resolve_run(tables: Workspace, settings: ResolveSettings, run: RunInput) -> RunOutcome:
    """Resolve ``run.frame`` (in full, or incrementally from the state of the last run) and
    stage every output table but resolution_metrics, whose rows are returned."""
    warnings = parsing_warnings(run.frame, settings, run.source_name, run.region)
    warnings += [f"blocking rule {name} left out ({reason})" for name, reason in settings.omitted_blocking.items()]
    figures: dict[str, str] = {}
    matched = _match_incrementally(tables, settings, run, figures) if settings.incremental \
        else _match_in_full(tables, settings, run)
    # An incremental run builds few clusters: their records are picked by a scan of the
    # identities, not a shuffle of them all.
    built = matched.built if matched.recomputed is None else broadcast_if_small(matched.built)
    members = matched.identities.select("node", "source", "record_id").join(built, "node", "inner")
    previous_crosswalk = tables.read("identity_crosswalk") if tables.table_exists("identity_crosswalk") else None
    ids = carry_ids(members, previous_crosswalk, matched.recomputed, run.issued_at)
    # Stored (persisted) before the clock is read: carrying ids over is part of resolving, and
    # would otherwise be paid inside the first table staged that reads them.
    ids.assigned.count()
    tables.clock.mark("carry ids over")
    staging_from = len(tables.clock.phases)
    scored = _stage_outputs(tables, settings, run, matched, ids, figures)
    # Where the time went: reading the input, matching it (in an incremental run, only what
    # changed) and carrying ids over, against staging the output tables. Scoring the run
    # against the ground truth, below, is in neither. An incremental run still rewrites
    # match_pairs, identity_crosswalk and customer_master whole: a table without deletion
    # vectors drops rows only by rewriting the files that hold them, and the rows a 1% change
    # replaces are in every file. (customer_id_map too: each of its rows names its run.)
    matching, writing = _split_seconds(tables.clock.phases, staging_from)
    figures["matching_seconds"], figures["writing_seconds"] = f"{matching:.1f}", f"{writing:.1f}"
    metrics = _metrics(tables, settings, run, matched, scored)
    tables.clock.mark("metrics and evaluation")
    model = matched.model
    if model.candidate_pairs == 0 and settings.model == "train":
        warnings.append("blocking found no candidate pairs: every record is a customer of its own "
                        "(see blocking_diagnostics for what each rule found)")
    else:
        roles = mapped_roles(settings)
        warnings += [f"m of {c} could not be estimated from the training rules, so the documented prior m is used "
                     f"(add a rule that leaves {c} free, e.g. resolve.training_rules: [[{_training_hint(roles, c)}]])"
                     for c in model.prior_m]
    return RunOutcome(model, matched.records, metrics, figures, warnings)


def parsing_warnings(frame: DataFrame, settings: ResolveSettings, source_name: str, region: str) -> list[str]:
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


def _match_in_full(tables: Workspace, settings: ResolveSettings, run: RunInput) -> _Matched:
    identities = prepare_identities(run.frame, settings, run.source_name, run.region) \
        .persist(StorageLevel.MEMORY_AND_DISK)
    records = _checked_count(tables, settings, run, identities, None)
    result = resolve(identities, mapped_roles(settings), settings, run.model, run.labels, tables.clock)
    return _Matched(identities, records, result.scored, result.clusters, result.clusters, None, result.candidates,
                    result.model, result.diagnostics, StateRewrite(result.keys), None)


def _match_incrementally(tables: Workspace, settings: ResolveSettings, run: RunInput,
                         figures: dict[str, str]) -> _Matched:
    if run.model is None:
        raise ConfigError(["resolve --incremental scores with a saved model; none was given"])
    previous = read_previous_state(tables)
    reused = reuse_identities(run.frame, previous.identities, settings, run.source_name, run.region)
    standardized = reused.standardized.count()
    figures["incremental_standardized"] = str(standardized)
    records = _checked_count(tables, settings, run, reused.identities, reused.input_records)
    result = resolve_incremental(reused.identities, mapped_roles(settings), settings, run.model, run.labels, previous,
                                 reused.differing)
    figures.update({f"incremental_{k}": str(v) for k, v in result.counts.items()})
    state = result.state
    if isinstance(state, StateAppend) and standardized != result.counts.get("new", 0):
        # An input row can change without changing its matching values (an email's case):
        # its record is not "changed", but its stored raw hash must be, so no append.
        state = StateRewrite(previous.keys.select("rule", "block", "node", "source").unionByName(state.keys))
    return _Matched(reused.identities, records, result.scored, result.clusters, result.rebuilt, result.recomputed,
                    result.candidates, result.model, [], state, reused.standardized)


def _checked_count(tables: Workspace, settings: ResolveSettings, run: RunInput, identities: DataFrame,
                   input_records: int | None) -> int:
    """The records to resolve; none, or two with one (source, record_id), stop the run."""
    records = identities.count()
    tables.clock.mark("read and standardize")
    if records == 0:
        raise InputDataError(f"resolve: {run.source_name} holds no record with a record id "
                             f"(column {settings.column_names['record_id']!r}): nothing to resolve")
    duplicated = (input_records or records) - identities.select("node").distinct().count()
    if duplicated:
        raise InputDataError(f"resolve: {duplicated} record(s) of {run.source_name} share a (source, record_id) "
                             "with another")
    return records


def _stage_outputs(tables: Workspace, settings: ResolveSettings, run: RunInput, matched: _Matched, ids: CarriedIds,
                   figures: dict[str, str]) -> DataFrame:
    """Stage every output table; returns the scored pairs as staged."""
    # Every table below reads the pairs back from the staged files: in an incremental run
    # they are the stored pairs kept and re-decided plus the new ones, a plan that would
    # otherwise run again for each.
    scored = with_pair_nodes(tables.write("match_pairs", match_pair_rows(matched.scored)))
    review = review_pairs(scored).checkpoint(eager=True)
    roles = mapped_roles(settings)
    tables.write("review_queue", review_rows(review, identities_of_pairs(matched.identities, review), roles))
    linking = scored
    if ids.kept is not None:
        # An accepted pair joins two records of one cluster: the pairs of the clusters built
        # are those whose left record is in one.
        linking = scored.join(F.broadcast(ids.rebuilt.select(F.col("node").alias("node_l"))), "node_l", "left_semi")
    crosswalk = crosswalk_rows(ids.rebuilt, linking, ids.assigned)
    if ids.kept is not None:
        crosswalk = crosswalk.unionByName(ids.kept.select(*crosswalk.columns))
    crosswalk = tables.write("identity_crosswalk", crosswalk)
    tables.write("customer_master", _golden_records(tables, settings, run, crosswalk, ids, matched.stale))
    changes = tables.write("identity_changes",
                           identity_changes(ids.rebuilt, ids.previous, ids.assigned, run.run_id))
    previous_map = tables.read("customer_id_map") if tables.table_exists("customer_id_map") else None
    tables.write("customer_id_map", id_map(previous_map, changes, ids.all_ids(), run.run_id))
    state_rows = matched.identities.select("node", "source", "record_id", *ROLES, "content_hash", "raw_hash")
    if isinstance(matched.state, StateAppend):
        tables.write("resolution_identities", state_rows.join(matched.state.nodes, "node", "left_semi"),
                     mode="append")
        tables.write("resolution_block_keys", matched.state.keys, mode="append")
    else:
        tables.write("resolution_identities", state_rows)
        tables.write("resolution_block_keys", matched.state.keys)
    omitted = settings.omitted_blocking
    if matched.diagnostics or omitted:
        tables.write(BLOCKING_DIAGNOSTICS.name, scored.sparkSession.createDataFrame(
            diagnostics_rows(run.run_id, matched.diagnostics, scored, omitted), BLOCKING_DIAGNOSTICS.schema))
    for change in changes.groupBy("change_type").count().collect():
        figures[f"ids_{change.change_type}"] = str(change["count"])
    return scored


def _golden_records(tables: Workspace, settings: ResolveSettings, run: RunInput, crosswalk: DataFrame,
                    ids: CarriedIds, stale: DataFrame | None) -> DataFrame:
    """customer_master rows: all built from the input, or (incremental) only those refreshed."""
    if ids.kept is None or stale is None or not tables.table_exists("customer_master"):
        return golden_from_input(run.frame, settings, crosswalk, run.source_name)
    return refreshed_golden_records(run.frame, settings, crosswalk, ids, stale, tables.read("customer_master"),
                                    run.source_name)


def _split_seconds(phases: list[Phase], staging_from: int) -> tuple[float, float]:
    """Seconds before the outputs were staged, and seconds staging them (the phases of the
    tables staged from phase ``staging_from`` on)."""
    staged = [p for p in phases[staging_from:] if p.name.startswith("stage ")]
    return sum(p.seconds for p in phases[:staging_from]), sum(p.seconds for p in staged)


def _metrics(tables: Workspace, settings: ResolveSettings, run: RunInput, matched: _Matched,
             scored: DataFrame) -> dict[str, float]:
    """``scored``: the pairs as staged, of which the candidates are those blocking proposed."""
    by_decision = scored.groupBy("decision", (F.col("blocked_by") != "decision").alias("proposed")).count().collect()
    decisions: dict[str, int] = {}
    for row in by_decision:
        decisions[row.decision] = decisions.get(row.decision, 0) + row["count"]
    candidates = sum(row["count"] for row in by_decision if row.proposed)
    records, model = matched.records, matched.model
    metrics: dict[str, float] = {
        "records": records, "prior": model.prior, "em_iterations": model.em_iterations,
        "candidate_pairs": candidates, "pairs_per_record": 2 * candidates / records if records else 0.0,
        "reduction_ratio": 1 - candidates / (records * (records - 1) / 2) if records > 1 else 0.0,
        **{f"pairs_{name}": float(count) for name, count in decisions.items()},
        "skipped_pairs": float(sum(d.skipped_pairs for d in matched.diagnostics)),
    }
    if run.labels is not None:
        metrics.update(labelled_quality(scored, run.labels, settings.match_threshold))
    if settings.evaluate and tables.table_exists("truth_records"):
        truth = tables.read("truth_records").select("source", "record_id", F.col("person_id").alias("person"))
        labelled = matched.identities.join(truth, ["source", "record_id"], "inner").select("node", "person")
        metrics.update(evaluate(labelled, matched.clusters.select("node", "component"), matched.candidates, records))
    return metrics


def _training_hint(roles: list[str], comparison: str) -> str:
    exact = [r for r in ("email", "phone", "national_id", "birth_date") if r in roles and r != comparison]
    return exact[0] if exact else ", ".join(r for r in ("first_name", "last_name") if r in roles and r != comparison)
