"""The segmentation model as one Spark ML pipeline.

numeric: cast and log(1 + x) (SQLTransformer) -> median imputation (Imputer);
categories: mode imputation -> StringIndexer + OneHotEncoder, or frequency encoding for
high-cardinality columns; then VectorAssembler -> scaler (standard, min-max or robust) ->
PCA keeping the fewest components that retain ``pca_variance_share`` of the variance ->
bisecting k-means or k-means (customers to their nearest centre). The custom stages
(custseg.ml) carry their fitted state in Params, so the PipelineModel saves and reloads
with Spark's own readers and scores new customers exactly as it scored the training data.
"""

from __future__ import annotations

from pyspark.ml import Estimator, Pipeline, PipelineModel, Transformer
from pyspark.ml.feature import (
    Imputer,
    MinMaxScaler,
    OneHotEncoder,
    RobustScaler,
    SQLTransformer,
    StandardScaler,
    StringIndexer,
    VectorAssembler,
)

from custseg.config.model import SegmentSettings
from custseg.ml import (
    CategoryModeImputer,
    FrequencyEncoder,
    NearestCentreBisectingKMeans,
    NearestCentreKMeans,
    VariancePCA,
)

SCALED = "features_scaled"
COMPONENTS = "features_pca"
PREDICTION = "cluster_index"   # the clusterer's own numbering; SegmentLabeler maps it to stable ids


def model_input(settings: SegmentSettings) -> str:
    """The vector column the clusterer reads."""
    return COMPONENTS if settings.pca_variance_share is not None else SCALED


def input_column(feature: str) -> str:
    return f"{feature}__in"


def preprocessing(settings: SegmentSettings) -> Pipeline:
    """Stages from raw customer_features columns to the vector the clusterer reads."""
    prepared = ", ".join(
        f"{_log1p_of_non_negative(f)} AS {input_column(f)}" if f in settings.log_features
        else f"CAST({f} AS DOUBLE) AS {input_column(f)}"
        for f in settings.features
    )
    inputs = [input_column(f) for f in settings.features]
    imputed = [f"{c}_imputed" for c in inputs]
    categories = [*settings.categorical_features, *settings.frequency_features]
    filled = [f"{c}__filled" for c in categories]
    one_hot = [f"{c}__filled" for c in settings.categorical_features]
    indexed = [f"{c}__index" for c in settings.categorical_features]
    encoded = [f"{c}__onehot" for c in settings.categorical_features]
    shares = [f"{c}__share" for c in settings.frequency_features]
    scaler_class = {"standard": StandardScaler, "minmax": MinMaxScaler, "robust": RobustScaler}[settings.scaler]
    scaler = scaler_class(inputCol="features_raw", outputCol=SCALED)
    if settings.scaler == "standard":
        # Scale without centring. Spark's bisecting k-means seeds each split at
        # centre +/- 1e-4 * |centre| * noise, so data centred on the origin never splits;
        # k-means distances do not change under translation, so nothing is lost.
        scaler.setWithMean(False).setWithStd(True)
    stages: list[Estimator | Transformer] = [
        SQLTransformer(statement=f"SELECT *, {prepared} FROM __THIS__"),
        Imputer(inputCols=inputs, outputCols=imputed, strategy="median"),
    ]
    if categories:
        stages.append(CategoryModeImputer(inputCols=categories, outputCols=filled))
    if settings.categorical_features:
        stages += [StringIndexer(inputCols=one_hot, outputCols=indexed, handleInvalid="keep",
                                 stringOrderType="frequencyDesc"),
                   OneHotEncoder(inputCols=indexed, outputCols=encoded, handleInvalid="keep", dropLast=True)]
    if settings.frequency_features:
        stages.append(FrequencyEncoder(inputCols=[f"{c}__filled" for c in settings.frequency_features],
                                       outputCols=shares))
    stages += [VectorAssembler(inputCols=[*imputed, *encoded, *shares], outputCol="features_raw",
                               handleInvalid="error"),
               scaler]
    if settings.pca_variance_share is not None:
        stages.append(VariancePCA(inputCol=SCALED, outputCol=COMPONENTS, varianceShare=settings.pca_variance_share))
    return Pipeline(stages=stages)


def _log1p_of_non_negative(feature: str) -> str:
    """log(1 + x) with negatives clipped to 0, as SQL. A null stays null, so the Imputer fills
    it with the median: GREATEST(x, 0) would skip the null and turn a customer who never
    bought (no recency) into one who bought today."""
    value = f"CAST({feature} AS DOUBLE)"
    return f"LOG1P(IF({value} < 0D, 0D, {value}))"


def clusterer(settings: SegmentSettings, k: int) -> NearestCentreBisectingKMeans | NearestCentreKMeans:
    """k-means, or bisecting k-means, whose customers go to their nearest centre (see
    custseg.ml.clustering for why not Spark's own tree-walking assignment); fitted on the driver
    up to ``sample_size`` rows, in Spark beyond."""
    estimator = NearestCentreKMeans if settings.algorithm == "kmeans" else NearestCentreBisectingKMeans
    return estimator(k=k, seed=settings.seed, maxIter=settings.max_iterations, featuresCol=model_input(settings),
                     predictionCol=PREDICTION, restarts=settings.restarts, driverRows=settings.sample_size)


def full_model(preprocessing_model: PipelineModel, cluster_model: Transformer, *labeler: Transformer) -> PipelineModel:
    """One PipelineModel from the fitted preprocessing, the chosen clustering model and the
    stage that labels its clusters with stable segment ids and names."""
    return PipelineModel(stages=[*preprocessing_model.stages, cluster_model, *labeler])


def matching_column(feature: str) -> str:
    """The column holding a model feature after the log transform and imputation: the space
    where segment centres are compared across runs (it does not depend on the fitted scaler)."""
    return f"{input_column(feature)}_imputed"
