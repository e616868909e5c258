"""Incremental resolution: match only what changed, and end where a full run would.

With the previous state (every record's matching values and block keys, the scored pairs
and the clusters) and the saved model:
1. records are new, changed (their content hash differs), deleted or unchanged; when the
   job knows which input rows hash otherwise than last run, only those records are compared;
2. block keys are computed for new and changed records only, and replace their old ones;
3. a block is *hit* when a new, changed or deleted record is in it, now or before. A record is
   *touched* when it is new or changed, or an unchanged member of a hit block whose pairs with
   the other unchanged members may differ: in a block over its rule's window (before or
   after), those within window - 1 unchanged members of a change in sort order (a windowed
   block pairs each record with its next neighbours, and a change shifts only the neighbours
   around it); in a block crossing its cap, all of them. A hit block within its window on
   both sides pairs all its records either way, so its old members keep their pairs with each
   other. A pair of two untouched records keeps its blocks, candidacy, provenance and score,
   and is kept as scored. Every pair with a touched record is regenerated from all blocks
   holding that record, under the same caps and windows, and scored with the saved model;
4. clusters holding a new, changed or deleted record, or an end of an accepted pair gained,
   lost or changed (in first rule or probability) by the pairs rebuilt or by a decision, are
   recomputed from the accepted pairs among their records; all others keep their labels (a
   component is named by its smallest node, so an untouched cluster is labelled as a full run
   would label it). A touched record whose accepted pairs came back as they were keeps its
   cluster: most rebuilt pairs are rejected now and were before.
Given the same model (scores use its stored term frequencies), the candidate pairs, decisions
and clusters equal a full run's on the same final data.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyspark import StorageLevel
from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from custseg.columns import lookup
from custseg.config.model import ResolveSettings
from custseg.resolve.blocking import (
    all_block_keys,
    block_caps,
    block_windows,
    candidate_pairs,
    keys_rows,
    window_sort_key,
    with_sort_key_and_flags,
)
from custseg.resolve.broadcast import broadcast_if_small
from custseg.resolve.comparisons import compare
from custseg.resolve.engine import (
    ACCEPTED,
    SCORED,
    check_model,
    cluster,
    decide,
    score,
    with_labelled_pairs,
)
from custseg.resolve.identities import identities_of_pairs
from custseg.resolve.model import FellegiSunterModel


@dataclass
class PreviousState:
    identities: DataFrame   # resolution_identities
    keys: DataFrame         # resolution_block_keys: rule, block, node, source
    scored: DataFrame       # match_pairs with node_l, node_r
    clusters: DataFrame     # node, component, weakest_link (from the crosswalk)


@dataclass
class StateRewrite:
    """The resolution state is written anew: every record's keys."""

    keys: DataFrame         # rule, block, node, source


@dataclass
class StateAppend:
    """Records only arrived: the state grows by their rows, and nothing stored changes."""

    nodes: DataFrame        # node: the records added
    keys: DataFrame         # their block keys: rule, block, node, source


@dataclass
class IncrementalResolution:
    scored: DataFrame           # SCORED columns: the stored pairs kept (decided again) and the pairs scored now
    clusters: DataFrame         # node, component, weakest_link: every cluster
    rebuilt: DataFrame          # the clusters built this run, a part of ``clusters``: those holding a
                                # record of a recomputed cluster or a new record
    recomputed: DataFrame       # component: the previous clusters recomputed; every other is as before
    candidates: DataFrame       # node_l, node_r
    model: FellegiSunterModel
    state: StateRewrite | StateAppend
    counts: dict[str, int]      # records new, changed, deleted and touched; pairs regenerated; records rebuilt


def flag_touched(keys: DataFrame, touched: DataFrame) -> DataFrame:
    """``keys`` with ``is_touched``: whether the row's node is one of ``touched`` (node)."""
    flags = touched.select("node", F.lit(True).alias("is_touched"))
    return keys.join(flags, "node", "left").withColumn("is_touched", F.coalesce("is_touched", F.lit(False)))


