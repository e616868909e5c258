"""Custom Spark ML stages (persistable, with Params)."""

from custseg.ml.clustering import NearestCentreBisectingKMeans, NearestCentreKMeans, NearestCentreModel
from custseg.ml.stages import (
    CategoryModeImputer,
    CategoryModeImputerModel,
    FrequencyEncoder,
    FrequencyEncoderModel,
    SegmentLabeler,
    VariancePCA,
    components_for_share,
)

__all__ = ["CategoryModeImputer", "CategoryModeImputerModel", "FrequencyEncoder", "FrequencyEncoderModel",
           "NearestCentreBisectingKMeans", "NearestCentreKMeans", "NearestCentreModel", "SegmentLabeler", "VariancePCA",
           "components_for_share"]
