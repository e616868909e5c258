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
A block pairs all its records up to the rule's window (``resolve.block_window``); a larger
block sorts its records by ``resolve.window_order`` and pairs each with its next window - 1
neighbours (sorted neighbourhood within the block), so pairs per record stay bounded however
common a name or busy a postcode grows. Blocks larger than the rule's cap (``max_block_size``,
default ``max_bucket_size``) are skipped and reported. A rule with ``only_if_one_lacks`` keeps
a pair only when one of its records has none of those roles (namesakes that both carry a
birth date are told apart by it, and the birth-date rules meet those that agree). A rule
with ``skip_if_different`` drops a pair whose values of those roles are both present and at
their comparison's 'different' level, beyond a typo (namesakes at one postcode born decades
apart). Each pair appears once, tagged with the first rule (in configured order) that found
it (after splink's blocking).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from pyspark import StorageLevel
from pyspark.ml.feature import HashingTF, MinHashLSH
from pyspark.ml.functions import vector_to_array
from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from custseg.clean.contact import mailbox_name
from custseg.columns import lookup
from custseg.config.model import BlockingRule, ResolveSettings
from custseg.errors import CustsegError
from custseg.resolve.comparisons import differs

log = logging.getLogger(__name__)
SHINGLE_FEATURES = 1 << 20
LACKS = "lacks_fields"   # key column: the record has none of its rule's only_if_one_lacks roles


@dataclass
class RuleDiagnostics:
    rule: str
    blocks: int               # blocks with two or more records
    estimated_pairs: int      # pairs from blocks within the size cap (before removing repeats)
    largest: list[tuple[str, int]]
    windowed_blocks: int      # blocks over the rule's window: sorted-neighbourhood pairs only
    skipped_blocks: int
    skipped_pairs: int


def block_keys(identities: DataFrame, rule: BlockingRule, seed: int) -> DataFrame:
    """(node, source, block, key) rows for one rule, and the identities' sort_key when they
    have one; records without a key are left out.

    ``key`` is the block key as text (for diagnostics); ``block`` is a 64-bit id of the rule
    and key (xxhash64), by which records are grouped and which the state stores. A block is
    found by its id alone, as a lookup of a long in the stored keys costs much less than one
    of (rule, text). Two keys of one rule sharing an id (odds about n^2 / 2^65 for n keys)
    form one block, in full and incremental runs alike."""
    carried = ["node", "source"] + (["sort_key"] if "sort_key" in identities.columns else [])
    if rule.only_if_one_lacks:
        identities = identities.withColumn(LACKS, lacks_all(rule.only_if_one_lacks))
        carried.append(LACKS)
    carried += [role for role in rule.skip_if_different if role not in carried]
    if rule.type == "minhash":
        return _minhash_keys(identities, rule, seed, carried)
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
    missing = F.greatest(*[p.isNull() for p in parts]) if len(parts) > 1 else parts[0].isNull()
    key = F.when(missing, F.lit(None)).otherwise(F.concat_ws("\u001f", *[p.cast("string") for p in parts]))
    return _with_block_id(
        identities.select(*carried, key.alias("key")).filter(F.col("key").isNotNull() & (F.col("key") != "")), rule)


def _with_block_id(keys: DataFrame, rule: BlockingRule) -> DataFrame:
    return keys.withColumn("block", F.xxhash64(F.lit(rule.name), "key"))


def lacks_all(roles: list[str]) -> Column:
    """Whether a record has none of ``roles``."""
    present = [F.col(role).isNotNull() for role in roles]
    return ~F.greatest(*present) if len(present) > 1 else ~present[0]


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


def _minhash_keys(identities: DataFrame, rule: BlockingRule, seed: int, carried: list[str]) -> DataFrame:
    shingles = F.array_distinct(F.flatten(F.array(*[_shingles(f, rule.shingle_size) for f in rule.fields])))
    # Only records holding every field take part: a record without a birth date would
    # otherwise fall back to name-only similarity, and namesakes would fill huge blocks.
    complete = identities.dropna(subset=list(rule.fields))
    shingled = complete.select(*carried, shingles.alias("shingles")).filter(F.size("shingles") > 0)
    vectors = HashingTF(
        inputCol="shingles", outputCol="vector", numFeatures=SHINGLE_FEATURES, binary=True
    ).transform(shingled)
    lsh = MinHashLSH(
        inputCol="vector", outputCol="hashes", numHashTables=rule.bands * rule.rows, seed=seed
    ).fit(vectors)
    signature = F.transform(F.col("hashes"), lambda v: vector_to_array(v)[0])
    bands = F.array(*[
        F.concat(F.lit(f"{band}:"),
                 F.xxhash64(F.slice(F.col("signature"), band * rule.rows + 1, rule.rows)).cast("string"))
        for band in range(rule.bands)
    ])
    return _with_block_id(lsh.transform(vectors).select(*carried, signature.alias("signature"))
                          .select(*carried, F.explode(bands).alias("key")), rule)


def _shingles(field: str, size: int) -> Column:
    """Character shingles of one field (the whole value when shorter than ``size``)."""
    text = F.col(field).cast("string")
    starts = F.sequence(F.lit(1), F.greatest(F.length(text) - size + 1, F.lit(1)))
    # A one-argument lambda: PySpark passes (element, index) to two-argument ones.
    return F.when(text.isNull(), F.array().cast("array<string>")).otherwise(
        F.transform(starts, lambda i: F.substring(text, i, size)))


def block_caps(settings: ResolveSettings) -> dict[str, int]:
    return {rule.name: rule.max_block_size or settings.max_bucket_size for rule in settings.blocking}


def block_windows(settings: ResolveSettings) -> dict[str, int]:
    """Per rule, the size up to which a block pairs all its records (its window)."""
    caps = block_caps(settings)
    return {rule.name: min(rule.window or settings.block_window or caps[rule.name], caps[rule.name])
            for rule in settings.blocking}


def block_pair_count(size: Column, window: Column) -> Column:
    """Pairs a block of ``size`` records gives: all of them up to ``window`` records, beyond it
    each record's next window - 1 neighbours, (w - 1) s - w (w - 1) / 2."""
    return F.when(size <= window, size * (size - 1) / 2).otherwise((window - 1) * size - window * (window - 1) / 2)


def diagnose(keys: dict[str, DataFrame], settings: ResolveSettings) -> list[RuleDiagnostics]:
    """Block counts, estimated pairs and the largest blocks per rule; small aggregates only.
    For a rule with ``only_if_one_lacks`` or ``skip_if_different`` the estimate is an upper
    bound: it counts every pair the blocks could give, before those conditions drop some.

    Every rule is measured in one pass over all rules' keys (three small collects in all): on
    a small input the fixed cost of each Spark job, not the data, is the time."""
    if not keys:
        return []
    caps, windows = block_caps(settings), block_windows(settings)
    rule = F.col("rule")
    union = keys_rows(keys, ("block", "key"))
    # Stored: the totals and the largest blocks both read the sizes, one row a block.
    sizes = union.groupBy("rule", "block").agg(F.count(F.lit(1)).alias("size")).filter(F.col("size") > 1) \
        .persist(StorageLevel.MEMORY_AND_DISK)
    cap, window = lookup(caps, rule), lookup(windows, rule)
    kept = F.col("size") <= cap
    totals = {r.rule: r for r in sizes.groupBy("rule").agg(
        F.count(F.when(kept, 1)).alias("blocks"),
        F.coalesce(F.sum(F.when(kept, block_pair_count(F.col("size"), window))), F.lit(0)).cast("long").alias("pairs"),
        F.count(F.when(kept & (F.col("size") > window), 1)).alias("windowed"),
        F.count(F.when(~kept, 1)).alias("skipped"),
        F.coalesce(F.sum(F.when(~kept, F.col("size") * (F.col("size") - 1) / 2)), F.lit(0)).cast("long")
        .alias("skipped_pairs"),
    ).collect()}
    ranked = sizes.withColumn("place", F.row_number().over(
        Window.partitionBy("rule").orderBy(F.col("size").desc(), "block")))
    top = ranked.filter(F.col("place") <= 5).collect()
    # Blocks are grouped by id; only the few shown are looked up for their text.
    text = {}
    if top:
        shown = F.broadcast(sizes.sparkSession.createDataFrame([(r.rule, r.block) for r in top],
                                                               "rule string, block long"))
        text = {(r.rule, r.block): r.key for r in union.join(shown, ["rule", "block"])
                .groupBy("rule", "block").agg(F.min("key").alias("key")).collect()}
    sizes.unpersist()
    report = []
    for name in keys:
        found = totals.get(name)
        largest = [(str(text[(name, r.block)]).replace("\u001f", " | "), int(r.size))
                   for r in sorted((r for r in top if r.rule == name), key=lambda r: r.place)]
        counts = [int(found[c]) for c in ("blocks", "pairs", "windowed", "skipped", "skipped_pairs")] if found \
            else [0, 0, 0, 0, 0]
        report.append(RuleDiagnostics(name, counts[0], counts[1], largest, counts[2], counts[3], counts[4]))
    return report


def enforce_budget(report: list[RuleDiagnostics], budget: int) -> None:
    total = sum(r.estimated_pairs for r in report)
    if total > budget:
        detail = "; ".join(f"{r.rule}: ~{r.estimated_pairs:,} (largest block {r.largest[0][1] if r.largest else 0:,})"
                           for r in report)
        raise CustsegError(f"blocking would produce about {total:,} candidate pairs, over resolve.pair_budget "
                           f"({budget:,}); tighten the rules or lower resolve.max_bucket_size or resolve.block_window. "
                           f"Per rule: {detail}")


def candidate_pairs(
    keys: Mapping[str, DataFrame] | DataFrame, identities: DataFrame, settings: ResolveSettings
) -> DataFrame:
    """(node_l, node_r, blocked_by) with node_l < node_r, each pair once, with its first rule.

    ``keys`` are, per rule, block, node, source and sort_key rows (the sort key is looked up
    in ``identities`` when absent) holding every member of each block they name, or one frame
    of such rows of every rule with a ``rule`` column. A block pairs all its records up to its
    rule's window; a larger one (up to the cap) pairs each record with its next window - 1
    neighbours in ``resolve.window_order`` (sorted neighbourhood), so a common name or a busy
    postcode costs pairs in proportion to its size, not its square. Keys carrying an
    boolean ``is_touched`` column give only the pairs holding a touched record.
    Rules given apart are paired one at a time: one join over all rules' keys would shuffle
    them all together. One frame (an incremental run's keys, or a small input's) is paired in one pass, as ten
    passes over few rows cost mostly their fixed overhead.
    """
    order = list(block_caps(settings))
    if isinstance(keys, DataFrame):
        found = [_rule_pairs(keys, order, identities, settings)]
    else:
        found = [_rule_pairs(keys[name].withColumn("rule", F.lit(name)), [name], identities, settings)
                 for name in order if name in keys]
    union = found[0]
    for frame in found[1:]:
        union = union.unionByName(frame)
    names = F.array(*[F.lit(n) for n in order])
    return union.groupBy("node_l", "node_r").agg(F.min("rule_index").alias("rule_index")).select(
        "node_l", "node_r", F.element_at(names, F.col("rule_index") + 1).alias("blocked_by"))


def with_sort_key_and_flags(keys: DataFrame, identities: DataFrame, settings: ResolveSettings) -> DataFrame:
    """Stored key rows (rule, block, node, ...) with what :func:`block_keys` gives fresh ones:
    the sort key, for a rule with ``only_if_one_lacks`` its flag (true for other rules), and
    the values of every rule's ``skip_if_different`` roles. Stored keys (an incremental run's)
    carry none of them; one join with the identities adds them for every rule."""
    flags = {f"{LACKS}_{rule.name}": (rule.name, lacks_all(rule.only_if_one_lacks)) for rule in settings.blocking
             if rule.only_if_one_lacks}
    lacks = F.lit(True)
    for column, (name, _) in flags.items():
        lacks = F.when(F.col("rule") == name, F.col(column)).otherwise(lacks)
    values = sorted({role for rule in settings.blocking for role in rule.skip_if_different})
    looked_up = identities.select("node", window_sort_key(settings), *values,
                                  *[flag.alias(column) for column, (_, flag) in flags.items()])
    return keys.drop("sort_key", LACKS, *values).join(looked_up, "node").withColumn(LACKS, lacks).drop(*flags)


def _rule_pairs(frame: DataFrame, names: list[str], identities: DataFrame, settings: ResolveSettings) -> DataFrame:
    """(node_l, node_r, rule_index) of the rules ``names`` from their key rows (with ``rule``)."""
    rules = [rule for rule in settings.blocking if rule.name in names]
    lacking = [rule.name for rule in rules if rule.only_if_one_lacks]
    values = sorted({role for rule in rules for role in rule.skip_if_different})
    needed = ["sort_key", *([LACKS] if lacking else []), *values]
    if any(column not in frame.columns for column in needed):
        frame = with_sort_key_and_flags(frame, identities, settings)
    caps, windows = block_caps(settings), block_windows(settings)
    order = list(caps)
    if len(rules) == 1:
        only = rules[0].name
        cap, window, rule_index = F.lit(caps[only]), F.lit(windows[only]), F.lit(order.index(only))
    else:
        rule_name = F.col("rule")
        cap, window = lookup(caps, rule_name), lookup(windows, rule_name)
        rule_index = lookup({name: order.index(name) for name in names}, rule_name)
    touched = F.col("is_touched") if "is_touched" in frame.columns else F.lit(True)
    # Key rows of a rule without the condition carry true (see with_sort_key_and_flags).
    lacks = F.col(LACKS) if lacking else F.lit(True)
    block = Window.partitionBy("rule", "block")
    members = frame.select("rule", "block", "node", "source", "sort_key", touched.alias("is_touched"),
                           lacks.alias(LACKS), *values) \
        .withColumn("size", F.count(F.lit(1)).over(block)).filter((F.col("size") > 1) & (F.col("size") <= cap)) \
        .withColumn("rank", F.row_number().over(block.orderBy("sort_key", "node")))
    if len(rules) > 1:
        # Both sides of the join below read the ranked rows; stored, they are sorted and
        # ranked once rather than once per side, which matters for an incremental run's many rows.
        members = members.checkpoint(eager=True)
    # One path for every block: each record meets the records ranked after it, up to window - 1
    # of them, which in a block within the window is all of them, in any order.
    ahead = members.filter(F.col("rank") < F.col("size")).select(
        "node", "source", "is_touched", LACKS, *values, "rule", "block",
        F.explode(F.sequence(F.col("rank") + 1, F.least(F.col("rank") + window - 1, F.col("size")))).alias("rank"))
    condition = (F.col("l.is_touched") | F.col("r.is_touched")) & (F.col(f"l.{LACKS}") | F.col(f"r.{LACKS}"))
    for skipping in rules:
        for role in skipping.skip_if_different:
            kept = ~differs(role, F.col(f"l.{role}"), F.col(f"r.{role}"))
            condition = condition & (kept if len(rules) == 1 else (F.col("l.rule") != skipping.name) | kept)
    if settings.mode == "link":
        condition = condition & (F.col("l.source") != F.col("r.source"))
    return members.alias("l").join(ahead.alias("r"), ["rule", "block", "rank"]).filter(condition).select(
        F.least("l.node", "r.node").alias("node_l"), F.greatest("l.node", "r.node").alias("node_r"),
        rule_index.alias("rule_index"))


def window_sort_key(settings: ResolveSettings) -> Column:
    """The order inside a windowed block: the roles of resolve.window_order, missing values last."""
    return F.concat_ws(
        "\u001f", *[F.coalesce(F.col(role).cast("string"), F.lit("\uffff")) for role in settings.window_order]
    ).alias("sort_key")


def all_block_keys(identities: DataFrame, settings: ResolveSettings) -> dict[str, DataFrame]:
    """Per rule, (node, source, block, sort_key) rows; the sort key orders windowed blocks."""
    ordered = identities.withColumn("sort_key", window_sort_key(settings))
    return {rule.name: block_keys(ordered, rule, settings.seed + index) for index, rule in enumerate(settings.blocking)}


def keys_rows(keys: Mapping[str, DataFrame], columns: Sequence[str] = ("block", "node", "source")) -> DataFrame:
    """All rules' keys in one frame: rule and ``columns``."""
    frames = [frame.select(F.lit(rule).alias("rule"), *columns) for rule, frame in keys.items()]
    union = frames[0]
    for frame in frames[1:]:
        union = union.unionByName(frame)
    return union
