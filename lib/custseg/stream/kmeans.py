"""Online mini-batch k-means over the real-time features of abandoned carts.

Method: the decayed mini-batch update of streaming k-means (as in Spark MLlib's RDD-based
``StreamingKMeans``, which has no DataFrame counterpart): with a batch's points ``x`` assigned
to their nearest centre, each centre ``c`` of weight ``n`` that receives ``m`` points becomes
``(a*n*c + sum(x)) / (a*n + m)`` with weight ``a*n + m``, where ``a`` is the decay per
micro-batch; a centre that receives no point keeps its place and its weight decays to ``a*n``.
Distances are Euclidean over features divided by a fixed per-feature scale, so a cart value in
currency does not drown the item count. Centres start from history: k-means (Spark ML) over the
batch customers' analogues of the features (``customer_features``), or, without them, from the
first micro-batch's carts. Clusters are labelled by a rule over their centres, so labels follow
the centres as they move.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from custseg.config.model import STREAM_FEATURES, OnlineKMeansSettings

HIGH_RISK = "High-Risk Abandoner"
LOW_RISK = "Low-Risk"


@dataclass(frozen=True)
class Centres:
    """The model's state: one row per cluster, in feature units."""

    centres: np.ndarray      # k x d
    weights: np.ndarray      # k
    scale: np.ndarray        # d, > 0
    initialised_from: str
    batch_id: int = -1
    features: tuple[str, ...] = STREAM_FEATURES

    @property
    def k(self) -> int:
        return int(self.centres.shape[0])


def labels(model: Centres, settings: OnlineKMeansSettings) -> list[str]:
    """High-Risk Abandoner for a centre meeting the configured rule, else Low-Risk."""
    column = model.features.index(settings.high_risk_feature)
    return [HIGH_RISK if centre[column] >= settings.high_risk_min else LOW_RISK for centre in model.centres]


def assign(model: Centres, points: np.ndarray) -> np.ndarray:
    """Nearest centre of each point (reference computation in numpy)."""
    scaled = points / model.scale
    distances = ((scaled[:, None, :] - (model.centres / model.scale)[None, :, :]) ** 2).sum(axis=2)
    return distances.argmin(axis=1)


def update(model: Centres, points: np.ndarray, decay: float, batch_id: int) -> Centres:
    """One decayed mini-batch step (reference computation in numpy)."""
    nearest = assign(model, points) if len(points) else np.array([], dtype=int)
    sums = np.zeros_like(model.centres)
    counts = np.zeros(model.k)
    for cluster in range(model.k):
        members = points[nearest == cluster]
        sums[cluster], counts[cluster] = members.sum(axis=0) if len(members) else 0.0, len(members)
    return step(model, sums, counts, decay, batch_id)


def step(model: Centres, sums: np.ndarray, counts: np.ndarray, decay: float, batch_id: int) -> Centres:
    """Apply per-cluster point sums and counts of one batch."""
    kept = decay * model.weights
    weights = kept + counts
    safe = np.where(weights > 0, weights, 1.0)
    centres = np.where((counts > 0)[:, None], (kept[:, None] * model.centres + sums) / safe[:, None], model.centres)
    return replace(model, centres=centres, weights=weights, batch_id=batch_id)


# -- the same in Spark, for micro-batches of any size ---------------------------------------
def nearest_cluster(model: Centres) -> Column:
    """Column: index of the nearest centre for rows holding the feature columns."""
    distances = [
        sum(((F.col(f).cast("double") / float(s) - float(c / s)) ** 2
             for f, c, s in zip(model.features, centre, model.scale, strict=True)), F.lit(0.0))
        for centre in model.centres
    ]
    best, nearest = distances[0], F.lit(0)
    for index, distance in enumerate(distances[1:], start=1):
        nearest = F.when(distance < best, F.lit(index)).otherwise(nearest)
        best = F.least(best, distance)
    return nearest.cast("int")


