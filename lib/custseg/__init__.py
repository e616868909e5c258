"""custseg: raw customer data to trustworthy, versioned customer segments, on Spark.

Entry points for jobs, notebooks and tests: ``load_config``, ``build_spark_session`` and
``custseg.jobs.<stage>.run(spark, config)``.
"""

import importlib.resources

# importlib.resources also reads from the zip that spark-submit ships with --py-files. Imported
# as a module, so the name ``files`` stays free for the submodule custseg.files.
__version__ = importlib.resources.files("custseg").joinpath("VERSION").read_text(encoding="utf-8").strip()

__all__ = ["__version__"]
