"""Built-in sample data: messy multi-source customer data with its ground truth."""

from custseg.generate.sample import (
    SampleData,
    build_sample,
    publish_raw_files,
    stage_raw_files,
    truth_persons,
    truth_records,
)

__all__ = ["SampleData", "build_sample", "truth_persons", "truth_records", "publish_raw_files", "stage_raw_files"]