def resolve_incremental(identities: DataFrame, roles: list[str], settings: ResolveSettings, model: FellegiSunterModel,
                        labels: DataFrame | None, previous: PreviousState,
                        differing: DataFrame | None = None) -> IncrementalResolution:
    """``differing``: when known, the nodes (node) that may be new, changed or deleted; every
    other record is as stored, and neither side is then read whole to find the change set."""
    check_model(model, roles)
    current = identities.select("node", "content_hash")
    before = previous.identities.select("node", F.col("content_hash").alias("old_hash"))
    if differing is not None:
        differing = broadcast_if_small(differing)
        current, before = current.join(differing, "node", "left_semi"), before.join(differing, "node", "left_semi")
    delta = current.join(before, "node", "full").select(
        "node", F.when(F.col("old_hash").isNull(), "new").when(F.col("content_hash").isNull(), "deleted")
        .when(F.col("content_hash") != F.col("old_hash"), "changed").otherwise("same").alias("state"),
    ).filter(F.col("state") != "same").checkpoint(eager=True)
    counts = {r.state: int(r["count"]) for r in delta.groupBy("state").count().collect()}
    # The change set is small next to the data: broadcasting it keeps every pass below a scan
    # of the stored keys, with no shuffle of them.
    changed = F.broadcast(delta.select("node"))
    # Stored: each blocking rule reads these records, which are few next to the identities.
    fresh = identities.join(F.broadcast(delta.filter(F.col("state").isin("new", "changed")).select("node")),
                            "node", "left_semi").checkpoint(eager=True)
    new_keys = keys_rows(all_block_keys(fresh, settings)).checkpoint(eager=True)
    old_keys = previous.keys.select("rule", "block", "node", "source")
    # Blocks a new, changed or deleted record is in, now or before. When records only arrived,
    # no stored key row names a record of the change set, and the stored keys are not scanned
    # for them.
    hit_blocks = new_keys.select("rule", "block")
    if counts.get("changed") or counts.get("deleted"):
        keys = old_keys.join(changed, "node", "left_anti").unionByName(new_keys)
        hit_blocks = hit_blocks.unionByName(old_keys.join(changed, "node", "left_semi").select("rule", "block"))
    else:
        keys = old_keys.unionByName(new_keys)
    hit_blocks = hit_blocks.distinct().checkpoint(eager=True)
    touched = touched_records(old_keys, new_keys, changed, hit_blocks, delta, identities, previous.identities,
                              settings).checkpoint(eager=True)
    regenerated = _pairs_with(keys, touched, identities, settings).checkpoint(eager=True)
    gone = F.broadcast(touched.unionByName(delta.filter(F.col("state") == "deleted").select("node")).distinct())
    # Pairs only a person proposed are rebuilt from the current decisions, like a full run does.
    kept_pairs = previous.scored.filter(F.col("blocked_by") != "decision") \
        .join(gone.withColumnRenamed("node", "node_l"), "node_l", "left_anti") \
        .join(gone.withColumnRenamed("node", "node_r"), "node_r", "left_anti")
    # Decided again: the labels or thresholds may have changed.
    redecided = decide(kept_pairs.select(*SCORED), settings, labels)
    candidates = kept_pairs.select("node_l", "node_r").unionByName(regenerated.select("node_l", "node_r"))
    extra = with_labelled_pairs(candidates.withColumn("blocked_by", F.lit("")), labels) \
        .filter(F.col("blocked_by") == "decision")
    rescored = regenerated.unionByName(extra)
    new_scored = score(compare(rescored, identities_of_pairs(identities, rescored), roles), model, settings, labels) \
        .persist(StorageLevel.MEMORY_AND_DISK)
    # Disjoint by construction. Not stored whole: the kept pairs are most of it, and all but
    # the match_pairs write read a few of their columns, cheaper to read again than to cache.
    scored = redecided.unionByName(new_scored)
    # Decisions that changed on untouched pairs re-cluster their records too.
    changes = stored_pair_changes(previous.scored, gone, settings, labels)
    involved = delta.select("node")
    for frame in (changed_edges(changes, new_scored), changes.filter(~F.col("replaced")), extra):
        involved = involved.unionByName(frame.select(F.col("node_l").alias("node"))) \
            .unionByName(frame.select(F.col("node_r").alias("node")))
    clusters, rebuilt, recomputed = _update_clusters(scored, previous.clusters, involved, delta, settings)
    counts.update({"touched": touched.count(), "regenerated_pairs": regenerated.count(), "rebuilt": rebuilt.count()})
    candidates = scored.filter(F.col("blocked_by") != "decision").select("node_l", "node_r")
    only_added = not counts.get("changed") and not counts.get("deleted")
    state = StateAppend(delta.select("node"), new_keys) if only_added else StateRewrite(keys)
    return IncrementalResolution(scored, clusters, rebuilt, recomputed, candidates, model, state, counts)


