"""Spark ML stages that Spark lacks, with Params, so they persist inside a PipelineModel.

- ``CategoryModeImputer``: fills missing category values with the training mode.
- ``FrequencyEncoder``: replaces a high-cardinality category by its share of the training rows
  (unseen and missing values become 0), one number instead of thousands of one-hot columns.
- ``VariancePCA``: principal components, as few as retain a given share of the variance.
  It fits Spark's own ``PCA`` and returns its ``PCAModel``, which persists natively.
- ``SegmentLabeler``: the clusterer's run-local cluster index -> the stable segment id, its
  name, and its parent segment, so a reloaded model writes the same labels the run wrote.

The fitted category statistics are small (one entry per distinct value) and are stored as a
JSON Param, so the default Params writer saves them with the pipeline and reloading needs no
custom reader.
"""

from __future__ import annotations

import json
from typing import Any

from pyspark.ml import Estimator, Model
from pyspark.ml.feature import PCA, PCAModel
from pyspark.ml.functions import vector_to_array
from pyspark.ml.param import Param, Params, TypeConverters
from pyspark.ml.param.shared import HasInputCol, HasInputCols, HasOutputCol, HasOutputCols
from pyspark.ml.util import DefaultParamsReadable, DefaultParamsWritable
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from custseg.columns import lookup

MAX_CATEGORIES = 100_000  # fitted statistics live in a Param: bounded, or use hashing instead


def _set_given(stage: Params, **values: Any) -> None:
    stage._set(**{name: value for name, value in values.items() if value is not None})


class _ColumnsStage(HasInputCols, HasOutputCols, DefaultParamsReadable, DefaultParamsWritable):  # type: ignore[misc]
    """A stage mapping inputCols to outputCols one to one; persisted by the default Params writer."""

    def __init__(self, *, inputCols: list[str] | None = None, outputCols: list[str] | None = None) -> None:
        super().__init__()
        _set_given(self, inputCols=inputCols, outputCols=outputCols)


class _HasCategoryStats(Params):
    statistics = Param(Params._dummy(), "statistics", "JSON: {column: {value: statistic}} learnt by fit",
                       typeConverter=TypeConverters.toString)

    def category_statistics(self) -> dict[str, dict[str, Any]]:
        return json.loads(self.getOrDefault(self.statistics))  # type: ignore[no-any-return]


def _lookup(column: str, table: dict[str, Any]) -> Column:
    if not table:
        return F.lit(None)
    return lookup(dict(sorted(table.items())), F.col(column).cast("string"))  # null for a value not in the map


def _category_counts(dataset: DataFrame, column: str) -> dict[str, int]:
    counts = dataset.groupBy(F.col(column).cast("string").alias("value")).count().filter(F.col("value").isNotNull())
    rows = counts.limit(MAX_CATEGORIES + 1).collect()  # bounded: a category statistic, not data
    if len(rows) > MAX_CATEGORIES:
        raise ValueError(f"column {column} has more than {MAX_CATEGORIES} distinct values; "
                         "too many to encode by category")
    return {r.value: int(r["count"]) for r in rows}


class CategoryModeImputer(_ColumnsStage, Estimator):  # type: ignore[misc]
    """Missing values of string columns -> the most frequent value seen in training (ties: smallest)."""

    def _fit(self, dataset: DataFrame) -> CategoryModeImputerModel:
        modes = {}
        for column in self.getInputCols():
            counts = _category_counts(dataset, column)
            modes[column] = min(counts.items(), key=lambda kv: (-kv[1], kv[0]))[0] if counts else None
        model = CategoryModeImputerModel(inputCols=self.getInputCols(), outputCols=self.getOutputCols())
        return model._set(statistics=json.dumps(modes, sort_keys=True))


class CategoryModeImputerModel(_ColumnsStage, _HasCategoryStats, Model):  # type: ignore[misc]
    def _transform(self, dataset: DataFrame) -> DataFrame:
        modes = self.category_statistics()
        return dataset.withColumns({
            out: F.coalesce(F.col(column).cast("string"), F.lit(modes[column]).cast("string"))
            for column, out in zip(self.getInputCols(), self.getOutputCols(), strict=True)
        })


