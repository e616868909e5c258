"""Keep erased persons out: raw rows carrying an identifier in `erasure_log` are dropped at ingest.

The log holds keyed hashes only, so each incoming row's identifiers (found by the same probes an
erasure uses) are hashed with the same key and semi-joined with the log's hashes, broadcast: the
log is not collected, whatever its size. Rejected rows have no columns yet; their raw text is
split into words and each word is tried as every kind of identifier.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from custseg.catalog import TableSpec
from custseg.governance.keys import hmac_column, load_key, normalized
from custseg.governance.subjects import probes
from custseg.runtime import JobContext
from custseg.tables.governance import ERASURE_LOG

_ROW = ("source_file", "source_line")  # identifies a raw row in bronze and in rejects
_WORD_KINDS = ("record_id", "email", "order", "customer")


@dataclass
class ErasedFilter:
    """Drops the rows of erased persons from raw frames."""

    hashes: DataFrame  # one column: key_hash
    key: bytes

    def drop_erased(self, frame: DataFrame, spec: TableSpec) -> DataFrame:
        """``frame`` (a bronze table's rows, with source_file and source_line) without erased rows."""
        keyed = [p.keyed() for p in probes(spec) if not p.is_array]
        if not keyed:
            return frame
        return self._drop(frame, F.array(*[hmac_column(k, self.key) for k in keyed]))

    def drop_erased_text(self, frame: DataFrame, text_column: str, source: str) -> DataFrame:
        """Rejected rows of ``source`` without those whose raw text names an erased identifier."""
        words = F.filter(F.split(normalized(F.col(text_column)), r"[^a-z0-9@._+\-]+"), lambda w: F.length(w) > 0)
        kinds = [F.lit(f"{kind}:") for kind in _WORD_KINDS]
        hashed = F.flatten(F.transform(words, lambda w: F.array(
            *[hmac_column(F.concat(k, w), self.key) for k in kinds],
            hmac_column(F.concat(F.lit(f"record:{source.lower()}:"), w), self.key),
        )))
        return self._drop(frame, F.coalesce(hashed, F.array().cast("array<string>")))

    def drop_erased_columns(self, frame: DataFrame, kinds: dict[str, str]) -> DataFrame:
        """``frame`` without rows whose column ``name`` holds an erased identifier of kind ``kinds[name]``
        (a table or file of any shape, e.g. resolve's own input)."""
        for name, kind in sorted(kinds.items()):
            hashed = hmac_column(F.concat(F.lit(f"{kind}:"), normalized(F.col(name))), self.key)
            erased = F.broadcast(self.hashes.select(F.col("key_hash").alias("_erased_key")))
            frame = (frame.withColumn("_erased_key", hashed)
                     .join(erased, on="_erased_key", how="left_anti").drop("_erased_key"))
        return frame

    def _drop(self, frame: DataFrame, hashes: Column) -> DataFrame:
        found = (
            frame.select(*_ROW, F.explode(hashes).alias("key_hash"))
            .join(F.broadcast(self.hashes), on="key_hash", how="left_semi")
            .select(*_ROW).distinct()
        )
        return frame.join(found, on=list(_ROW), how="left_anti").select(*frame.columns)


def erased_filter(ctx: JobContext) -> ErasedFilter | None:
    """The filter of this run, or None when nobody was ever erased (nothing to pay for)."""
    if not ctx.table_exists(ERASURE_LOG.name) or ctx.store.row_count(ctx.catalog.path(ERASURE_LOG.name)) == 0:
        return None
    key = load_key(ctx.config)
    return ErasedFilter(ctx.read(ERASURE_LOG.name).select("key_hash").distinct(), key)
