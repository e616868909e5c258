"""Resolution from prepared identities to scored pairs and clusters.

identities -> block keys per rule -> diagnostics and pair budget -> candidate pairs (plus any
labelled pairs) -> comparison levels -> model (trained: u from random pairs, m by EM sessions,
prior over all record pairs; or loaded) -> weight, probability and decision per pair ->
connected components over accepted pairs, with each cluster's weakest link.
Scored pairs have one shape (SCORED) whether computed now or kept from an earlier run, so an
incremental run can mix both.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from pyspark import StorageLevel
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from custseg.config.model import ResolveSettings
from custseg.errors import ConfigError
from custseg.resolve.blocking import (
    RuleDiagnostics,
    all_block_keys,
    candidate_pairs,
    diagnose,
    enforce_budget,
    keys_rows,
)
from custseg.resolve.comparisons import LEVELS, compare, comparisons_for
from custseg.resolve.components import connected_components
from custseg.resolve.model import (
    FellegiSunterModel,
    estimate_m,
    estimate_m_by_sessions,
    estimate_prior,
    estimate_u,
    new_model,
    prior_m_levels,
    probability,
)
from custseg.runtime.phases import PhaseClock

log = logging.getLogger(__name__)
MAX_PATTERNS = 200_000
U_PAIRS_PER_RECORD = 50
ONE_PASS_MAX_PAIRS = 2_000_000  # blocking pairs up to which every rule is paired in one pass
ACCEPTED = ("match", "forced_match")
SCORED = ("node_l", "node_r", "source_l", "record_id_l", "source_r", "record_id_r", "blocked_by", "levels",
          "contributions", "match_weight", "match_probability", "label", "decision")


@dataclass
class Resolution:
    """A full run's result."""

    scored: DataFrame           # SCORED columns
    clusters: DataFrame         # node, component, weakest_link
    diagnostics: list[RuleDiagnostics]
    candidates: DataFrame       # node_l, node_r
    model: FellegiSunterModel
    keys: DataFrame             # rule, block, node, source (state for incremental runs)


def check_model(model: FellegiSunterModel | None, roles: list[str]) -> None:
    comparisons = comparisons_for(roles)
    if model is not None and sorted(model.comparisons) != sorted(comparisons):
        raise ConfigError([f"resolve.model compares {sorted(model.comparisons)}, but the mapped columns allow "
                           f"{sorted(comparisons)}; retrain with resolve.model=train"])


def resolve(identities: DataFrame, records: int, roles: list[str], settings: ResolveSettings,
            model: FellegiSunterModel | None, labels: DataFrame | None, clock: PhaseClock | None = None) -> Resolution:
    """Full resolution of ``identities`` (``records`` rows); ``clock`` (optional) marks the phases:
    block keys, then training (which computes the candidate pairs and their comparisons), then
    scoring and clusters."""
    check_model(model, roles)
    clock = clock or PhaseClock()
    keys = {name: frame.persist(StorageLevel.MEMORY_AND_DISK)
            for name, frame in all_block_keys(identities, settings).items()}
    diagnostics = diagnose(keys, settings)
    enforce_budget(diagnostics, settings.pair_budget)
    clock.mark("block keys")
    # Few pairs in all: one pass over every rule's keys, as a pass per rule costs mostly its fixed overhead.
    few = sum(d.estimated_pairs for d in diagnostics) <= ONE_PASS_MAX_PAIRS
    candidates = candidate_pairs(keys_rows(keys) if few else keys, identities, settings) \
        .persist(StorageLevel.MEMORY_AND_DISK)
    pairs = with_labelled_pairs(candidates, labels)
    compared = compare(pairs, identities, roles).persist(StorageLevel.MEMORY_AND_DISK)
    if model is None:
        model = train(compared, identities, records, comparisons_for(roles), settings)
        clock.mark("candidate pairs, comparisons and training")
    scored = score(compared, model, settings, labels).persist(StorageLevel.MEMORY_AND_DISK)
    # Every output table reads the clusters: computed once, and cut from the lineage above (a
    # persisted frame would carry the plans of every cached frame into each later query).
    clusters = cluster(identities.select("node"), scored, settings).checkpoint(eager=True)
    clock.mark("scoring and clusters")
    return Resolution(scored, clusters, diagnostics, candidates, model, keys_rows(keys))


def with_labelled_pairs(candidates: DataFrame, labels: DataFrame | None) -> DataFrame:
    """Candidate pairs plus labelled pairs blocking did not find (a person's word counts)."""
    if labels is None:
        return candidates
    extra = labels.select("node_l", "node_r").join(candidates, ["node_l", "node_r"], "left_anti")
    return candidates.unionByName(extra.withColumn("blocked_by", F.lit("decision")))