def stored_pair_changes(stored: DataFrame, gone: DataFrame, settings: ResolveSettings,
                        labels: DataFrame | None) -> DataFrame:
    """The stored pairs this run changes, found in one scan of them (both sets are few):
    - ``replaced``: the accepted pairs replaced by the pairs scored this run, those of a node
      ``gone`` and those only a person proposed (rebuilt from the current decisions every run);
    - otherwise: the pairs kept whose decision changes now (the labels or thresholds may have).
    Columns: node_l, node_r, blocked_by, match_probability, decision (as decided now), before
    (as stored) and replaced."""
    gone_l = F.broadcast(gone.select(F.col("node").alias("node_l"), F.lit(True).alias("gone_l")))
    gone_r = F.broadcast(gone.select(F.col("node").alias("node_r"), F.lit(True).alias("gone_r")))
    flagged = stored.join(gone_l, "node_l", "left").join(gone_r, "node_r", "left").withColumns({
        "replaced": F.col("gone_l").isNotNull() | F.col("gone_r").isNotNull() | (F.col("blocked_by") == "decision"),
        "before": F.col("decision"),
    })
    decided = decide(flagged, settings, labels, keep=("before", "replaced"))
    changed = F.when(F.col("replaced"), F.col("before").isin(*ACCEPTED)).otherwise(F.col("decision") != F.col("before"))
    return decided.filter(changed).select("node_l", "node_r", "blocked_by", "match_probability", "decision", "before",
                                          "replaced").checkpoint(eager=True)


def changed_edges(changes: DataFrame, rescored: DataFrame) -> DataFrame:
    """Accepted pairs (node_l, node_r) gained, lost or changed (first rule or probability) by
    the pairs rebuilt. Clusters are made of accepted pairs and described by their rules and
    weakest probability, so a cluster none of whose records ends such a pair is as it was:
    a rebuilt pair that is rejected now and was rejected before changes nothing, though its
    ends are touched. ``changes``: :func:`stored_pair_changes`, whose replaced rows are the
    stored accepted pairs replaced; ``rescored``: the pairs scored this run."""
    edge = ("node_l", "node_r", "blocked_by", "match_probability")
    replaced = changes.filter(F.col("replaced")).select(*edge)
    now = rescored.filter(F.col("decision").isin(*ACCEPTED)).select(*edge)
    return replaced.subtract(now).unionByName(now.subtract(replaced))


def touched_records(old_keys: DataFrame, new_keys: DataFrame, changed: DataFrame, hit_blocks: DataFrame,
                    delta: DataFrame, identities: DataFrame, previous_identities: DataFrame,
                    settings: ResolveSettings) -> DataFrame:
    """Records whose pairs are rebuilt: every new and changed record, and the unchanged members
    of hit blocks whose pairs with each other may differ.

    A block pairs records whose ranks (sort key, then node) differ by less than its rule's
    window. Between two unchanged members a and b, the rank distance moves only by the change
    items (new, changed or deleted records, each at its own sort key, old or new) that sit
    between them; a pair whose status moves has a change item c between a and b and is within
    the window, so each of a and b has fewer than window - 1 unchanged members between itself
    and c. Those neighbours of each change item are touched; an unchanged member farther from
    every change item keeps its pairs. A block within its window before and after pairs all
    its records either way and touches none of its old members; a block that crosses its cap
    gains or loses every pair and touches them all."""
    # One scan of the stored keys, looking blocks up by id alone (it names the rule too).
    old_members = old_keys.join(F.broadcast(hit_blocks.select("block")), "block", "left_semi") \
        .select("rule", "block", "node").checkpoint(eager=True)
    items = old_members.join(changed, "node", "left_anti") \
        .select("rule", "block", "node", F.lit("kept").alias("item")) \
        .unionByName(old_members.join(changed, "node", "left_semi")
                     .select("rule", "block", "node", F.lit("old").alias("item"))) \
        .unionByName(new_keys.select("rule", "block", "node", F.lit("new").alias("item")))
    window, cap = lookup(block_windows(settings), F.col("rule")), lookup(block_caps(settings), F.col("rule"))
    # Only blocks over their window (before or after) or crossing their cap touch old members.
    # Most hit blocks are within their window, and their items need no sort key: only the few
    # items of the other blocks are looked up.
    counted = items.groupBy("rule", "block").agg(
        F.count(F.when(F.col("item") != "new", 1)).alias("before"),
        F.count(F.when(F.col("item") != "old", 1)).alias("after"))
    before, after = F.col("before"), F.col("after")
    sized_blocks = counted.select("rule", "block", ((before > cap) != (after > cap)).alias("everyone")) \
        .filter(F.col("everyone") | (((before > window) | (after > window)) & (before <= cap) & (after <= cap))) \
        .checkpoint(eager=True)
    # Their items are few: sent whole to the scan of the identities for their sort keys.
    reordered = broadcast_if_small(
        items.join(broadcast_if_small(sized_blocks), ["rule", "block"]).checkpoint(eager=True))
    # Old items take their sort key from the previous identities, every other from the current.
    sort_keys = identities.select("node", window_sort_key(settings), F.lit(False).alias("from_before")) \
        .unionByName(previous_identities.join(changed, "node", "left_semi")
                     .select("node", window_sort_key(settings), F.lit(True).alias("from_before")))
    ordered = reordered.withColumn("from_before", F.col("item") == "old").join(sort_keys, ["node", "from_before"])
    block = Window.partitionBy("rule", "block")
    sized = ordered.withColumns({
        # Unchanged members up to and including this row: an unchanged member's rank among
        # them, and for a change item the number of unchanged members before it.
        "kept_rank": F.count(F.when(F.col("item") == "kept", 1)).over(
            block.orderBy("sort_key", "node", "item").rowsBetween(Window.unboundedPreceding, Window.currentRow)),
    }).checkpoint(eager=True)
    kept = sized.filter(F.col("item") == "kept")
    whole_blocks = kept.filter("everyone").select("node")
    # Unchanged ranks kept_rank - window + 2 .. kept_rank + window - 1 around each change item.
    near = sized.filter(~F.col("everyone") & (F.col("item") != "kept")).select(
        "rule", "block",
        F.explode(F.sequence(F.col("kept_rank") - window + 2, F.col("kept_rank") + window - 1)).alias("kept_rank"))
    neighbours = kept.filter(~F.col("everyone")).join(near.distinct(), ["rule", "block", "kept_rank"], "left_semi") \
        .select("node")
    return whole_blocks.unionByName(neighbours) \
        .unionByName(delta.filter(F.col("state").isin("new", "changed")).select("node")).distinct()


