"""The Fellegi-Sunter model: m and u probabilities per comparison level, and a prior.

A pair's match weight is log2(prior odds) plus, for every comparison, log2(m/u) of the level
it reached ('null' adds nothing); the match probability is 2^w / (1 + 2^w). u (how often a
level occurs between two random records) is measured on random pairs; m (how often it occurs
between two records of one person) and the prior are estimated by expectation-maximisation
over the comparison patterns of the candidate pairs, without labels (Fellegi and Sunter 1969;
Winkler 1988). Patterns are aggregated in Spark; EM runs on the driver over at most a few
thousand pattern counts.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from dataclasses import asdict, dataclass, field

import numpy as np
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from custseg.resolve.comparisons import LEVELS

SMOOTHING = 1.0           # pseudo-count per level for u
MIN_PROBABILITY = 1e-6


@dataclass
class FellegiSunterModel:
    comparisons: list[str]
    m: dict[str, list[float]]
    u: dict[str, list[float]]
    # Probability that two records drawn at random match: u is measured on random pairs, so
    # the prior must describe random pairs too, not the (far likelier) candidate pairs.
    prior: float
    trained_at: str = ""
    records: int = 0
    prior_among_candidates: float = 0.0
    candidate_pairs: int = 0
    random_pairs: int = 0
    em_iterations: int = 0
    converged: bool = False
    levels: dict[str, list[str]] = field(default_factory=dict)
    # Comparisons whose exact level is weighed against the frequency of the value itself
    # (a pair column ``tf_<comparison>``): agreeing on 'Smith' proves less than on 'Holbrook'.
    term_frequency: list[str] = field(default_factory=list)
    # Frequencies measured when the model was trained, kept with it so that scores do not
    # drift as data arrives (an incremental run scores exactly as a full run would).
    # Values seen once are left out; they take the exact level's u.
    term_frequencies: dict[str, dict[str, float]] = field(default_factory=dict)
    # Comparisons no training session could estimate m for: they use prior_m_levels.
    prior_m: list[str] = field(default_factory=list)

    def bayes_factors(self) -> dict[str, list[float]]:
        """log2(m/u) per level; 0 for the null level."""
        return {c: [0.0] + [math.log2(max(m, MIN_PROBABILITY) / max(u, MIN_PROBABILITY))
                            for m, u in zip(self.m[c][1:], self.u[c][1:], strict=True)] for c in self.comparisons}

    def factor(self, comparison: str) -> Column:
        """The weight a pair's level of ``comparison`` adds (with the term-frequency adjustment)."""
        factors = self.bayes_factors()[comparison]
        plain = F.element_at(F.array(*[F.lit(w) for w in factors]), F.col(f"lvl_{comparison}") + 1)
        if comparison not in self.term_frequency:
            return plain
        m_exact = max(self.m[comparison][1], MIN_PROBABILITY)
        frequency = F.greatest(F.col(f"tf_{comparison}"), F.lit(MIN_PROBABILITY))
        adjusted = F.log2(F.lit(m_exact) / frequency)
        return F.when((F.col(f"lvl_{comparison}") == 1) & F.col(f"tf_{comparison}").isNotNull(), adjusted) \
            .otherwise(plain)

    def contributions(self) -> Column:
        """map<comparison, weight> for a pair with ``lvl_<comparison>`` (and ``tf_*``) columns."""
        return F.create_map(*[x for c in self.comparisons for x in (F.lit(c), self.factor(c))])

    def match_weight(self) -> Column:
        total = F.lit(math.log2(self.prior / (1 - self.prior)))
        for c in self.comparisons:
            total = total + self.factor(c)
        return total

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)

    @classmethod
    def from_json(cls, text: str) -> FellegiSunterModel:
        return cls(**json.loads(text))


