"""Blocking: candidate pairs as the union of several rules, without quadratic blow-up.

- exact: records sharing the values of the given fields;
- key: records sharing a derived key ('soundex:last_name' + 'value:postcode', or
  'mailbox:email', the name before an email's '@'); a part may list alternatives
  ('soundex:first_name|last_name'): a record then has one key per alternative, so a pair
  whose first and last names were swapped still meets;
- minhash: character shingles of the fields, hashed by Spark ML's MinHashLSH into bands x rows
  signatures; records share a block when all `rows` hashes of one band agree. Only records
  holding every field of the rule take part. Spark's own
  approxSimilarityJoin has no such AND-amplification: with few hash tables almost every pair
  of name/address records collides somewhere. Banding gives the familiar S-curve: a pair with
  Jaccard similarity s becomes a candidate with probability 1 - (1 - s^rows)^bands.
Blocks larger than ``max_bucket_size`` are skipped and reported. Each pair appears once,
tagged with the first rule (in configured order) that found it (after splink's blocking).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from pyspark.ml.feature import HashingTF, MinHashLSH
from pyspark.ml.functions import vector_to_array
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from custseg.clean.contact import mailbox_name
from custseg.config.model import BlockingRule, ResolveSettings
from custseg.errors import CustsegError

log = logging.getLogger(__name__)
SHINGLE_FEATURES = 1 << 20


@dataclass
class RuleDiagnostics:
    rule: str
    blocks: int               # blocks with two or more records
    estimated_pairs: int      # pairs inside blocks within the size cap (before removing repeats)
    largest: list[tuple[str, int]]
    skipped_blocks: int
    skipped_pairs: int


def block_keys(identities: DataFrame, rule: BlockingRule, seed: int) -> DataFrame:
    """(node, source, block) rows for one rule; records without a key are left out."""
    if rule.type == "minhash":
        return _minhash_keys(identities, rule, seed)
    if rule.type == "exact":
        parts = [F.col(f) for f in rule.fields]
    else:
        alternatives = [p for p in rule.parts if "|" in p]
        if alternatives:
            # One row per alternative value: the part becomes the exploded column `alternative`.
            transform, _, roles = alternatives[0].partition(":")
            values = F.array_distinct(F.array(*[_key_part(f"{transform}:{role}") for role in roles.split("|")]))
            identities = identities.withColumn("alternative", F.explode(values))
        parts = [F.col("alternative") if "|" in p else _key_part(p) for p in rule.parts]
    key = F.when(F.greatest(*[p.isNull() for p in parts]) if len(parts) > 1 else parts[0].isNull(), F.lit(None)).otherwise(
        F.concat_ws("\u001f", *[p.cast("string") for p in parts]))
    return identities.select("node", "source", key.alias("block")).filter(F.col("block").isNotNull() & (F.col("block") != ""))


def _key_part(part: str) -> Column:
    transform, _, role = part.partition(":")
    value = F.col(role)
    if transform == "soundex":
        return F.when(value.isNotNull(), F.soundex(value))
    if transform == "prefix1":
        return F.substring(value, 1, 1)
    if transform == "prefix3":
        return F.substring(value, 1, 3)
    if transform == "year":
        return F.year(value).cast("string")
    if transform == "mailbox":
        return mailbox_name(value.cast("string"))
    return value.cast("string")


def _minhash_keys(identities: DataFrame, rule: BlockingRule, seed: int) -> DataFrame:
    shingles = F.array_distinct(F.flatten(F.array(*[_shingles(f, rule.shingle_size) for f in rule.fields])))
    # Only records holding every field take part: a record without a birth date would
    # otherwise fall back to name-only similarity, and namesakes would fill huge blocks.
    complete = identities.dropna(subset=list(rule.fields))
    shingled = complete.select("node", "source", shingles.alias("shingles")).filter(F.size("shingles") > 0)
    vectors = HashingTF(inputCol="shingles", outputCol="vector", numFeatures=SHINGLE_FEATURES, binary=True).transform(shingled)
    lsh = MinHashLSH(inputCol="vector", outputCol="hashes", numHashTables=rule.bands * rule.rows, seed=seed).fit(vectors)
    signature = F.transform(F.col("hashes"), lambda v: vector_to_array(v)[0])
    bands = F.array(*[F.concat(F.lit(f"{band}:"), F.xxhash64(F.slice(F.col("signature"), band * rule.rows + 1, rule.rows)).cast("string"))
                      for band in range(rule.bands)])
    return lsh.transform(vectors).select("node", "source", signature.alias("signature")).select(
        "node", "source", F.explode(bands).alias("block"))


def _shingles(field: str, size: int) -> Column:
    """Character shingles of one field (the whole value when shorter than ``size``)."""
    text = F.col(field).cast("string")
    starts = F.sequence(F.lit(1), F.greatest(F.length(text) - size + 1, F.lit(1)))
    # A one-argument lambda: PySpark passes (element, index) to two-argument ones.
    return F.when(text.isNull(), F.array().cast("array<string>")).otherwise(F.transform(starts, lambda i: F.substring(text, i, size)))


def block_caps(settings: ResolveSettings) -> dict[str, int]:
    return {rule.name: rule.max_block_size or settings.max_bucket_size for rule in settings.blocking}


def diagnose(keys: dict[str, DataFrame], caps: dict[str, int]) -> list[RuleDiagnostics]:
    """Block counts, estimated pairs and the largest blocks per rule; small aggregates only."""
    report = []
    for name, frame in keys.items():
        max_bucket_size = caps[name]
        sizes = frame.groupBy("block").agg(F.count(F.lit(1)).alias("size")).filter(F.col("size") > 1)
        pairs = F.col("size") * (F.col("size") - 1) / 2
        totals = sizes.agg(
            F.count(F.when(F.col("size") <= max_bucket_size, 1)).alias("blocks"),
            F.coalesce(F.sum(F.when(F.col("size") <= max_bucket_size, pairs)), F.lit(0)).cast("long").alias("pairs"),
            F.count(F.when(F.col("size") > max_bucket_size, 1)).alias("skipped"),
            F.coalesce(F.sum(F.when(F.col("size") > max_bucket_size, pairs)), F.lit(0)).cast("long").alias("skipped_pairs"),
        ).first()
        assert totals is not None
        largest = [(str(r.block).replace("\u001f", " | "), int(r.size)) for r in sizes.orderBy(F.col("size").desc()).limit(5).collect()]
        report.append(RuleDiagnostics(name, int(totals.blocks), int(totals.pairs), largest, int(totals.skipped), int(totals.skipped_pairs)))
    return report


def enforce_budget(report: list[RuleDiagnostics], budget: int) -> None:
    total = sum(r.estimated_pairs for r in report)
    if total > budget:
        detail = "; ".join(f"{r.rule}: ~{r.estimated_pairs:,} (largest block {r.largest[0][1] if r.largest else 0:,})" for r in report)
        raise CustsegError(f"blocking would produce about {total:,} candidate pairs, over resolve.pair_budget "
                           f"({budget:,}); tighten the rules or lower resolve.max_bucket_size. Per rule: {detail}")


def candidate_pairs(keys: dict[str, DataFrame], settings: ResolveSettings) -> DataFrame:
    """(node_l, node_r, blocked_by) with node_l < node_r, each pair once, with its first rule."""
    order = list(keys)
    caps = block_caps(settings)
    found = []
    for index, (name, frame) in enumerate(keys.items()):
        sizes = frame.groupBy("block").agg(F.count(F.lit(1)).alias("size"))
        kept = frame.join(sizes.filter((F.col("size") > 1) & (F.col("size") <= caps[name])), "block", "inner")
        left, right = kept.alias("l"), kept.alias("r")
        condition = (F.col("l.block") == F.col("r.block")) & (F.col("l.node") < F.col("r.node"))
        if settings.mode == "link":
            condition = condition & (F.col("l.source") != F.col("r.source"))
        found.append(left.join(right, condition, "inner").select(
            F.col("l.node").alias("node_l"), F.col("r.node").alias("node_r"), F.lit(index).alias("rule_index")))
    union = found[0]
    for frame in found[1:]:
        union = union.unionByName(frame)
    names = F.array(*[F.lit(n) for n in order])
    return union.groupBy("node_l", "node_r").agg(F.min("rule_index").alias("rule_index")).select(
        "node_l", "node_r", F.element_at(names, F.col("rule_index") + 1).alias("blocked_by"))


def all_block_keys(identities: DataFrame, settings: ResolveSettings) -> dict[str, DataFrame]:
    return {rule.name: block_keys(identities, rule, settings.seed + index) for index, rule in enumerate(settings.blocking)}


def keys_rows(keys: dict[str, DataFrame]) -> DataFrame:
    """All rules' keys in one frame: rule, block, node, source."""
    frames = [frame.select(F.lit(rule).alias("rule"), "block", "node", "source") for rule, frame in keys.items()]
    union = frames[0]
    for frame in frames[1:]:
        union = union.unionByName(frame)
    return union
