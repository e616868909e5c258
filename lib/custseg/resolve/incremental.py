"""Incremental resolution: match only what changed, and end where a full run would.

With the previous state (every record's matching values and block keys, the scored pairs
and the clusters) and the saved model:
1. records are new, changed (their content hash differs), deleted or unchanged;
2. block keys are computed for new and changed records only, and replace their old ones;
3. a record is *touched* when it shares a block with a new, changed or deleted record. A pair
   of two untouched records keeps the same blocks, so its candidacy, provenance and score are
   unchanged and it is kept as scored. Every pair with a touched record is regenerated from all
   blocks holding that record, under the same size caps and windows (a window's neighbours
   depend on every member of its block, and all of them are touched), and scored with the
   saved model;
4. clusters holding a touched, changed or deleted record are recomputed from the accepted pairs
   among their records; all others keep their labels (a component is named by its smallest
   node, so an untouched cluster is labelled as a full run would label it).
Given the same model (scores use its stored term frequencies), the candidate pairs, decisions
and clusters equal a full run's on the same final data.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyspark import StorageLevel
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from custseg.config.model import ResolveSettings
from custseg.resolve.blocking import all_block_keys, candidate_pairs, flag_touched, keys_rows, window_sort_key
from custseg.resolve.comparisons import compare
from custseg.resolve.engine import SCORED, Resolution, check_model, cluster, decide, score, with_labelled_pairs
from custseg.resolve.model import FellegiSunterModel


@dataclass
class PreviousState:
    identities: DataFrame   # resolution_identities
    keys: DataFrame         # resolution_block_keys: rule, block, node, source
    scored: DataFrame       # match_pairs with node_l, node_r
    clusters: DataFrame     # node, component, weakest_link (from the crosswalk)


def resolve_incremental(identities: DataFrame, roles: list[str], settings: ResolveSettings, model: FellegiSunterModel,
                        labels: DataFrame | None, previous: PreviousState) -> tuple[Resolution, dict[str, int]]:
    check_model(model, roles)
    current = identities.select("node", "content_hash")
    before = previous.identities.select("node", F.col("content_hash").alias("old_hash"))
    delta = current.join(before, "node", "full").select(
        "node", F.when(F.col("old_hash").isNull(), "new").when(F.col("content_hash").isNull(), "deleted")
        .when(F.col("content_hash") != F.col("old_hash"), "changed").otherwise("same").alias("state"),
    ).filter(F.col("state") != "same").checkpoint(eager=True)
    counts = {r.state: int(r["count"]) for r in delta.groupBy("state").count().collect()}
    # The change set is small next to the data: broadcasting it keeps every pass below a scan
    # of the stored keys, with no shuffle of them.
    changed = F.broadcast(delta.select("node"))
    fresh = identities.join(F.broadcast(delta.filter(F.col("state").isin("new", "changed")).select("node")), "node", "left_semi")
    new_keys = keys_rows(all_block_keys(fresh, settings)).checkpoint(eager=True)
    old_keys = previous.keys.select("rule", "block", "node", "source")
    keys = old_keys.join(changed, "node", "left_anti").unionByName(new_keys)
    # Blocks a new, changed or deleted record is in, now or before; their members are touched.
    hit_blocks = new_keys.select("rule", "block").unionByName(old_keys.join(changed, "node", "left_semi").select("rule", "block")) \
        .distinct().checkpoint(eager=True)
    touched = keys.join(F.broadcast(hit_blocks), ["rule", "block"], "left_semi").select("node") \
        .unionByName(delta.filter(F.col("state") != "deleted").select("node")).distinct().checkpoint(eager=True)
    regenerated = _pairs_with(keys, touched, identities, settings).checkpoint(eager=True)
    gone = F.broadcast(touched.unionByName(delta.filter(F.col("state") == "deleted").select("node")).distinct())
    # Pairs only a person proposed are rebuilt from the current decisions, like a full run does.
    kept_pairs = previous.scored.filter(F.col("blocked_by") != "decision") \
        .join(gone.withColumnRenamed("node", "node_l"), "node_l", "left_anti") \
        .join(gone.withColumnRenamed("node", "node_r"), "node_r", "left_anti")
    redecided = decide(kept_pairs.select(*SCORED), settings, labels)
    candidates = kept_pairs.select("node_l", "node_r").unionByName(regenerated.select("node_l", "node_r"))
    extra = with_labelled_pairs(candidates.withColumn("blocked_by", F.lit("")), labels).filter(F.col("blocked_by") == "decision")
    new_scored = score(compare(regenerated.unionByName(extra), identities, roles), model, settings, labels)
    scored = redecided.unionByName(new_scored).persist(StorageLevel.MEMORY_AND_DISK)  # disjoint by construction
    # Decisions that a label changed on untouched pairs re-cluster their records too.
    flipped = redecided.join(kept_pairs.select("node_l", "node_r", F.col("decision").alias("before")), ["node_l", "node_r"]) \
        .filter(F.col("decision") != F.col("before"))
    involved = touched.unionByName(flipped.select(F.col("node_l").alias("node"))).unionByName(flipped.select(F.col("node_r").alias("node"))) \
        .unionByName(extra.select(F.col("node_l").alias("node"))).unionByName(extra.select(F.col("node_r").alias("node")))
    clusters, recomputed = _update_clusters(identities, scored, previous.clusters, involved, delta, settings)
    counts.update({"touched": touched.count(), "regenerated_pairs": regenerated.count()})
    candidates = scored.filter(F.col("blocked_by") != "decision").select("node_l", "node_r")
    only_added = not counts.get("changed") and not counts.get("deleted")
    added = delta.select("node") if only_added else None
    return Resolution(scored, clusters, [], candidates, model, keys, recomputed, added, new_keys if only_added else None), counts


def _pairs_with(keys: DataFrame, touched: DataFrame, identities: DataFrame, settings: ResolveSettings) -> DataFrame:
    """Candidate pairs with at least one touched record, from every block holding one (whole),
    under the same caps and windows as a full run; each pair tagged with its first rule."""
    blocks = keys.join(touched, "node", "left_semi").select("rule", "block").distinct()
    # Flagged and ordered once, and stored, as every rule reads these rows.
    members = flag_touched(keys.join(blocks, ["rule", "block"], "left_semi"), touched) \
        .join(identities.select("node", window_sort_key(settings)), "node").checkpoint(eager=True)
    by_rule = {rule.name: members.filter(F.col("rule") == rule.name).drop("rule") for rule in settings.blocking}
    return candidate_pairs(by_rule, identities, settings)


def _update_clusters(identities: DataFrame, scored: DataFrame, previous: DataFrame, involved: DataFrame, delta: DataFrame,
                     settings: ResolveSettings) -> tuple[DataFrame, DataFrame]:
    """Recompute the clusters holding an involved, changed or deleted record; keep the rest.
    Returns the clusters and the previous components that were recomputed."""
    involved = involved.unionByName(delta.select("node")).distinct()
    affected_components = previous.join(involved, "node", "left_semi").select("component").distinct().checkpoint(eager=True)
    affected = previous.join(affected_components, "component", "left_semi").select("node") \
        .unionByName(delta.filter(F.col("state") == "new").select("node")).distinct() \
        .join(identities.select("node"), "node", "left_semi")
    inside = scored.join(affected.withColumnRenamed("node", "node_l"), "node_l", "left_semi") \
        .join(affected.withColumnRenamed("node", "node_r"), "node_r", "left_semi")
    rebuilt = cluster(affected, inside, settings)
    unchanged = previous.join(affected_components, "component", "left_anti").join(identities.select("node"), "node", "left_semi")
    clusters = unchanged.select("node", "component", "weakest_link").unionByName(rebuilt.select("node", "component", "weakest_link"))
    # Every output table reads the clusters: computed once, and cut from the long lineage
    # above (a persisted frame would carry that plan into every later query).
    return clusters.checkpoint(eager=True), affected_components