def train(
    compared: DataFrame, identities: DataFrame, records: int, comparisons: list[str], settings: ResolveSettings
) -> FellegiSunterModel:
    """u from random pairs; m from EM sessions on high-precision subsets (or, when no training
    rule applies, one EM over all candidates); then the prior with m and u fixed."""
    # The comparisons are named by role: they are the roles compared.
    random = compare(random_pairs(identities, records, settings), identities, comparisons)
    u, random_count = estimate_u(random, comparisons)
    patterns = _patterns(compared, comparisons)
    sessions = [(free, _session_patterns(compared, patterns, comparisons, rule))
                for rule in settings.training_rules if set(rule) <= set(comparisons)
                for free in [[c for c in comparisons if c not in rule]]]
    estimable = {c for free, found in sessions if found for c in free}
    if not patterns:  # no candidate pairs: nothing to learn m from, and nothing to score
        m, iterations, converged = {c: prior_m_levels(len(LEVELS[c])) for c in comparisons}, 0, True
        estimable = set()
    elif sessions and estimable:
        m, iterations = estimate_m_by_sessions(sessions, comparisons, u, settings.em_max_iterations)
        converged = True
    else:
        log.warning("resolve: no training rule applies to the mapped fields; one EM over all candidate pairs")
        m, _, iterations, converged = estimate_m(patterns, comparisons, u, settings.em_max_iterations)
        estimable = set(comparisons)
    prior = estimate_prior(patterns, comparisons, m, u, settings.em_max_iterations) if patterns else 0.0
    model = new_model(comparisons, m, u, prior, sum(n for _, n in patterns), records, random_count,
                      iterations, converged, settings.term_frequency)
    model.term_frequencies = measure_term_frequencies(identities, model.term_frequency)
    model.prior_m = [c for c in comparisons if c not in estimable]
    return model


def _patterns(frame: DataFrame, comparisons: list[str]) -> list[tuple[tuple[int, ...], int]]:
    """Pair counts per combination of levels: a few thousand rows at most."""
    rows = frame.groupBy(*[f"lvl_{c}" for c in comparisons]).count().limit(MAX_PATTERNS).collect()
    return [(tuple(int(r[f"lvl_{c}"]) for c in comparisons), int(r["count"])) for r in rows]


def _session_patterns(compared: DataFrame, patterns: list[tuple[tuple[int, ...], int]], comparisons: list[str],
                      rule: list[str]) -> list[tuple[tuple[int, ...], int]]:
    """Pair counts per combination of the levels outside ``rule``, among the pairs agreeing
    exactly (level 1) on every comparison of ``rule``: a training session's input.

    Summed from the counts of all levels, which hold every pair unless they reached
    MAX_PATTERNS; only then is ``compared`` grouped again."""
    free = [i for i, c in enumerate(comparisons) if c not in rule]
    if len(patterns) >= MAX_PATTERNS:
        exact = [F.col(f"lvl_{c}") == 1 for c in rule]
        condition = exact[0]
        for more in exact[1:]:
            condition = condition & more
        return _patterns(compared.filter(condition), [comparisons[i] for i in free])
    fixed = [comparisons.index(c) for c in rule]
    summed: dict[tuple[int, ...], int] = {}
    for levels, count in patterns:
        if all(levels[i] == 1 for i in fixed):
            key = tuple(levels[i] for i in free)
            summed[key] = summed.get(key, 0) + count
    return sorted(summed.items())


def u_sample_size(records: int, settings: ResolveSettings) -> int:
    """Random pairs to compare for u: ``u_sample_pairs``, or fewer on a small input.

    The rarest agreement is on a value held by one person, about one pair in ``records`` at
    random; U_PAIRS_PER_RECORD pairs a record see it that many times over, so a larger sample
    would sharpen no estimate, only cost comparisons (a million for 5,000 records)."""
    return max(1, min(settings.u_sample_pairs, U_PAIRS_PER_RECORD * records))


def random_pairs(identities: DataFrame, records: int, settings: ResolveSettings) -> DataFrame:
    """About :func:`u_sample_size` pairs of distinct random records of ``identities`` (``records``
    rows): two independent samples crossed."""
    side = max(2, int(u_sample_size(records, settings) ** 0.5))
    fraction = min(1.0, 1.3 * side / records) if records else 1.0
    left = identities.sample(fraction=fraction, seed=settings.seed).limit(side).select(
        F.col("node").alias("node_l"), F.col("source").alias("s_l"))
    right = identities.sample(fraction=fraction, seed=settings.seed + 1).limit(side).select(
        F.col("node").alias("node_r"), F.col("source").alias("s_r"))
    pairs = left.crossJoin(right).filter(F.col("node_l") != F.col("node_r"))
    if settings.mode == "link":
        pairs = pairs.filter(F.col("s_l") != F.col("s_r"))
    return pairs.select("node_l", "node_r")


