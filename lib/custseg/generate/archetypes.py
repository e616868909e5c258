"""Behavioural archetypes planted in the generated data, and how each one buys and browses.

Segmentation is judged by how well it recovers these (adjusted Rand index against
``truth_persons.archetype``), so each archetype differs from the others on the features a
marketer cares about: recency, frequency, spend, discount use and web engagement.
All day counts are days before the generator's end date.
"""

from __future__ import annotations

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


ARCHETYPES: tuple[Archetype, ...] = (
    Archetype("champion", 0.12, (16, 30), (500, 720), (0, 20), (0.15, 0.5, 0.35), 0.08, 0.04,
              (10, 18), 0.2, 0.6, 110_000),
    Archetype("loyal_regular", 0.18, (7, 14), (400, 720), (0, 45), (0.3, 0.6, 0.1), 0.12, 0.05,
              (4, 9), 0.35, 0.5, 70_000),
    Archetype("big_spender_at_risk", 0.08, (3, 6), (300, 700), (150, 300), (0.0, 0.15, 0.85), 0.05,
              0.1, (0, 1), 0.5, 0.4, 150_000),
    Archetype("bargain_hunter", 0.15, (9, 18), (300, 720), (0, 40), (0.9, 0.1, 0.0), 0.8, 0.15,
              (8, 14), 0.55, 0.7, 45_000),
    Archetype("new_customer", 0.15, (1, 2), (5, 60), (0, 30), (0.35, 0.55, 0.1), 0.5, 0.05,
              (3, 7), 0.4, 0.6, 60_000),
    Archetype("window_shopper", 0.14, (0, 1), (90, 400), (60, 300), (0.5, 0.5, 0.0), 0.2, 0.1,
              (14, 26), 0.92, 0.9, 50_000),
    Archetype("churned", 0.18, (1, 4), (500, 720), (400, 700), (0.35, 0.55, 0.1), 0.2, 0.12,
              (0, 0), 0.5, 0.4, 55_000),
)

BY_NAME = {a.name: a for a in ARCHETYPES}


def weights(overrides: dict[str, float]) -> dict[str, float]:
    """Archetype mix after config overrides; unknown names are refused."""
    unknown = sorted(set(overrides) - set(BY_NAME))
    if unknown:
        raise ValueError(f"generate.archetype_weights: unknown archetype(s) {unknown}; known: {sorted(BY_NAME)}")
    mix = {a.name: overrides.get(a.name, a.weight) for a in ARCHETYPES}
    if sum(mix.values()) <= 0:
        raise ValueError("generate.archetype_weights: weights must not all be zero")
    return mix
