"""What an incremental run reads from the last run, and the golden records it refreshes.

The last run's state (every record's matching values and block keys, the scored pairs and the
crosswalk) is read through the run's :class:`~custseg.resolve.workspace.Workspace`; records
whose input row hashes as it did keep their stored matching values, and only the others are
standardized again.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyspark import StorageLevel
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from custseg.config.model import ResolveSettings
from custseg.errors import InputDataError
from custseg.resolve.broadcast import broadcast_if_small
from custseg.resolve.golden_input import golden_from_input
from custseg.resolve.identities import input_node, prepare_identities, raw_hash, record_node, with_pair_nodes
from custseg.resolve.incremental import PreviousState
from custseg.resolve.stable_ids import CarriedIds
from custseg.resolve.workspace import Workspace

STATE_TABLES = ("resolution_identities", "resolution_block_keys", "match_pairs", "identity_crosswalk")


def require_state(tables: Workspace) -> None:
    """Stop an incremental run when no earlier run left its state (a job calls it before it
    looks for the saved model, so that the missing state is the cause named)."""
    missing = [t for t in STATE_TABLES if not tables.table_exists(t)]
    if missing:
        raise InputDataError(f"resolve --incremental needs the state of an earlier resolve run (missing {missing}); "
                             "run `custseg resolve` once in full first")


def read_previous_state(tables: Workspace) -> PreviousState:
    require_state(tables)
    keys = tables.read("resolution_block_keys")
    if keys.schema["block"].dataType != T.LongType():
        raise InputDataError("resolve --incremental: resolution_block_keys holds its block keys as text, as written "
                             "before they were stored as 64-bit ids; run `custseg resolve` once in full to rewrite "
                             "the state")
    pairs = with_pair_nodes(tables.read("match_pairs")).withColumn("label", F.lit(None).cast("boolean"))
    crosswalk = tables.read("identity_crosswalk").select(
        record_node(F.col("source"), F.col("record_id")).alias("node"), F.col("cluster_node").alias("component"),
        F.col("min_link_probability").alias("weakest_link"))
    return PreviousState(tables.read("resolution_identities"), keys, pairs, crosswalk)


@dataclass
class ReusedIdentities:
    """An incremental run's identities: a record whose raw values and settings are as last run
    keeps its stored matching values; only the others are standardized."""

    identities: DataFrame
    input_records: int           # the input's records with an id
    standardized: DataFrame      # node: the records standardized (new, or whose input row changed)
    differing: DataFrame | None  # node: those and the stored records gone; every other is as stored


def reuse_identities(frame: DataFrame, previous: DataFrame, settings: ResolveSettings, source_name: str,
                     default_region: str) -> ReusedIdentities:
    """Identities for an incremental run, standardizing only the records whose raw values or
    settings changed since the last run (the phone parser, a Python UDF, is the costliest step
    of reading the input)."""
    record_id = F.col(settings.column_names["record_id"])
    if "raw_hash" not in previous.columns:  # a state without raw hashes: nothing to compare, so all is standardized
        identities = prepare_identities(frame, settings, source_name, default_region) \
            .persist(StorageLevel.MEMORY_AND_DISK)
        return ReusedIdentities(identities, frame.filter(record_id.isNotNull()).count(), identities.select("node"),
                                None)
    # Narrow and computed once: the input's rows are read again only to pick the records
    # that changed.
    current = frame.filter(record_id.isNotNull()).select(
        input_node(settings, source_name).alias("node"), raw_hash(settings, default_region).alias("raw_hash")
    ).checkpoint(eager=True)
    # One join of the hashes tells both sides: the input's records to standardize (new, or
    # hashing otherwise) and the stored ones to drop (deleted, or hashing otherwise).
    hashing_otherwise = F.col("raw_hash").isNull() | F.col("stored_hash").isNull() \
        | (F.col("raw_hash") != F.col("stored_hash"))
    compared = current.join(previous.select("node", F.col("raw_hash").alias("stored_hash")), "node", "full") \
        .filter(hashing_otherwise).checkpoint(eager=True)
    stale = compared.filter(F.col("raw_hash").isNotNull()).select("node").distinct().checkpoint(eager=True)
    stale_nodes = broadcast_if_small(stale.withColumnRenamed("node", "__stale_node"))
    stale_rows = frame.filter(record_id.isNotNull()) \
        .join(stale_nodes, input_node(settings, source_name) == F.col("__stale_node"), "left_semi")
    # Stored, as every step reads the identities; the rows kept are read from the state where
    # needed (a scan of its columns), which costs less than storing a million rows again.
    fresh = prepare_identities(stale_rows, settings, source_name, default_region).checkpoint(eager=True)
    # The stored rows replaced are usually few next to the state: then dropped by a scan, not
    # a shuffle of it (a changed setting replaces them all).
    replaced = compared.filter(F.col("stored_hash").isNotNull()).select("node")
    kept = previous.join(broadcast_if_small(replaced), "node", "left_anti")
    return ReusedIdentities(kept.select(*fresh.columns).unionByName(fresh), current.count(), stale,
                            compared.select("node"))


def refreshed_golden_records(frame: DataFrame, settings: ResolveSettings, crosswalk: DataFrame, ids: CarriedIds,
                             stale: DataFrame, stored_master: DataFrame, source_name: str) -> DataFrame:
    """customer_master rows of an incremental run. It rebuilds the golden records of the
    customers whose cluster it rebuilt or who hold a record whose input row changed (a golden
    record is made of display values, which can change while the matching values do not), and
    keeps the stored row of every other customer: their records and values are as before."""
    edited = crosswalk.join(F.broadcast(stale), record_node(F.col("source"), F.col("record_id")) == F.col("node"),
                            "left_semi")
    refreshed = ids.assigned.select("customer_id").unionByName(edited.select("customer_id")).distinct()
    # The records of the customers rebuilt: few next to the input, so each input row is
    # matched to them by a broadcast join, not a shuffle of the whole input.
    records = F.broadcast(crosswalk.join(F.broadcast(refreshed), "customer_id", "left_semi").checkpoint(eager=True))
    rebuilt = golden_from_input(frame, settings, records, source_name)
    # Every other customer keeps its row; an id that left the crosswalk was an id of a
    # recomputed cluster, so dropping those ids drops every retired customer too.
    replaced = refreshed if ids.previous is None \
        else refreshed.unionByName(ids.previous.select("customer_id")).distinct()
    kept = stored_master.join(F.broadcast(replaced), "customer_id", "left_anti")
    return rebuilt.unionByName(kept.select(*rebuilt.columns))
