"""Segmentation: a Spark ML pipeline, k chosen and validated, named segment profiles."""

from custseg.segment.pipeline import PREDICTION, SCALED, clusterer, full_model, preprocessing
from custseg.segment.profiles import name_segments, profile_segments
from custseg.segment.selection import KResult, Sample, choose, draw_sample, evaluate_k_range

__all__ = ["KResult", "PREDICTION", "SCALED", "Sample", "choose", "clusterer", "draw_sample", "evaluate_k_range",
           "full_model", "name_segments", "preprocessing", "profile_segments"]
