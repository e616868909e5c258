"""Packaging for custseg: customer segmentation job suite on Apache Spark."""
from pathlib import Path

from setuptools import find_namespace_packages, setup

HERE = Path(__file__).parent
VERSION = (HERE / "lib" / "custseg" / "VERSION").read_text(encoding="utf-8").strip()

# Ranges here; exact, tested-together pins live in requirements/constraints.txt and the
# Makefile installs with them. pyspark and delta-spark must move as a matched pair.
INSTALL_REQUIRES = [
    "pyspark>=4.1,<4.2",
    "delta-spark>=4.4,<4.5",
    "deltalake>=1.6,<1.7",
    "pyarrow>=18",
    "pandas>=2.2,<3",  # pandas 3 breaks pyspark.pandas and pyspark.testing on Spark 4.1
    "numpy>=1.26",
    "PyYAML>=6,<7",
    "phonenumbers>=8.13",
    "pycountry>=24",  # ISO 3166 country codes and names
    "rapidfuzz>=3.6",
    "scikit-learn>=1.5",  # kNN imputation and isolation forest, fitted on a bounded sample
    "scipy>=1.11",  # optimal matching of segment centres across runs
    "psutil>=5.9",  # physical memory for spark.driver_memory=auto; process memory in the bench
    "protobuf>=5",  # Spark's stateful Python API (transformWithStateInPandas) in the stream job
    "Jinja2>=3.1,<4",  # HTML report templates
]

EXTRAS_REQUIRE = {
    # Tracking of propensity runs (propensity.mlflow); the skinny client needs no server and works
    # offline with a file store.
    "mlflow": ["mlflow-skinny>=3.17,<4"],
    "dev": [
        "pytest>=9,<10",
        "pytest-xdist>=3.6",  # `make test ARGS="-n 2 --dist loadfile"` on machines with cores to spare
        "chispa>=0.12,<0.13",
        "hypothesis>=6.100",
        "duckdb==1.4.4",  # the offline delta extension below is built for exactly this version
        "duckdb-ext-delta==1.4.4.20260205",
        "mypy>=1.10",
        "ruff>=0.6",
        "websocket-client>=1.8",  # drives headless Chromium over the DevTools protocol in the report tests
    ],
    "notebook": [
        "jupyterlab>=4.2,<5",
        "ipykernel>=6.29",
        "jupytext>=1.16",
        "nbclient>=0.10",
        "nbformat>=5.10",
        "matplotlib>=3.9",
    ],
}

setup(
    name="custseg",
    version=VERSION,
    description="Customer data to versioned customer segments, on Apache Spark and Delta Lake",
    long_description=(HERE / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.11,<3.12",
    package_dir={"": "lib"},
    packages=find_namespace_packages("lib", include=["custseg", "custseg.*"]),
    package_data={"custseg": ["VERSION", "py.typed"], "custseg.resources.spark": ["*.properties"],
                  "custseg.report": ["templates/*.j2"]},
    include_package_data=True,
    install_requires=INSTALL_REQUIRES,
    extras_require=EXTRAS_REQUIRE,
    entry_points={"console_scripts": ["custseg=custseg.cli:main"]},
    classifiers=[
        "Programming Language :: Python :: 3.11",
        "License :: OSI Approved :: Apache Software License",
    ],
)