def _pairs_with(keys: DataFrame, touched: DataFrame, identities: DataFrame, settings: ResolveSettings) -> DataFrame:
    """Candidate pairs with at least one touched record, from every block holding one (whole),
    under the same caps and windows as a full run; each pair tagged with its first rule."""
    touched = F.broadcast(touched)
    blocks = keys.join(touched, "node", "left_semi").select("block").distinct().checkpoint(eager=True)
    blocks = broadcast_if_small(blocks)   # a scan of the keys, rather than a shuffle of all of them
    # Flagged, given their sort key and each rule's flags by one join with the identities, and
    # stored; every rule is paired from these rows in one pass.
    members = with_sort_key_and_flags(flag_touched(keys.join(blocks, "block", "left_semi"), touched), identities,
                                      settings).checkpoint(eager=True)
    return candidate_pairs(members, identities, settings)


def _update_clusters(scored: DataFrame, previous: DataFrame, involved: DataFrame, delta: DataFrame,
                     settings: ResolveSettings) -> tuple[DataFrame, DataFrame, DataFrame]:
    """Recompute the clusters holding an involved, changed or deleted record; keep the rest.
    Returns all clusters, the clusters built, and the previous components that were recomputed."""
    # Everything below but the clusters left as they were is of the size of the change set,
    # and joined by broadcast: the stored clusters and pairs are scanned, never shuffled.
    involved = F.broadcast(involved.unionByName(delta.select("node")).distinct())
    affected_components = F.broadcast(previous.join(involved, "node", "left_semi").select("component").distinct()
                                      .checkpoint(eager=True))
    # A deleted record is involved, so its cluster is recomputed, without it.
    deleted = F.broadcast(delta.filter(F.col("state") == "deleted").select("node"))
    affected = previous.join(affected_components, "component", "left_semi").select("node") \
        .unionByName(delta.filter(F.col("state") == "new").select("node")).distinct() \
        .join(deleted, "node", "left_anti").checkpoint(eager=True)
    inside = scored.join(F.broadcast(affected.withColumnRenamed("node", "node_l")), "node_l", "left_semi") \
        .join(F.broadcast(affected.withColumnRenamed("node", "node_r")), "node_r", "left_semi")
    rebuilt = cluster(affected, inside, settings).select("node", "component", "weakest_link").checkpoint(eager=True)
    unchanged = previous.join(affected_components, "component", "left_anti")
    # The output tables read only the clusters built; all of them are read only to evaluate.
    clusters = unchanged.select("node", "component", "weakest_link").unionByName(rebuilt)
    return clusters, rebuilt, affected_components
