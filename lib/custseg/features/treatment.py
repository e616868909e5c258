"""Missing values and noise in the features, every assumption logged.

Order: record the nulls per column; impute by policy (median, mean, mode, zero, constant,
or k-nearest neighbours); cap extremes at configured quantiles (winsorize); score every
customer with an isolation forest. Simple statistics are Spark aggregates; the two models
are fitted with scikit-learn on a bounded sample on the driver and applied to every row in
Arrow batches (``mapInPandas``), so no full table is ever collected. Rows keep the list of
columns imputed or capped for them.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from pyspark import StorageLevel
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from custseg.config.model import FeatureSettings

log = logging.getLogger(__name__)
INTEGRAL = (T.ByteType, T.ShortType, T.IntegerType, T.LongType)


@dataclass
class Treatment:
    features: DataFrame
    log: list[tuple[str, str, int]] = field(default_factory=list)   # (column, rule, rows affected)


def treat_features(features: DataFrame, settings: FeatureSettings) -> Treatment:
    types = {f.name: f.dataType for f in features.schema.fields}
    numeric = [n for n, t in types.items() if isinstance(t, T.NumericType)]
    nulls = features.agg(*[F.count_if(F.col(c).isNull()).alias(c) for c in numeric]).first()
    assert nulls is not None
    entries = [(c, "missing before treatment", int(nulls[c])) for c in numeric if nulls[c]]
    policies = {c: p for c, p in settings.imputation.items() if p != "none"}
    flags = [F.when(F.col(c).isNull(), F.lit(c)) for c in policies]
    values = _simple_fill_values(features, {c: p for c, p in policies.items() if p != "knn"})
    imputed = F.array_compact(F.array(*flags)) if flags else F.array().cast("array<string>")
    treated = features.withColumn("imputed_columns", imputed)
    treated = treated.withColumns({c: F.coalesce(F.col(c), F.lit(v).cast(types[c])) for c, v in values.items()})
    entries += [(c, f"null -> {policies[c]} ({v:g})", int(nulls[c])) for c, v in values.items() if nulls[c]]
    knn_targets = [c for c, p in policies.items() if p == "knn"]
    if knn_targets:
        # Stored: every step below reads the imputed rows, and the model would run again for each.
        treated = _knn_impute(treated, knn_targets, settings, types).persist(StorageLevel.MEMORY_AND_DISK)
        entries += [(c, f"null -> knn ({settings.knn_neighbors} neighbours)", int(nulls[c]))
                    for c in knn_targets if nulls[c]]
    treated, capped = _winsorize(treated, settings.winsorize, types)
    entries += capped
    if settings.outlier_model == "isolation_forest":
        treated = _isolation_forest(treated, settings)
    else:
        treated = treated.withColumns({"outlier_score": F.lit(None).cast("double"), "is_outlier": F.lit(False)})
    return Treatment(treated, entries)


def _simple_fill_values(frame: DataFrame, policies: dict[str, str]) -> dict[str, float]:
    values: dict[str, float] = {}
    medians = [c for c, p in policies.items() if p == "median"]
    if medians:
        quantiles = frame.approxQuantile(medians, [0.5], 0.001)
        values.update({c: q[0] for c, q in zip(medians, quantiles, strict=True) if q})
    means = [c for c, p in policies.items() if p == "mean"]
    if means:
        row = frame.agg(*[F.avg(c).alias(c) for c in means]).first()
        values.update({c: row[c] for c in means if row is not None and row[c] is not None})
    for column, policy in policies.items():
        if policy == "mode":
            top = (frame.filter(F.col(column).isNotNull()).groupBy(column).count()
                   .orderBy(F.col("count").desc(), column).first())
            if top is not None:
                values[column] = float(top[column])
        elif policy == "zero":
            values[column] = 0.0
        elif policy.startswith("constant:"):
            values[column] = float(policy.split(":", 1)[1])
    return values


def _sample(frame: DataFrame, columns: list[str], size: int, seed: int) -> pd.DataFrame:
    """At most ``size`` rows of ``columns`` on the driver, drawn without replacement, in the
    order of their values: the models fitted on them draw rows by position, and the order a
    frame's rows arrive in follows its partitioning, which changes with how it was computed."""
    total = frame.count()
    fraction = min(1.0, 1.2 * size / total) if total else 1.0
    numbers = frame.select(*[F.col(c).cast("double") for c in columns])
    drawn: pd.DataFrame = numbers.sample(fraction=fraction, seed=seed).limit(size).toPandas()
    return drawn.sort_values(list(columns), kind="mergesort", na_position="last").reset_index(drop=True)


