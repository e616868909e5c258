# ---
# jupyter:
#   jupytext:
#     formats: py:percent
# ---

# %% [markdown]
# # Explore the segments
# Reads the latest tables written by `make run` (or any run: set `STORAGE_ROOT`) through the
# same SparkSession builder and table store as the jobs, and shows the segments, their
# profiles, how they relate to the rule-based segments, and the recent runs.

# %% tags=["parameters"]
import os

ENV = os.environ.get("CUSTSEG_ENV", "local")
STORAGE_ROOT = os.environ.get("CUSTSEG_STORAGE_ROOT")  # None: the configured storage.root

# %%
import pandas as pd
from pyspark.sql import functions as F

from custseg.catalog import Catalog
from custseg.config import load_config
from custseg.runtime import table_store
from custseg.session import build_spark_session

config = load_config(env=ENV, overrides=[f"storage.root={STORAGE_ROOT}"] if STORAGE_ROOT else [])
spark = build_spark_session(config, app_name="custseg-notebook")
store, catalog = table_store(spark, config), Catalog(config)


def table(name: str):
    return store.read(catalog.path(name))


# %% [markdown]
# ## Segment sizes and profiles (small tables: one row per segment)

# %%
profiles = table("segment_profiles").orderBy(F.col("customers").desc()).toPandas()
rows = []
for profile in profiles.itertuples():
    stats = {s["feature"]: s for s in profile.feature_stats}
    rows.append({"segment": profile.segment_name, "customers": profile.customers, "share": round(profile.share, 3),
                 # A median is null where no customer of the segment has the feature
                 # (recency of customers who never bought).
                 **{f"{f} (median)": None if s["median"] is None else round(s["median"], 1) for f, s in stats.items()}})
print(pd.DataFrame(rows).to_string(index=False))

# %% [markdown]
# ## ML segments against lifecycle stages (aggregated in Spark, small result)

# %%
crosstab = table("customer_segments").groupBy("segment_name").pivot("lifecycle_stage").count().fillna(0)
print(crosstab.toPandas().set_index("segment_name").to_string())

# %% [markdown]
# ## How k was chosen in the latest segment run

# %%
runs = table("segmentation_runs")
latest = runs.agg(F.max_by("run_id", "k")).first()[0]
print(runs.filter(F.col("run_id") == latest).orderBy("k").select("k", "silhouette", "smallest_share", "eligible", "chosen").toPandas().to_string(index=False))

# %% [markdown]
# ## Recent job runs

# %%
print(table("job_runs").orderBy(F.col("started_at").desc()).limit(10)
      .select("job", "status", "started_at", "duration_seconds").toPandas().to_string(index=False))