def describe(model: FellegiSunterModel) -> str:
    """The model as a table: per comparison and level, m, u and the match weight it adds."""
    lines = [
        f"trained {model.trained_at} on {model.candidate_pairs:,} candidate pairs "
        f"and {model.random_pairs:,} random pairs",
        f"records {model.records:,}; matches among candidate pairs {model.prior_among_candidates:.4f}",
        f"prior, two random records match: {model.prior:.3g}  ->  "
        f"{math.log2(model.prior / (1 - model.prior)):+.2f} bits",
        f"term-frequency adjusted: {', '.join(model.term_frequency) or 'none'}",
        "",
        f"{'comparison':<12} {'level':<30} {'m':>9} {'u':>9} {'weight':>8}",
    ]
    factors = model.bayes_factors()
    for c in model.comparisons:
        for index, name in enumerate(model.levels.get(c, LEVELS[c])):
            if index == 0:
                continue
            lines.append(f"{c:<12} {name:<30} {model.m[c][index]:9.5f} {model.u[c][index]:9.5f} "
                         f"{factors[c][index]:+8.2f}")
    return "\n".join(lines)


def probability(weight: Column) -> Column:
    return F.lit(1.0) / (F.lit(1.0) + F.pow(F.lit(2.0), -weight))


def estimate_u(compared_random: DataFrame, comparisons: list[str]) -> tuple[dict[str, list[float]], int]:
    """u per level from comparison levels of random record pairs (nearly all non-matches)."""
    counts = compared_random.select(F.explode(F.array(*[
        F.struct(F.lit(c).alias("comparison"), F.col(f"lvl_{c}").alias("level")) for c in comparisons])).alias("x")
    ).groupBy("x.comparison", "x.level").count().collect()  # at most sum of levels rows
    # Every pair has exactly one level of each comparison: the first one's counts add up to the
    # pairs, so the random pairs are compared once, not once more to be counted.
    pairs = (sum(r["count"] for r in counts if r.comparison == comparisons[0]) if comparisons
             else compared_random.count())
    u = {}
    for c in comparisons:
        found = {r.level: r["count"] for r in counts if r.comparison == c}
        non_null = [found.get(level, 0) + SMOOTHING for level in range(1, len(LEVELS[c]))]
        total = sum(non_null)
        u[c] = [1.0] + [n / total for n in non_null]
    return u, pairs


def estimate_m(patterns: list[tuple[tuple[int, ...], int]], comparisons: list[str], u: dict[str, list[float]],
               max_iterations: int, tolerance: float = 1e-7) -> tuple[dict[str, list[float]], float, int, bool]:
    """EM for m and the prior with u held fixed; ``patterns`` are (levels per comparison, pair count)."""
    levels = np.array([p for p, _ in patterns], dtype=int)
    counts = np.array([n for _, n in patterns], dtype=float)
    m = {c: _initial_m(len(LEVELS[c])) for c in comparisons}
    prior, iteration, converged = 0.1, 0, False
    for iteration in range(1, max_iterations + 1):  # noqa: B007  (the count is returned)
        log_m = np.zeros(len(patterns))
        log_u = np.zeros(len(patterns))
        for index, c in enumerate(comparisons):
            observed = levels[:, index]
            log_m += np.log(np.maximum(np.asarray(m[c])[observed], MIN_PROBABILITY)) * (observed > 0)
            log_u += np.log(np.maximum(np.asarray(u[c])[observed], MIN_PROBABILITY)) * (observed > 0)
        odds = np.exp(np.clip(np.log(prior) + log_m - np.log(1 - prior) - log_u, -700, 700))
        posterior = odds / (1 + odds)
        weighted = counts * posterior
        new_prior = float(np.clip(weighted.sum() / counts.sum(), 1e-6, 1 - 1e-6))
        new_m = {}
        for index, c in enumerate(comparisons):
            totals = np.bincount(levels[:, index], weights=weighted, minlength=len(LEVELS[c]))[1:] + 1e-9
            new_m[c] = [1.0] + list(totals / totals.sum())
        change = max(abs(new_prior - prior),
                     *(abs(a - b) for c in comparisons for a, b in zip(new_m[c], m[c], strict=True)))
        m, prior = new_m, new_prior
        if change < tolerance:
            converged = True
            break
    return m, prior, iteration, converged