class FrequencyEncoder(_ColumnsStage, Estimator):  # type: ignore[misc]
    """Each category -> its share of the training rows (a double in [0, 1])."""

    def _fit(self, dataset: DataFrame) -> FrequencyEncoderModel:
        total = dataset.count()
        shares = {}
        for column in self.getInputCols():
            shares[column] = {value: count / total for value, count in _category_counts(dataset, column).items()}
        model = FrequencyEncoderModel(inputCols=self.getInputCols(), outputCols=self.getOutputCols())
        return model._set(statistics=json.dumps(shares, sort_keys=True))


class FrequencyEncoderModel(_ColumnsStage, _HasCategoryStats, Model):  # type: ignore[misc]
    def _transform(self, dataset: DataFrame) -> DataFrame:
        shares = self.category_statistics()
        return dataset.withColumns({
            out: F.coalesce(_lookup(column, shares[column]).cast("double"), F.lit(0.0))
            for column, out in zip(self.getInputCols(), self.getOutputCols(), strict=True)
        })


class VariancePCA(Estimator, HasInputCol, HasOutputCol, DefaultParamsReadable, DefaultParamsWritable):  # type: ignore[misc]
    """PCA keeping the fewest components whose explained variance reaches ``varianceShare``."""

    varianceShare = Param(Params._dummy(), "varianceShare", "share of the variance to retain, in (0, 1]",
                          typeConverter=TypeConverters.toFloat)

    def __init__(self, *, inputCol: str | None = None, outputCol: str | None = None,
                 varianceShare: float = 0.9) -> None:
        super().__init__()
        self._setDefault(varianceShare=0.9)
        _set_given(self, inputCol=inputCol, outputCol=outputCol, varianceShare=varianceShare)

    def getVarianceShare(self) -> float:
        return float(self.getOrDefault(self.varianceShare))

    def _fit(self, dataset: DataFrame) -> PCAModel:
        share = self.getVarianceShare()
        if not 0.0 < share <= 1.0:
            raise ValueError(f"varianceShare must be in (0, 1], got {share}")
        first = dataset.select(F.size(vector_to_array(F.col(self.getInputCol()))).alias("n")).first()
        if first is None:
            raise ValueError("VariancePCA: cannot fit on an empty dataset")
        width = int(first.n)
        everything = PCA(k=width, inputCol=self.getInputCol(), outputCol=self.getOutputCol()).fit(dataset)
        k = components_for_share(list(everything.explainedVariance.toArray()), share)
        if k == width:
            return everything
        return PCA(k=k, inputCol=self.getInputCol(), outputCol=self.getOutputCol()).fit(dataset)


def components_for_share(explained: list[float], share: float) -> int:
    """The fewest leading components whose explained variance ratios sum to at least ``share``."""
    total = 0.0
    for index, ratio in enumerate(explained, start=1):
        total += ratio
        if total >= share - 1e-12:
            return index
    return len(explained)


SEGMENT_LABELS = ("segment_id", "segment_name", "parent_segment_id", "parent_segment_name")


class SegmentLabeler(HasInputCol, DefaultParamsReadable, DefaultParamsWritable, Model):  # type: ignore[misc]
    """Adds segment_id, segment_name, parent_segment_id and parent_segment_name from the cluster index."""

    labels = Param(Params._dummy(), "labels", "JSON: {cluster index: {segment_id, segment_name, parent_segment_id, "
                   "parent_segment_name}}", typeConverter=TypeConverters.toString)

    def __init__(self, *, inputCol: str | None = None, labels: dict[int, dict[str, Any]] | None = None) -> None:
        super().__init__()
        encoded = json.dumps({str(k): v for k, v in sorted(labels.items())}) if labels else None
        _set_given(self, inputCol=inputCol, labels=encoded)

    def segment_labels(self) -> dict[int, dict[str, Any]]:
        return {int(k): v for k, v in json.loads(self.getOrDefault(self.labels)).items()}

    def _transform(self, dataset: DataFrame) -> DataFrame:
        labels = self.segment_labels()
        index = F.col(self.getInputCol()).cast("int")
        return dataset.withColumns({name: lookup({cluster: label[name] for cluster, label in labels.items()}, index)
                                    for name in SEGMENT_LABELS})