MAX_TERM_FREQUENCIES = 50_000


def measure_term_frequencies(identities: DataFrame, comparisons: list[str]) -> dict[str, dict[str, float]]:
    """Share of records holding each value seen at least twice (at most the most frequent
    MAX_TERM_FREQUENCIES values per comparison: a small table, collected)."""
    if not comparisons:
        return {}
    totals = identities.agg(*[F.count(c).alias(c) for c in comparisons]).first()
    assert totals is not None
    tables = {}
    for c in comparisons:
        present = identities.filter(F.col(c).isNotNull())
        total = max(int(totals[c]), 1)
        rows = (present.groupBy(c).count().filter(F.col("count") > 1)
                .orderBy(F.col("count").desc(), F.col(c)).limit(MAX_TERM_FREQUENCIES).collect())
        tables[c] = {str(r[c]): r["count"] / total for r in rows}
    return tables


def with_term_frequencies(compared: DataFrame, model: FellegiSunterModel) -> DataFrame:
    """``tf_<c>``: the model's frequency of the left record's value of ``c`` (null if unknown)."""
    for c in model.term_frequency:
        table = model.term_frequencies.get(c, {})
        frequencies = compared.sparkSession.createDataFrame(
            list(table.items()) or [("", 0.0)], f"{c}_l string, tf_{c} double").filter(F.col(f"{c}_l") != "")
        compared = compared.join(F.broadcast(frequencies), f"{c}_l", "left")
    return compared


def score(
    compared: DataFrame, model: FellegiSunterModel, settings: ResolveSettings, labels: DataFrame | None
) -> DataFrame:
    """Compared pairs (``lvl_*`` columns) -> SCORED rows."""
    with_tf = with_term_frequencies(compared, model)
    weighted = with_tf.select(
        "node_l", "node_r", "source_l", "record_id_l", "source_r", "record_id_r", "blocked_by",
        level_names(model.comparisons).alias("levels"), model.contributions().alias("contributions"),
        model.match_weight().alias("match_weight"),
    ).withColumn("match_probability", probability(F.col("match_weight")))
    return decide(weighted, settings, labels)


def decide(
    weighted: DataFrame, settings: ResolveSettings, labels: DataFrame | None, keep: tuple[str, ...] = ()
) -> DataFrame:
    """Decision per pair from its probability and any label a person recorded; SCORED columns
    and the columns named in ``keep``."""
    base = weighted.drop("label", "decision")
    if labels is not None:
        base = base.join(labels, ["node_l", "node_r"], "left")
    else:
        base = base.withColumn("label", F.lit(None).cast("boolean"))
    low, _ = settings.review_band
    decision = (
        F.when(F.col("label"), F.lit("forced_match")).when(~F.col("label"), F.lit("forced_non_match"))
        .when(F.col("match_probability") >= settings.match_threshold, F.lit("match"))
        .when(F.col("match_probability") >= low, F.lit("review")).otherwise(F.lit("non_match"))
    )
    return base.withColumn("decision", decision).select(*SCORED, *keep)


def accepted_edges(scored: DataFrame) -> DataFrame:
    return scored.filter(F.col("decision").isin(*ACCEPTED)).select(
        F.col("node_l").alias("src"), F.col("node_r").alias("dst"), "match_probability")


def cluster(nodes: DataFrame, scored: DataFrame, settings: ResolveSettings) -> DataFrame:
    """(node, component, weakest_link) for ``nodes`` from the accepted pairs among them."""
    accepted = accepted_edges(scored)
    labels = connected_components(nodes, accepted.select("src", "dst"), settings.max_iterations,
                                  settings.local_components_max_edges)
    weakest = accepted.join(labels.withColumnRenamed("node", "src"), "src").groupBy("component").agg(
        F.min("match_probability").alias("weakest_link"))
    return labels.join(weakest, "component", "left")


def level_names(comparisons: list[str]) -> F.Column:
    """map<comparison, level name> from the ``lvl_*`` columns."""
    return F.create_map(*[x for c in comparisons for x in (
        F.lit(c), F.element_at(F.array(*[F.lit(n) for n in LEVELS[c]]), F.col(f"lvl_{c}") + 1))])
