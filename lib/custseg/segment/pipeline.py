"""The segmentation model as one Spark ML pipeline of built-in stages.

cast and log(1 + x) (SQLTransformer) -> median imputation (Imputer) -> VectorAssembler ->
scaler (standard, min-max or robust) -> bisecting k-means or k-means. Only built-in stages,
so the fitted PipelineModel saves and reloads through Spark's own writers and scores new
customers exactly as it scored the training data.
"""

from __future__ import annotations

from pyspark.ml import Pipeline, PipelineModel, Transformer
from pyspark.ml.clustering import BisectingKMeans, KMeans
from pyspark.ml.feature import Imputer, MinMaxScaler, RobustScaler, SQLTransformer, StandardScaler, VectorAssembler

from custseg.config.model import SegmentSettings

SCALED = "features_scaled"
PREDICTION = "segment_id"


def input_column(feature: str) -> str:
    return f"{feature}__in"


def preprocessing(settings: SegmentSettings) -> Pipeline:
    """Stages from raw customer_features columns to the scaled feature vector."""
    prepared = ", ".join(
        f"LOG1P(GREATEST(CAST({f} AS DOUBLE), 0D)) AS {input_column(f)}" if f in settings.log_features
        else f"CAST({f} AS DOUBLE) AS {input_column(f)}"
        for f in settings.features
    )
    inputs = [input_column(f) for f in settings.features]
    imputed = [f"{c}_imputed" for c in inputs]
    scaler_class = {"standard": StandardScaler, "minmax": MinMaxScaler, "robust": RobustScaler}[settings.scaler]
    scaler = scaler_class(inputCol="features_raw", outputCol=SCALED)
    if settings.scaler == "standard":
        # Scale without centring. Spark's bisecting k-means seeds each split at
        # centre +/- 1e-4 * |centre| * noise, so data centred on the origin never splits;
        # k-means distances do not change under translation, so nothing is lost.
        scaler.setWithMean(False).setWithStd(True)
    return Pipeline(stages=[
        SQLTransformer(statement=f"SELECT *, {prepared} FROM __THIS__"),
        Imputer(inputCols=inputs, outputCols=imputed, strategy="median"),
        VectorAssembler(inputCols=imputed, outputCol="features_raw", handleInvalid="error"),
        scaler,
    ])


def clusterer(settings: SegmentSettings, k: int) -> BisectingKMeans | KMeans:
    if settings.algorithm == "kmeans":
        return KMeans(k=k, seed=settings.seed, maxIter=settings.max_iterations, featuresCol=SCALED,
                      predictionCol=PREDICTION, initMode="k-means||")
    return BisectingKMeans(k=k, seed=settings.seed, maxIter=settings.max_iterations, featuresCol=SCALED,
                           predictionCol=PREDICTION)


def full_model(preprocessing_model: PipelineModel, cluster_model: Transformer) -> PipelineModel:
    """One PipelineModel from the fitted preprocessing and the chosen clustering model."""
    return PipelineModel(stages=[*preprocessing_model.stages, cluster_model])