def _knn_impute(frame: DataFrame, targets: list[str], settings: FeatureSettings,
                types: dict[str, T.DataType]) -> DataFrame:
    from sklearn.impute import KNNImputer

    columns = list(dict.fromkeys([*settings.knn_predictors, *targets]))
    sample = _sample(frame, columns, settings.model_sample_size, settings.seed).dropna(subset=targets)
    if len(sample) <= settings.knn_neighbors:
        raise ValueError(f"knn imputation needs more than {settings.knn_neighbors} rows with {targets} present")
    imputer = KNNImputer(n_neighbors=settings.knn_neighbors).fit(sample.to_numpy())
    integral = {c for c in targets if isinstance(types[c], INTEGRAL)}

    def fill(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for batch in batches:
            missing = batch[targets].isna().any(axis=1)
            if missing.any():
                filled = imputer.transform(batch.loc[missing, columns].astype("float64").to_numpy())
                for index, column in enumerate(columns):
                    if column in targets:
                        values = filled[:, index]
                        batch.loc[missing, column] = np.round(values) if column in integral else values
            yield batch

    return frame.mapInPandas(fill, schema=frame.schema)  # type: ignore[arg-type]


def _winsorize(frame: DataFrame, bounds: dict[str, list[float]],
               types: dict[str, T.DataType]) -> tuple[DataFrame, list[tuple[str, str, int]]]:
    columns = [c for c in bounds if c in types]
    if not columns:
        return frame.withColumn("capped_columns", F.array().cast("array<string>")), []
    probabilities = sorted({p for column in columns for p in bounds[column]})
    quantiles = dict(zip(columns, frame.approxQuantile(columns, probabilities, 0.001), strict=True))  # one pass
    limits = {c: (quantiles[c][probabilities.index(bounds[c][0])], quantiles[c][probabilities.index(bounds[c][1])])
              for c in columns}
    outside = {c: (F.col(c) < low) | (F.col(c) > high) for c, (low, high) in limits.items()}
    counts = frame.agg(*[F.count_if(condition).alias(c) for c, condition in outside.items()]).first()
    assert counts is not None
    capped_columns = F.array_compact(F.array(*[F.when(cond, F.lit(c)) for c, cond in outside.items()]))
    flagged = frame.withColumn("capped_columns", capped_columns)
    # when/otherwise, not least(greatest(...)): those skip nulls, and an undefined value (the
    # order value of a customer who never bought) would become the lower bound.
    capped = flagged.withColumns({
        c: F.when(F.col(c) < low, F.lit(low)).when(F.col(c) > high, F.lit(high)).otherwise(F.col(c)).cast(types[c])
        for c, (low, high) in limits.items()
    })
    entries = [(c, f"capped to [{limits[c][0]:g}, {limits[c][1]:g}] (quantiles {bounds[c][0]:g}-{bounds[c][1]:g})",
                int(counts[c])) for c in columns]
    return capped, entries


def _isolation_forest(frame: DataFrame, settings: FeatureSettings) -> DataFrame:
    from sklearn.ensemble import IsolationForest

    columns = settings.outlier_features
    sample = _sample(frame, columns, settings.model_sample_size, settings.seed)
    medians = sample.median(numeric_only=True).fillna(0.0)
    forest = IsolationForest(contamination=settings.outlier_contamination, random_state=settings.seed, n_estimators=200)
    forest.fit(sample.fillna(medians).to_numpy())
    schema = T.StructType([*frame.schema.fields, T.StructField("outlier_score", T.DoubleType()),
                           T.StructField("is_outlier", T.BooleanType())])

    def score(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for batch in batches:
            values = batch[columns].astype("float64").fillna(medians).to_numpy()
            batch["outlier_score"] = -forest.score_samples(values) if len(batch) else []  # higher = stranger
            batch["is_outlier"] = forest.predict(values) == -1 if len(batch) else []
            yield batch

    return frame.mapInPandas(score, schema=schema)  # type: ignore[arg-type]


def flag_count(frame: DataFrame, column: Column) -> int:
    return int(frame.agg(F.count_if(column)).first()[0])  # type: ignore[index]
