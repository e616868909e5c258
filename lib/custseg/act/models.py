"""Propensity models: a Spark ML pipeline (segment encoding, feature vector, gradient-boosted
trees or a random forest) tuned by ``TrainValidationSplit`` over the configured grid.

Missing feature values become -1 before the trees see them: they are undefined, not unknown
(recency without an order), and a tree can split them off; every feature is a count, an amount,
a share or a ratio, so -1 is never a real value.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pyspark.ml import Pipeline, PipelineModel
from pyspark.ml.classification import GBTClassifier, RandomForestClassifier
from pyspark.ml.evaluation import BinaryClassificationEvaluator
from pyspark.ml.feature import OneHotEncoder, StringIndexer, VectorAssembler
from pyspark.ml.functions import vector_to_array
from pyspark.ml.tuning import ParamGridBuilder, TrainValidationSplit
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from custseg.act.labels import LABEL
from custseg.config.model import PropensitySettings

SCORE = "score"
MISSING = -1.0
INTEGER_PARAMS = {"maxIter", "maxDepth", "numTrees", "minInstancesPerNode"}


@dataclass
class FittedModel:
    model: PipelineModel
    best_params: dict[str, float]
    validation_auc: float | None   # None when the grid has one point (no tuning)
    importances: dict[str, float]


def with_model_inputs(frame: DataFrame, features: list[str]) -> DataFrame:
    """Feature columns as doubles with missing values set to -1 (see the module docstring)."""
    return frame.withColumns({c: F.coalesce(F.col(c).cast("double"), F.lit(MISSING)) for c in features})


def fit(train: DataFrame, settings: PropensitySettings, with_segment: bool) -> FittedModel:
    """Tune and fit one model on ``train`` (features, ``segment_id`` and ``label``)."""
    stages: list[Any] = []
    inputs = list(settings.features)
    if with_segment:
        stages += [StringIndexer(inputCol="segment_id", outputCol="segment_index", handleInvalid="keep"),
                   OneHotEncoder(inputCol="segment_index", outputCol="segment_vector", handleInvalid="keep")]
        inputs.append("segment_vector")
    classifier = _classifier(settings)
    stages += [VectorAssembler(inputCols=inputs, outputCol="features_vector"), classifier]
    grid_builder = ParamGridBuilder()
    for name, values in sorted(settings.grid.items()):
        param = classifier.getParam(name)
        grid_builder.addGrid(param, [int(v) if name in INTEGER_PARAMS else float(v) for v in values])
    grid = grid_builder.build()
    inputs_df = with_model_inputs(train, settings.features)
    if len(grid) == 1:  # nothing to choose: fit once on all the training rows
        single: PipelineModel = Pipeline(stages=stages).fit(inputs_df, grid[0])
        return FittedModel(single, {p.name: float(v) for p, v in grid[0].items()}, None,
                           importances(single, settings.features))
    evaluator = BinaryClassificationEvaluator(labelCol=LABEL, rawPredictionCol="rawPrediction")
    tuner = TrainValidationSplit(estimator=Pipeline(stages=stages), estimatorParamMaps=grid,
                                 evaluator=evaluator, trainRatio=settings.train_ratio, seed=settings.seed)
    tuned = tuner.fit(inputs_df)
    best_index = max(range(len(tuned.validationMetrics)), key=lambda i: tuned.validationMetrics[i])
    best_params = {p.name: float(v) for p, v in tuned.getEstimatorParamMaps()[best_index].items()}
    model: PipelineModel = tuned.bestModel  # type: ignore[assignment]
    return FittedModel(model, best_params, float(tuned.validationMetrics[best_index]),
                       importances(model, settings.features))


def score(model: PipelineModel, frame: DataFrame, features: list[str]) -> DataFrame:
    """``frame`` with ``score``: the model's probability of label 1."""
    scored = model.transform(with_model_inputs(frame, features))
    return scored.withColumn(SCORE, vector_to_array(F.col("probability"))[1]).drop(
        "features_vector", "rawPrediction", "probability", "prediction", "segment_index", "segment_vector")


def importances(model: PipelineModel, features: list[str]) -> dict[str, float]:
    """Feature importances by name; the one-hot segment slots add up under ``segment_id``."""
    weights = model.stages[-1].featureImportances.toArray()  # type: ignore[attr-defined]
    named = {name: float(weights[i]) for i, name in enumerate(features)}
    if len(weights) > len(features):
        named["segment_id"] = float(weights[len(features):].sum())
    return named


def _classifier(settings: PropensitySettings) -> GBTClassifier | RandomForestClassifier:
    if settings.algorithm == "gbt":
        return GBTClassifier(featuresCol="features_vector", labelCol=LABEL, seed=settings.seed)
    return RandomForestClassifier(featuresCol="features_vector", labelCol=LABEL, seed=settings.seed)
