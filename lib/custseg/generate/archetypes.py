"""Behavioural archetypes planted in the generated data, and how each one buys and browses.

Segmentation is judged by how well it recovers these (adjusted Rand index against
``truth_persons.archetype``), so each archetype differs from the others on the features a
marketer cares about: recency, frequency, spend, discount use and web engagement. Whether a
person has a web account follows the archetype too (window shoppers browse, lapsed store
customers mostly never had an account): where it did not, a third of every archetype had no
web activity at all, and that split, not the archetypes, was what the data showed.
All day counts are days before the generator's end date.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Archetype:
    name: str
    weight: float
    orders: tuple[int, int]            # orders over the whole history, inclusive range
    first_order_days: tuple[int, int]  # how long ago the first order was
    last_order_days: tuple[int, int]   # how long ago the last order was
    price_tiers: tuple[float, float, float]  # probability of a budget / mid / premium line
    discount_share: float              # share of orders with a promotion code
    return_share: float
    sessions_90d: tuple[int, int]      # web sessions in the last 90 days (if any account)
    cart_abandonment: float            # chance a session with a cart add ends without checkout
    online_share: float                # share of orders placed online (vs in store)
    income_median: int                 # yearly household income, USD
    web_account_share: float           # share with a web/app account (at the default overall rate)
    # Categories the archetype leans to: a person's first favourite is one of them more often
    # than chance (CATEGORY_LEAN), so segments differ in what they buy, not only how much.
    categories: tuple[str, ...] = ()


ARCHETYPES: tuple[Archetype, ...] = (
    Archetype("champion", 0.12, (18, 34), (500, 720), (0, 14), (0.1, 0.4, 0.5), 0.08, 0.04,
              (10, 18), 0.2, 0.6, 120_000, 0.95, ("electronics", "sports")),
    Archetype("loyal_regular", 0.18, (8, 14), (400, 720), (3, 30), (0.45, 0.5, 0.05), 0.12, 0.05,
              (1, 4), 0.35, 0.3, 65_000, 0.15, ("grocery", "home")),
    Archetype("big_spender_at_risk", 0.08, (3, 6), (300, 700), (150, 300), (0.0, 0.1, 0.9), 0.05,
              0.1, (0, 1), 0.5, 0.4, 150_000, 0.3, ("fashion", "electronics")),
    Archetype("bargain_hunter", 0.15, (9, 18), (300, 720), (0, 40), (0.9, 0.1, 0.0), 0.8, 0.15,
              (8, 14), 0.55, 0.7, 45_000, 0.95, ("grocery", "toys")),
    Archetype("new_customer", 0.15, (1, 2), (5, 60), (0, 30), (0.35, 0.55, 0.1), 0.9, 0.02,
              (3, 7), 0.4, 0.6, 60_000, 0.8, ("beauty", "fashion")),
    Archetype("window_shopper", 0.14, (0, 0), (90, 400), (60, 300), (0.5, 0.5, 0.0), 0.2, 0.1,
              (14, 26), 0.92, 0.9, 50_000, 1.0, ("fashion", "beauty")),
    Archetype("churned", 0.18, (1, 3), (500, 720), (420, 700), (0.4, 0.55, 0.05), 0.2, 0.12,
              (0, 0), 0.5, 0.4, 55_000, 0.3, ("books", "home")),
)

BY_NAME = {a.name: a for a in ARCHETYPES}
CATEGORY_LEAN = 0.6  # chance that a person's first favourite category is one of the archetype's


def weights(overrides: dict[str, float]) -> dict[str, float]:
    """Archetype mix after config overrides; unknown names are refused."""
    unknown = sorted(set(overrides) - set(BY_NAME))
    if unknown:
        raise ValueError(f"generate.archetype_weights: unknown archetype(s) {unknown}; known: {sorted(BY_NAME)}")
    mix = {a.name: overrides.get(a.name, a.weight) for a in ARCHETYPES}
    if sum(mix.values()) <= 0:
        raise ValueError("generate.archetype_weights: weights must not all be zero")
    return mix


def web_account_shares(overall_rate: float, mix: dict[str, float]) -> dict[str, float]:
    """Each archetype's chance of a web account, so that the mix-weighted chance is
    ``overall_rate`` (or as near as archetypes fixed at 0 or 1 allow): every archetype's odds
    are multiplied by one factor, found by bisection, which keeps their order. Window
    shoppers always have an account; lapsed store customers mostly have none."""
    if overall_rate <= 0.0 or overall_rate >= 1.0:
        return {name: overall_rate for name in mix}
    total = sum(mix.values())

    def shares(log_factor: float) -> dict[str, float]:
        result = {}
        for name in mix:
            share = BY_NAME[name].web_account_share
            if 0.0 < share < 1.0:
                odds = math.exp(log_factor) * share / (1.0 - share)
                share = odds / (1.0 + odds)
            result[name] = share
        return result

    low, high = -30.0, 30.0
    for _ in range(100):
        middle = (low + high) / 2
        mean = sum(mix[name] * share for name, share in shares(middle).items()) / total
        low, high = (middle, high) if mean < overall_rate else (low, middle)
    return shares((low + high) / 2)