def with_cluster(df: DataFrame, model: Centres) -> DataFrame:
    return df.withColumn("cluster", nearest_cluster(model))


def update_from_frame(model: Centres, assigned_df: DataFrame, decay: float, batch_id: int) -> Centres:
    """The mini-batch step over a DataFrame with the features and a ``cluster`` column; only
    k aggregate rows reach the driver."""
    rows = assigned_df.groupBy("cluster").agg(
        F.count(F.lit(1)).alias("n"), *[F.sum(F.col(f).cast("double")).alias(f) for f in model.features]).collect()
    sums, counts = np.zeros_like(model.centres), np.zeros(model.k)
    for row in rows:
        counts[row["cluster"]] = row["n"]
        sums[row["cluster"]] = [row[f] for f in model.features]
    return step(model, sums, counts, decay, batch_id)


def initial_from_history(features_df: DataFrame, settings: OnlineKMeansSettings, recent_views: int) -> Centres | None:
    """Centres from the batch customers who added to a cart: their average order value, cart
    adds and page views per session, and session minutes stand in for the cart features.
    None when fewer customers than clusters qualify."""
    from pyspark.ml.clustering import KMeans
    from pyspark.ml.feature import VectorAssembler

    sessions = F.greatest(F.col("sessions_90d"), F.lit(1))
    analogues = features_df.filter(F.col("cart_adds_90d") > 0).select(
        F.coalesce(F.col("avg_order_value"), F.lit(0.0)).alias("cart_value"),
        F.greatest(F.lit(1.0), F.col("cart_adds_90d") / sessions).alias("cart_items"),
        F.coalesce(F.col("avg_session_minutes_90d"), F.lit(0.0)).alias("session_minutes"),
        F.least(F.lit(float(recent_views)), F.col("page_views_90d") / sessions).alias("recent_views"),
    )
    stats = analogues.agg(F.count(F.lit(1)).alias("n"), *[F.stddev_pop(f).alias(f) for f in STREAM_FEATURES]).first()
    if stats is None or stats["n"] < settings.k:
        return None
    scale = np.array([stats[f] or 1.0 for f in STREAM_FEATURES], dtype=float)
    scale[scale <= 0] = 1.0
    scaled = analogues.select(*[(F.col(f) / float(s)).alias(f) for f, s in zip(STREAM_FEATURES, scale, strict=True)])
    vectors = VectorAssembler(inputCols=list(STREAM_FEATURES), outputCol="features").transform(scaled)
    fitted = KMeans(k=settings.k, seed=settings.seed, featuresCol="features").fit(vectors)
    centres = np.array([c for c in fitted.clusterCenters()], dtype=float) * scale
    sizes = np.array(fitted.summary.clusterSizes, dtype=float)
    return _padded(Centres(centres, sizes, scale, "customer_features"), settings.k)


def initial_from_points(points: np.ndarray, settings: OnlineKMeansSettings) -> Centres:
    """Centres from a first batch without history: k spread points (farthest-first), unit weights."""
    scale = points.std(axis=0) if len(points) > 1 else np.ones(points.shape[1])
    scale = np.where(scale > 0, scale, 1.0)
    chosen = [int(np.argmax(points[:, 0]))]
    while len(chosen) < min(settings.k, len(points)):
        gaps = np.min([(((points - points[c]) / scale) ** 2).sum(axis=1) for c in chosen], axis=0)
        chosen.append(int(np.argmax(gaps)))
    return _padded(Centres(points[chosen].astype(float), np.ones(len(chosen)), scale, "first_batch"), settings.k)


def _padded(model: Centres, k: int) -> Centres:
    """Repeat centres when fewer distinct ones than k were found (weights 0: the first batch moves them)."""
    if model.k >= k:
        return model
    extra = k - model.k
    centres = np.vstack([model.centres, np.repeat(model.centres[-1:], extra, axis=0)])
    return replace(model, centres=centres, weights=np.concatenate([model.weights, np.zeros(extra)]))
