"""custseg: raw customer data to trustworthy, versioned customer segments, on Spark.

Entry points for jobs, notebooks and tests: ``load_config``, ``build_spark_session`` and
``custseg.jobs.<stage>.run(spark, config)``.
"""

from pathlib import Path

__version__ = (Path(__file__).parent / "VERSION").read_text(encoding="utf-8").strip()

__all__ = ["__version__"]
