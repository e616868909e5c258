"""Incremental resolution: match only what changed, and end where a full run would.

With the previous state (every record's matching values and block keys, the scored pairs
and the clusters) and the saved model:
1. records are new, changed (their content hash differs), deleted or unchanged;
2. block keys are computed for new and changed records only, and replace their old ones;
3. a record is *touched* when it shares a block with a new, changed or deleted record. A pair
   of two untouched records keeps the same blocks, so its candidacy, provenance and score are
   unchanged and it is kept as scored. Every pair with a touched record is regenerated from all
   blocks holding that record, under the same size caps, and scored with the saved model;
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
from custseg.resolve.blocking import all_block_keys, block_caps
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
    fresh = identities.join(delta.filter(F.col("state").isin("new", "changed")).select("node"), "node", "left_semi")
    new_keys = all_block_keys(fresh, settings)
    keys = {}
    for rule in settings.blocking:
        kept = previous.keys.filter(F.col("rule") == rule.name).select("node", "source", "block").join(delta.select("node"), "node", "left_anti")
        # Checkpoints cut the lineage: each key frame is joined several times below, and
        # carrying the MinHash plans into every join makes the plan too large to analyse.
        keys[rule.name] = kept.unionByName(new_keys[rule.name]).checkpoint(eager=True)
    touched = _touched(keys, previous.keys, delta).checkpoint(eager=True)
    regenerated = _pairs_with(keys, touched, settings).checkpoint(eager=True)
    gone = touched.unionByName(delta.filter(F.col("state") == "deleted").select("node"))
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
    clusters = _update_clusters(identities, scored, previous.clusters, involved, delta, settings)
    counts.update({"touched": touched.count(), "regenerated_pairs": regenerated.count()})
    candidates = scored.filter(F.col("blocked_by") != "decision").select("node_l", "node_r")
    return Resolution(scored, clusters, [], candidates, model, keys), counts


def _touched(keys: dict[str, DataFrame], previous_keys: DataFrame, delta: DataFrame) -> DataFrame:
    """Records sharing a block, now or before, with a new, changed or deleted record."""
    found = []
    for rule, frame in keys.items():
        before = previous_keys.filter(F.col("rule") == rule).select("node", "block")
        both = frame.select("node", "block").unionByName(before)
        blocks = both.join(delta.select("node"), "node", "left_semi").select("block").distinct()
        found.append(frame.select("node", "block").join(blocks, "block", "left_semi").select("node"))
    result = delta.filter(F.col("state") != "deleted").select("node")
    for frame in found:
        result = result.unionByName(frame)
    return result.distinct()


def _pairs_with(keys: dict[str, DataFrame], touched: DataFrame, settings: ResolveSettings) -> DataFrame:
    """Candidate pairs with at least one touched record, from every block holding one."""
    caps = block_caps(settings)
    found = []
    for index, (name, frame) in enumerate(keys.items()):
        blocks = frame.join(touched, "node", "left_semi").select("block").distinct()
        members = frame.join(blocks, "block", "left_semi")
        sizes = members.groupBy("block").agg(F.count(F.lit(1)).alias("size"))
        members = members.join(sizes.filter((F.col("size") > 1) & (F.col("size") <= caps[name])), "block", "inner") \
            .join(touched.withColumn("is_touched", F.lit(True)), "node", "left")
        left, right = members.alias("l"), members.alias("r")
        condition = (F.col("l.block") == F.col("r.block")) & (F.col("l.node") < F.col("r.node")) \
            & (F.coalesce(F.col("l.is_touched"), F.lit(False)) | F.coalesce(F.col("r.is_touched"), F.lit(False)))
        if settings.mode == "link":
            condition = condition & (F.col("l.source") != F.col("r.source"))
        found.append(left.join(right, condition, "inner").select(
            F.col("l.node").alias("node_l"), F.col("r.node").alias("node_r"), F.lit(index).alias("rule_index")))
    union = found[0]
    for frame in found[1:]:
        union = union.unionByName(frame)
    names = F.array(*[F.lit(n) for n in keys])
    return union.groupBy("node_l", "node_r").agg(F.min("rule_index").alias("rule_index")).select(
        "node_l", "node_r", F.element_at(names, F.col("rule_index") + 1).alias("blocked_by"))


def _update_clusters(identities: DataFrame, scored: DataFrame, previous: DataFrame, involved: DataFrame, delta: DataFrame,
                     settings: ResolveSettings) -> DataFrame:
    """Recompute the clusters holding an involved, changed or deleted record; keep the rest."""
    involved = involved.unionByName(delta.select("node")).distinct()
    affected_components = previous.join(involved, "node", "left_semi").select("component").distinct()
    affected = previous.join(affected_components, "component", "left_semi").select("node") \
        .unionByName(delta.filter(F.col("state") == "new").select("node")).distinct() \
        .join(identities.select("node"), "node", "left_semi")
    inside = scored.join(affected.withColumnRenamed("node", "node_l"), "node_l", "left_semi") \
        .join(affected.withColumnRenamed("node", "node_r"), "node_r", "left_semi")
    recomputed = cluster(affected, inside, settings)
    unchanged = previous.join(affected_components, "component", "left_anti").join(identities.select("node"), "node", "left_semi")
    return unchanged.select("node", "component", "weakest_link").unionByName(recomputed.select("node", "component", "weakest_link"))