def estimate_m_by_sessions(session_patterns: list[tuple[list[str], list[tuple[tuple[int, ...], int]]]],
                           comparisons: list[str], u: dict[str, list[float]],
                           max_iterations: int) -> tuple[dict[str, list[float]], int]:
    """m from EM sessions, each over the pairs that agree exactly on some comparisons (a
    high-precision subset); a session estimates m only for the comparisons it was not selected
    on, so agreement forced by the selection cannot bias them. Estimates are averaged,
    weighted by the session's expected matches."""
    sums = {c: np.zeros(len(LEVELS[c])) for c in comparisons}
    weights = {c: 0.0 for c in comparisons}
    iterations = 0
    for free, patterns in session_patterns:
        if not patterns or not free:
            continue
        m, prior, used, _ = estimate_m(patterns, free, u, max_iterations)
        iterations += used
        expected_matches = prior * sum(n for _, n in patterns)
        for c in free:
            sums[c] += expected_matches * np.asarray(m[c])
            weights[c] += expected_matches
    estimated = {c: [1.0] + list(sums[c][1:] / sums[c][1:].sum()) for c in comparisons if weights[c] > 0}
    return {c: estimated.get(c, prior_m_levels(len(LEVELS[c]))) for c in comparisons}, iterations


def prior_m_levels(level_count: int) -> list[float]:
    """The m a comparison takes when no data can estimate it (no training session leaves it
    free, or its values are all null): the agreeing levels halve in probability from the
    exact one down (0.9, 0.45, ...) and 'different' gets 0.05, normalized. It is the EM's
    starting point too, a cautious guess that a match usually agrees."""
    return _initial_m(level_count)


def estimate_prior(patterns: list[tuple[tuple[int, ...], int]], comparisons: list[str], m: dict[str, list[float]],
                   u: dict[str, list[float]], max_iterations: int, tolerance: float = 1e-9) -> float:
    """The share of matches among candidate pairs, by EM with m and u held fixed."""
    levels = np.array([p for p, _ in patterns], dtype=int)
    counts = np.array([n for _, n in patterns], dtype=float)
    log_ratio = np.zeros(len(patterns))
    for index, c in enumerate(comparisons):
        observed = levels[:, index]
        ratio = (np.log(np.maximum(np.asarray(m[c]), MIN_PROBABILITY))
                 - np.log(np.maximum(np.asarray(u[c]), MIN_PROBABILITY)))
        log_ratio += ratio[observed] * (observed > 0)
    prior = 0.1
    for _ in range(max_iterations * 10):
        odds = np.exp(np.clip(np.log(prior / (1 - prior)) + log_ratio, -700, 700))
        new_prior = float(np.clip((counts * odds / (1 + odds)).sum() / counts.sum(), 1e-6, 1 - 1e-6))
        if abs(new_prior - prior) < tolerance:
            return new_prior
        prior = new_prior
    return prior


def _initial_m(level_count: int) -> list[float]:
    """Agreement levels likely for matches, 'different' unlikely."""
    agreeing = level_count - 2  # levels between null and different
    values = [0.9 * (0.5 ** i) for i in range(agreeing)] + [0.05]
    total = sum(values)
    return [1.0] + [v / total for v in values]


def new_model(comparisons: list[str], m: dict[str, list[float]], u: dict[str, list[float]],
              prior_among_candidates: float, candidate_pairs: int, records: int, random_pairs: int,
              iterations: int, converged: bool, term_frequency: list[str]) -> FellegiSunterModel:
    """The prior over all record pairs: the expected matches among candidates (blocking is
    assumed to find nearly all matches) spread over every pair of records."""
    all_pairs = max(records * (records - 1) / 2, 1.0)
    prior = float(np.clip(prior_among_candidates * candidate_pairs / all_pairs, 1e-12, 0.5))
    return FellegiSunterModel(
        comparisons=comparisons, m=m, u=u, prior=prior, records=records, prior_among_candidates=prior_among_candidates,
        trained_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        candidate_pairs=candidate_pairs, random_pairs=random_pairs, em_iterations=iterations, converged=converged,
        levels={c: LEVELS[c] for c in comparisons}, term_frequency=[c for c in term_frequency if c in comparisons],
    )
