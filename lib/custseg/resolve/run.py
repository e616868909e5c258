"""One resolve run, from the input's rows to its output tables: what `custseg resolve` does.

The job reads the input (a table or a file), the saved model and any decisions people
recorded. This module standardizes the records, matches them in full or incrementally, carries
customer ids over and stages every output table through the run's
:class:`~custseg.resolve.workspace.Workspace`, in the order their reads need. What it returns
is for the job to record: the model to save, the figures and the warnings.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from custseg.config.model import ResolveSettings
from custseg.errors import InputDataError
from custseg.resolve.blocking import RuleDiagnostics
from custseg.resolve.broadcast import broadcast_if_small
from custseg.resolve.decisions import labelled_quality
from custseg.resolve.engine import resolve
from custseg.resolve.evaluation import evaluate
from custseg.resolve.golden_input import golden_from_input
from custseg.resolve.identities import (
    ROLES,
    checked_sample,
    identities_of_pairs,
    mapped_roles,
    parsing_warnings,
    prepare_identities,
    raw_values,
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
    now: Callable[[], dt.datetime]     # the time new customer ids are issued at, read when they are


@dataclass
class RunOutcome:
    model: FellegiSunterModel
    records: int
    metrics: dict[str, float]   # the run's resolution_metrics
    figures: dict[str, str]     # for the run log: incremental counts, ids moved, seconds matching and writing
    warnings: list[str]


@dataclass
class _Matched:
    """What either kind of run hands to the writing of the outputs."""

    identities: DataFrame
    records: int
    scored: DataFrame              # SCORED columns: every pair of the run
    clusters: DataFrame            # node, component, weakest_link: every cluster
    rebuilt: DataFrame             # the clusters built this run (all of them in a full run)
    recomputed: DataFrame | None   # incremental: the previous clusters rebuilt; all others as before
    candidates: DataFrame          # node_l, node_r
    model: FellegiSunterModel
    diagnostics: list[RuleDiagnostics]
    state: StateRewrite | StateAppend
    standardized: DataFrame | None  # incremental: nodes whose input row is new or changed


MATCHING_STARTS = "open the run"  # the phase a job marks when its body starts: matching is timed from it


def resolve_run(workspace: Workspace, settings: ResolveSettings, run: RunInput,
                figures: dict[str, str] | None = None) -> RunOutcome:
    """Resolve ``run.frame`` (in full, or incrementally from the state of the last run) and
    stage every output table but resolution_metrics, whose rows are returned. ``figures``
    (the run log's metrics, say) takes the run's figures as they are known."""
    figures = {} if figures is None else figures
    if settings.incremental:
        # Only new and changed records are standardized: a sample of the input is checked.
        warnings = parsing_warnings(checked_sample(run.frame, settings, run.source_name, run.region), settings,
                                    run.source_name)
        matched = _match_incrementally(workspace, settings, run, figures)
    else:
        warnings = []
        matched = _match_in_full(workspace, settings, run, warnings)
    warnings += [f"blocking rule {name} left out ({reason})" for name, reason in settings.omitted_blocking.items()]
    # An incremental run builds few clusters: their records are picked by a scan of the
    # identities, not a shuffle of them all.
    rebuilt = matched.rebuilt if matched.recomputed is None else broadcast_if_small(matched.rebuilt)
    members = matched.identities.select("node", "source", "record_id").join(rebuilt, "node", "inner")
    previous_crosswalk = workspace.read("identity_crosswalk") if workspace.table_exists("identity_crosswalk") else None
    ids = carry_ids(members, previous_crosswalk, matched.recomputed, run.now())
    # Stored (persisted) before the clock is read: carrying ids over is part of resolving, and
    # would otherwise be paid inside the first table staged that reads them.
    ids.assigned.count()
    workspace.clock.mark("carry ids over")
    staging_from = len(workspace.clock.phases)
    scored = _stage_outputs(workspace, settings, run, matched, ids, figures)
    # Where the time went: reading the input, matching it (in an incremental run, only what
    # changed) and carrying ids over, against staging the output tables. Scoring the run
    # against the ground truth, below, is in neither. An incremental run still rewrites
    # match_pairs, identity_crosswalk and customer_master whole: a table without deletion
    # vectors drops rows only by rewriting the files that hold them, and the rows a 1% change
    # replaces are in every file. (customer_id_map too: each of its rows names its run.)
    matching, writing = _split_seconds(workspace.clock.phases, staging_from)
    figures["matching_seconds"], figures["writing_seconds"] = f"{matching:.1f}", f"{writing:.1f}"
    metrics = _metrics(workspace, settings, run, matched, scored)
    workspace.clock.mark("metrics and evaluation")
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


def _match_in_full(workspace: Workspace, settings: ResolveSettings, run: RunInput, warnings: list[str]) -> _Matched:
    """``warnings`` takes those about values that could not be read."""
    # Stored, not persisted: every later query then plans from the stored rows, not from the
    # standardizers' long expressions (whose planning a small input's run otherwise pays each time).
    raw = raw_values(run.frame, settings)
    prepared = prepare_identities(run.frame, settings, run.source_name, run.region, keep=raw).checkpoint(eager=True)
    warnings += parsing_warnings(prepared, settings, run.source_name)
    identities = prepared.drop(*raw)
    records = _checked_count(workspace, settings, run, identities, None)
    result = resolve(identities, records, mapped_roles(settings), settings, run.model, run.labels, workspace.clock)
    return _Matched(identities, records, result.scored, result.clusters, result.clusters, None, result.candidates,
                    result.model, result.diagnostics, StateRewrite(result.keys), None)


def _match_incrementally(workspace: Workspace, settings: ResolveSettings, run: RunInput,
                         figures: dict[str, str]) -> _Matched:
    if run.model is None:
        raise InputDataError("resolve --incremental scores with the saved model of a run; none was given")
    previous = read_previous_state(workspace)
    reused = reuse_identities(run.frame, previous.identities, settings, run.source_name, run.region)
    standardized = reused.standardized.count()
    figures["incremental_standardized"] = str(standardized)
    records = _checked_count(workspace, settings, run, reused.identities, reused.input_records)
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


def _checked_count(workspace: Workspace, settings: ResolveSettings, run: RunInput, identities: DataFrame,
                   input_records: int | None) -> int:
    """The records to resolve; none, or two with one (source, record_id), stop the run."""
    records = identities.count()
    workspace.clock.mark("read and standardize")
    if records == 0:
        raise InputDataError(f"resolve: {run.source_name} holds no record with a record id "
                             f"(column {settings.column_names['record_id']!r}): nothing to resolve")
    duplicated = (input_records or records) - identities.select("node").distinct().count()
    if duplicated:
        raise InputDataError(f"resolve: {duplicated} record(s) of {run.source_name} share a (source, record_id) "
                             "with another")
    return records


def _stage_outputs(workspace: Workspace, settings: ResolveSettings, run: RunInput, matched: _Matched, ids: CarriedIds,
                   figures: dict[str, str]) -> DataFrame:
    """Stage every output table; returns the scored pairs as staged."""
    # Every table below reads the pairs back from the staged files: in an incremental run
    # they are the stored pairs kept and re-decided plus the new ones, a plan that would
    # otherwise run again for each.
    scored = with_pair_nodes(workspace.write("match_pairs", match_pair_rows(matched.scored)))
    review = review_pairs(scored).checkpoint(eager=True)
    roles = mapped_roles(settings)
    workspace.write("review_queue", review_rows(review, identities_of_pairs(matched.identities, review), roles))
    linking = scored
    if ids.kept is not None:
        # An accepted pair joins two records of one cluster: the pairs of the clusters built
        # are those whose left record is in one.
        linking = scored.join(F.broadcast(ids.rebuilt.select(F.col("node").alias("node_l"))), "node_l", "left_semi")
    crosswalk = crosswalk_rows(ids.rebuilt, linking, ids.assigned)
    if ids.kept is not None:
        crosswalk = crosswalk.unionByName(ids.kept.select(*crosswalk.columns))
    crosswalk = workspace.write("identity_crosswalk", crosswalk)
    workspace.write("customer_master", _golden_records(workspace, settings, run, crosswalk, ids, matched.standardized))
    changes = workspace.write("identity_changes",
                           identity_changes(ids.rebuilt, ids.previous, ids.assigned, run.run_id))
    previous_map = workspace.read("customer_id_map") if workspace.table_exists("customer_id_map") else None
    workspace.write("customer_id_map", id_map(previous_map, changes, ids.all_ids(), run.run_id))
    state_rows = matched.identities.select("node", "source", "record_id", *ROLES, "content_hash", "raw_hash")
    if isinstance(matched.state, StateAppend):
        workspace.write("resolution_identities", state_rows.join(matched.state.nodes, "node", "left_semi"),
                     mode="append")
        workspace.write("resolution_block_keys", matched.state.keys, mode="append")
    else:
        workspace.write("resolution_identities", state_rows)
        workspace.write("resolution_block_keys", matched.state.keys)
    omitted = settings.omitted_blocking
    if matched.diagnostics or omitted:
        rows = diagnostics_rows(run.run_id, matched.diagnostics, scored, omitted)
        workspace.write_rows(BLOCKING_DIAGNOSTICS.name, rows)
    for change in changes.groupBy("change_type").count().collect():
        figures[f"ids_{change.change_type}"] = str(change["count"])
    return scored


def _golden_records(workspace: Workspace, settings: ResolveSettings, run: RunInput, crosswalk: DataFrame,
                    ids: CarriedIds, stale: DataFrame | None) -> DataFrame:
    """customer_master rows: all built from the input, or (incremental) only those refreshed."""
    if ids.kept is None or stale is None or not workspace.table_exists("customer_master"):
        return golden_from_input(run.frame, settings, crosswalk, run.source_name)
    return refreshed_golden_records(run.frame, settings, crosswalk, ids, stale, workspace.read("customer_master"),
                                    run.source_name)


def _split_seconds(phases: list[Phase], staging_from: int) -> tuple[float, float]:
    """Seconds matching (the phases after MATCHING_STARTS, if marked, before phase
    ``staging_from``), and seconds staging the outputs (the tables staged from it on)."""
    starts = [i + 1 for i, p in enumerate(phases[:staging_from]) if p.name == MATCHING_STARTS]
    matching = phases[starts[-1] if starts else 0:staging_from]
    staged = [p for p in phases[staging_from:] if p.name.startswith("stage ")]
    return sum(p.seconds for p in matching), sum(p.seconds for p in staged)


def _metrics(workspace: Workspace, settings: ResolveSettings, run: RunInput, matched: _Matched,
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
    if settings.evaluate and workspace.table_exists("truth_records"):
        truth = workspace.read("truth_records").select("source", "record_id", F.col("person_id").alias("person"))
        labelled = matched.identities.join(truth, ["source", "record_id"], "inner").select("node", "person")
        metrics.update(evaluate(labelled, matched.clusters.select("node", "component"), matched.candidates, records))
    return metrics


def _training_hint(roles: list[str], comparison: str) -> str:
    exact = [r for r in ("email", "phone", "national_id", "birth_date") if r in roles and r != comparison]
    return exact[0] if exact else ", ".join(r for r in ("first_name", "last_name") if r in roles and r != comparison)
