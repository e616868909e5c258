"""Identity resolution: blocking, comparisons, the Fellegi-Sunter model, decisions, evaluation,
and the resolve job on a user's own file."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import random
from pathlib import Path

import pytest
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from custseg.catalog import Catalog
from custseg.config import Config
from custseg.config.model import BlockingRule, ResolveInput, ResolveSettings
from custseg.delta.base import CommitInfo
from custseg.errors import CustsegError, InputDataError
from custseg.jobs import resolve as resolve_job
from custseg.resolve import engine
from custseg.resolve.blocking import (
    RuleDiagnostics,
    all_block_keys,
    candidate_pairs,
    diagnose,
    enforce_budget,
    keys_rows,
)
from custseg.resolve.comparisons import LEVELS, compare
from custseg.resolve.evaluation import evaluate
from custseg.resolve.identities import prepare_identities
from custseg.resolve.incremental import changed_edges, flag_touched, stored_pair_changes, touched_records
from custseg.resolve.incremental_state import reuse_identities
from custseg.resolve.model import FellegiSunterModel, estimate_m, estimate_prior
from custseg.runtime import table_store

IDENTITY = ("source string, record_id string, first_name string, last_name string, birth_date date, email string, "
            "phone string, national_id string, street string, postcode string, city string, country string")
ROLES = ["first_name", "last_name", "birth_date", "email", "phone", "street", "postcode", "city"]


def _identities(spark: SparkSession, rows: list[tuple]):  # type: ignore[no-untyped-def, type-arg]
    frame = spark.createDataFrame(rows, IDENTITY)
    return frame.withColumn("node", F.xxhash64("source", "record_id"))


def _settings(**overrides: object) -> ResolveSettings:
    values: dict[str, object] = {
        "columns": {"record_id": "record_id", "source": "source", **{r: r for r in ROLES}},
        "blocking": [BlockingRule("email", "exact", ["email"]),
                     BlockingRule("names", "minhash", ["first_name", "last_name"], bands=30, rows=3)],
    }
    values.update(overrides)
    return ResolveSettings(**values)  # type: ignore[arg-type]


def _pairs(identities, settings: ResolveSettings, keys=None):  # type: ignore[no-untyped-def]
    """Candidate pairs as the resolve job finds them, from given or freshly computed block keys."""
    return candidate_pairs(keys or all_block_keys(identities, settings), identities, settings)


def _person(i: int, first: str, last: str, email: str | None, source: str = "crm") -> tuple:  # type: ignore[type-arg]
    return (source, f"r{i}", first, last, None, email, None, None, None, None, None, None)


def test_minhash_bands_find_similar_names_and_skip_dissimilar_ones(spark: SparkSession) -> None:
    rows = [_person(1, "jonathan", "smithson", None), _person(2, "jonathan", "smithsen", None),
            _person(3, "maria", "gonzalez", None), _person(4, "jonathan", "smithson", "a@x.com"),
            _person(5, "xavier", "quimby", "a@x.com")]
    identities = _identities(spark, rows)
    pairs = {(r.node_l, r.node_r): r.blocked_by for r in _pairs(identities, _settings()).collect()}
    node = {r.record_id: r.node for r in identities.collect()}

    def key(a: str, b: str) -> tuple[int, int]:
        return (min(node[a], node[b]), max(node[a], node[b]))

    assert pairs[key("r4", "r5")] == "email"            # shared email: first rule wins
    assert pairs[key("r1", "r4")] == "names"            # identical names
    assert key("r1", "r2") in pairs                     # one letter apart: Jaccard 0.75 at 30x3 bands
    assert key("r1", "r3") not in pairs and key("r3", "r5") not in pairs


def test_oversized_blocks_are_skipped_and_the_budget_stops_early(spark: SparkSession) -> None:
    rows = [_person(i, f"n{i}", f"m{i}", "shared@x.com") for i in range(12)] + [_person(99, "a", "b", "solo@x.com"),
                                                                                 _person(98, "c", "d", "solo@x.com")]
    settings = _settings(blocking=[BlockingRule("email", "exact", ["email"])], max_bucket_size=10)
    identities = _identities(spark, rows)
    keys = all_block_keys(identities, settings)
    (report,) = diagnose(keys, settings)
    assert (report.blocks, report.estimated_pairs, report.windowed_blocks, report.skipped_blocks,
            report.skipped_pairs) == (1, 1, 0, 1, 66)
    assert report.largest[0] == ("shared@x.com", 12)
    assert _pairs(identities, settings, keys).count() == 1
    with pytest.raises(CustsegError, match=r"about 1 candidate pairs, over resolve.pair_budget \(0\)"):
        enforce_budget([dataclasses.replace(report)], 0)


def test_a_block_over_its_window_pairs_each_record_with_its_next_neighbours_only(spark: SparkSession) -> None:
    # Twelve records share an email, in shuffled order; sorted by surname they are m00..m11.
    order = [7, 2, 11, 0, 5, 9, 1, 4, 10, 3, 8, 6]
    rows = [_person(i, "ann", f"m{i:02d}", "shared@x.com") for i in order] + [_person(90, "bo", "solo", "solo@x.com"),
                                                                             _person(91, "bo", "solo", "solo@x.com")]
    identities = _identities(spark, rows)
    node = {r.record_id: r.node for r in identities.collect()}
    settings = _settings(blocking=[BlockingRule("email", "exact", ["email"], window=3)], block_window=10)
    keys = all_block_keys(identities, settings)
    (report,) = diagnose(keys, settings)
    # 2 x 12 - 3 = 21 neighbour pairs in the windowed block, and the small block's one pair.
    assert (report.blocks, report.estimated_pairs, report.windowed_blocks, report.skipped_blocks) == (2, 22, 1, 0)
    pairs = {frozenset((r.node_l, r.node_r)) for r in _pairs(identities, settings, keys).collect()}
    neighbours = {frozenset((node[f"r{i}"], node[f"r{j}"])) for i in range(12) for j in (i + 1, i + 2) if j < 12}
    assert pairs == neighbours | {frozenset((node["r90"], node["r91"]))}
    # Ties in the sort order fall back to the record's node, so the result does not depend on input order.
    tied = _identities(spark, [_person(i, "ann", "lee", "shared@x.com") for i in range(6)])
    first = {(r.node_l, r.node_r) for r in _pairs(tied, settings).collect()}
    again = {(r.node_l, r.node_r) for r in _pairs(tied.orderBy(F.desc("node")).repartition(3), settings).collect()}
    assert first == again and len(first) == 2 * 6 - 3
    # Only pairs holding a touched record, when asked (the incremental run's question).
    touched = spark.createDataFrame([(node["r0"],)], "node bigint")
    flagged = {name: flag_touched(frame, touched) for name, frame in keys.items()}
    only = {frozenset((r.node_l, r.node_r)) for r in candidate_pairs(flagged, identities, settings).collect()}
    assert only == {p for p in neighbours if node["r0"] in p}
    with pytest.raises(ValueError, match="window must be >= 2"):
        BlockingRule("x", "exact", ["email"], window=1)


@pytest.mark.heavy
def test_an_arrival_in_a_windowed_block_touches_only_the_neighbours_whose_pairs_move(spark: SparkSession) -> None:
    # Twelve records share an email, sorted by surname m00, m02, .., m22; r50 (m11) arrives
    # between r5 (m10) and r6 (m12). With a window of 3, r4-r6 and r5-r7 lose their pair and
    # the four gain one with r50; every other pair in the block stays.
    old = [_person(i, "ann", f"m{2 * i:02d}", "shared@x.com") for i in range(12)]
    previous, current = _identities(spark, old), _identities(spark, [*old, _person(50, "ann", "m11", "shared@x.com")])
    node = {r.record_id: r.node for r in current.collect()}
    name = {v: k for k, v in node.items()}

    def touched_between(before: DataFrame, after: DataFrame, settings: ResolveSettings) -> set[str]:
        """The records touched_records names, for records that arrived in ``after`` or left ``before``."""
        arrived, left = after.join(before, "node", "left_anti"), before.join(after, "node", "left_anti")
        delta = arrived.select("node", F.lit("new").alias("state")) \
            .unionByName(left.select("node", F.lit("deleted").alias("state")))
        old_keys, new_keys = keys_rows(all_block_keys(before, settings)), keys_rows(all_block_keys(arrived, settings))
        hit = new_keys.unionByName(old_keys.join(left, "node", "left_semi")).select("rule", "block").distinct()
        touched = touched_records(old_keys, new_keys, delta.select("node"), hit, delta, after, before, settings)
        return {name[r.node] for r in touched.collect()}

    settings = _settings(blocking=[BlockingRule("email", "exact", ["email"], window=3)])
    touched = touched_between(previous, current, settings)
    assert touched == {"r4", "r5", "r6", "r7", "r50"}
    # The pairs kept (both records untouched) and those rebuilt for the touched ones are a
    # full run's pairs.
    ids = {node[t] for t in touched}
    kept = {(r.node_l, r.node_r) for r in _pairs(previous, settings).collect()
            if r.node_l not in ids and r.node_r not in ids}
    flags = spark.createDataFrame([(n,) for n in ids], "node bigint")
    rebuilt = {(r.node_l, r.node_r) for r in candidate_pairs(
        {rule: flag_touched(frame, flags) for rule, frame in all_block_keys(current, settings).items()},
        current, settings).collect()}
    assert kept | rebuilt == {(r.node_l, r.node_r) for r in _pairs(current, settings).collect()}
    # A departure: r5 leaves, r3-r6 and r4-r7 come within the window. Only those four move
    # (a deleted record's own pairs go with it).
    assert touched_between(previous, previous.filter(F.col("record_id") != "r5"), settings) == {"r3", "r4", "r6", "r7"}
    # A block that grows past its cap loses every pair: all its members are touched.
    capped = _settings(blocking=[BlockingRule("email", "exact", ["email"], window=3, max_block_size=12)])
    assert touched_between(previous, current, capped) == {f"r{i}" for i in [*range(12), 50]}


def test_only_accepted_pairs_that_changed_send_their_clusters_to_be_rebuilt(spark: SparkSession) -> None:
    pairs = "node_l long, node_r long, blocked_by string, match_probability double, decision string"
    stored = spark.createDataFrame([
        (1, 2, "email", 0.99, "match"),          # 1 is touched; the pair comes back as it was
        (1, 3, "names", 0.10, "non_match"),      # rejected before and after: 3 keeps its cluster
        (1, 4, "names", 0.95, "match"),          # accepted before, rejected now: lost
        (1, 5, "phone", 0.97, "match"),          # accepted both times, found first by another rule now
        (6, 7, "email", 0.99, "match"),          # neither end touched
        (8, 9, "decision", 0.20, "forced_match"),  # a person's pair, not decided again this run
        (11, 12, "email", 0.95, "review"),       # neither end touched; a match at today's threshold
    ], pairs)
    rescored = spark.createDataFrame([
        (1, 2, "email", 0.99, "match"), (1, 3, "names", 0.10, "non_match"), (1, 4, "names", 0.95, "non_match"),
        (1, 5, "email", 0.97, "match"), (1, 10, "names", 0.93, "match"),   # gained with a new record
    ], pairs)
    gone = spark.createDataFrame([(1,)], "node long")
    columns = {"source_l": "crm", "record_id_l": "l", "source_r": "crm", "record_id_r": "r", "levels": None,
               "contributions": None, "match_weight": 0.0, "label": None}
    stored = stored.withColumns({name: F.lit(value) for name, value in columns.items()})
    changes = stored_pair_changes(stored, gone, _settings(match_threshold=0.9), None)
    edges = {(r.node_l, r.node_r) for r in changed_edges(changes, rescored).collect()}
    assert edges == {(1, 4), (1, 5), (1, 10), (8, 9)}
    flipped = [(r.node_l, r.node_r, r.before, r.decision) for r in changes.filter(~F.col("replaced")).collect()]
    assert flipped == [(11, 12, "review", "match")]


def test_a_key_part_with_alternatives_meets_swapped_names(spark: SparkSession) -> None:
    d = dt.date(1971, 2, 3)
    rows = [("crm", "r1", "ingrid", "goldridge", d, None, None, None, None, None, None, None),
            ("web", "r2", "goldridge", "ingrid", d, None, None, None, None, None, None, None),   # swapped
            ("web", "r3", "ingrid", "goldridge", dt.date(1971, 2, 4), None, None, None, None, None, None, None),
            ("web", "r4", "ingrid", None, d, None, None, None, None, None, None, None)]          # one name is enough
    rule = BlockingRule("birth_date_name_sound", "key", parts=["value:birth_date", "soundex:first_name|last_name"])
    settings = _settings(blocking=[rule])
    identities = _identities(spark, rows)
    keys = all_block_keys(identities, settings)
    blocks = sorted((r.key.replace("\u001f", " "), r.node) for r in keys[rule.name].collect())
    node = {r.record_id: r.node for r in identities.collect()}
    assert blocks == sorted([("1971-02-03 I526", node["r1"]), ("1971-02-03 G436", node["r1"]),
                             ("1971-02-03 G436", node["r2"]), ("1971-02-03 I526", node["r2"]),
                             ("1971-02-04 I526", node["r3"]), ("1971-02-04 G436", node["r3"]),
                             ("1971-02-03 I526", node["r4"])])
    pairs = {frozenset((r.node_l, r.node_r)) for r in _pairs(identities, settings, keys).collect()}
    assert pairs == {frozenset((node[a], node[b])) for a, b in (("r1", "r2"), ("r1", "r4"), ("r2", "r4"))}
    # A block's id names its rule: another rule with the same keys has blocks of its own.
    twin = dataclasses.replace(rule, name="twin")
    both = all_block_keys(identities, _settings(blocking=[rule, twin]))
    assert {r.key for r in both["twin"].collect()} == {r.key for r in both[rule.name].collect()}
    assert {r.block for r in both["twin"].collect()}.isdisjoint({r.block for r in both[rule.name].collect()})
    with pytest.raises(ValueError, match="only one part may list alternative roles"):
        BlockingRule("x", "key", parts=["soundex:first_name|last_name", "prefix1:first_name|last_name"])


def test_the_mailbox_key_meets_one_mailbox_name_at_two_providers(spark: SparkSession) -> None:
    rows = [_person(1, "ann", "lee", "ann.lee77@mail.com"), _person(2, "anne", "lee", "annlee77@web.de"),
            _person(3, "ann", "lee", "ann_lee-77@web.de"), _person(4, "ann", "lee", "ann.lee78@mail.com"),
            _person(5, "ann", "lee", None)]
    rule = BlockingRule("email_mailbox", "key", parts=["mailbox:email"])
    settings = _settings(blocking=[rule])
    identities = _identities(spark, rows)
    node = {r.record_id: r.node for r in identities.collect()}
    keys = all_block_keys(identities, settings)
    assert sorted((r.key, r.node) for r in keys[rule.name].collect()) == sorted(
        [("annlee77", node["r1"]), ("annlee77", node["r2"]), ("annlee77", node["r3"]), ("annlee78", node["r4"])])
    pairs = {frozenset((r.node_l, r.node_r)) for r in _pairs(identities, settings, keys).collect()}
    assert pairs == {frozenset((node[a], node[b])) for a, b in (("r1", "r2"), ("r1", "r3"), ("r2", "r3"))}
    # The comparison speaks the same language: one mailbox name is its own level.
    pair_frame = spark.createDataFrame([(node["r1"], node[other]) for other in ("r2", "r4")],
                                       "node_l bigint, node_r bigint")
    levels = {r.record_id_r: r.lvl_email for r in compare(pair_frame, identities, ROLES).collect()}
    assert levels == {"r2": LEVELS["email"].index("same_mailbox_name"), "r4": LEVELS["email"].index("different")}


def test_a_rule_that_needs_one_record_without_a_birth_date_skips_dated_namesakes(spark: SparkSession) -> None:
    d = dt.date(1980, 5, 6)
    rows = [("crm", "r1", "ann", "lee", d, None, None, None, None, None, None, None),
            ("crm", "r2", "ann", "lee", dt.date(1966, 1, 2), None, None, None, None, None, None, None),
            ("web", "r3", "ann", "lee", None, "ann@x.com", None, None, None, None, None, None),
            ("web", "r4", "ann", "lee", None, "lee@y.com", None, None, None, None, None, None)]
    rule = BlockingRule("full_name", "exact", ["first_name", "last_name"], only_if_one_lacks=["birth_date"])
    settings = _settings(blocking=[rule])
    identities = _identities(spark, rows)
    node = {r.record_id: r.node for r in identities.collect()}
    expected = {frozenset((node[a], node[b]))
                for a, b in (("r1", "r3"), ("r1", "r4"), ("r2", "r3"), ("r2", "r4"), ("r3", "r4"))}
    assert {frozenset((r.node_l, r.node_r)) for r in _pairs(identities, settings).collect()} == expected
    # Keys stored without the flag (an incremental run's) look it up and give the same pairs.
    stored = {name: frame.select("block", "node", "source")
              for name, frame in all_block_keys(identities, settings).items()}
    assert {frozenset((r.node_l, r.node_r)) for r in _pairs(identities, settings, stored).collect()} == expected
    # Without the condition the dated namesakes r1 and r2 meet too.
    plain = _settings(blocking=[dataclasses.replace(rule, only_if_one_lacks=[])])
    assert len(_pairs(identities, plain).collect()) == 6
    with pytest.raises(ValueError, match="unknown field 'dob'"):
        BlockingRule("x", "exact", ["email"], only_if_one_lacks=["dob"])
    with pytest.raises(ValueError, match="not full_name"):
        BlockingRule("x", "exact", ["email"], only_if_one_lacks=["full_name"])


def test_a_rule_skips_pairs_whose_birth_dates_differ_beyond_a_typo(spark: SparkSession) -> None:
    born = dt.date(1980, 5, 6)
    dates = {"r1": born, "r2": dt.date(1966, 1, 2), "r3": dt.date(1980, 6, 5), "r4": None, "r5": dt.date(1980, 5, 8)}
    rows = [("crm", rid, "ann", "lee", dob, None, None, None, None, "N1 1AA", None, None) for rid, dob in dates.items()]
    rule = BlockingRule("name_postcode", "exact", ["first_name", "last_name", "postcode"],
                        skip_if_different=["birth_date"])
    settings = _settings(blocking=[rule])
    identities = _identities(spark, rows)
    node = {r.record_id: r.node for r in identities.collect()}
    # r2 is decades from the others; r3 has r1's day and month swapped, r5 one digit off; r4 has no date.
    kept = (("r1", "r3"), ("r1", "r4"), ("r1", "r5"), ("r3", "r4"), ("r3", "r5"), ("r4", "r5"), ("r2", "r4"))
    expected = {frozenset((node[a], node[b])) for a, b in kept}
    assert {frozenset((r.node_l, r.node_r)) for r in _pairs(identities, settings).collect()} == expected
    # Keys stored without the dates (an incremental run's) look them up and give the same pairs.
    stored = {name: frame.select("block", "node", "source")
              for name, frame in all_block_keys(identities, settings).items()}
    assert {frozenset((r.node_l, r.node_r)) for r in _pairs(identities, settings, stored).collect()} == expected
    plain = _settings(blocking=[dataclasses.replace(rule, skip_if_different=[])])
    assert len(_pairs(identities, plain).collect()) == 10
    with pytest.raises(ValueError, match=r"skip_if_different takes .* not \['street'\]"):
        BlockingRule("x", "exact", ["email"], skip_if_different=["street"])


def test_rules_paired_in_one_pass_give_the_pairs_of_each_rule_paired_alone(spark: SparkSession) -> None:
    # An incremental run pairs all rules' keys in one pass; a full run pairs each rule alone.
    # The rules here differ in every way a pass must tell apart: a skip condition, a lacks
    # condition, and a window smaller than their shared block.
    dates = [dt.date(1980, 5, 6), dt.date(1966, 1, 2), dt.date(1980, 6, 5), None, dt.date(1980, 5, 8),
             None, dt.date(1990, 1, 1)]
    names = [("ann", "lee")] * 5 + [("bo", "ek"), ("bo", "ek")]
    rows = [("crm", f"r{i}", first, last, dob, None, None, None, None, "N1 1AA", None, None)
            for i, ((first, last), dob) in enumerate(zip(names, dates, strict=True))]
    rows.append(("web", "r7", "ann", "lee", None, None, None, None, None, "E2 2BB", None, None))   # elsewhere, no date
    settings = _settings(blocking=[
        BlockingRule("name_postcode", "exact", ["first_name", "last_name", "postcode"],
                     skip_if_different=["birth_date"]),
        BlockingRule("full_name", "exact", ["first_name", "last_name"], only_if_one_lacks=["birth_date"]),
        BlockingRule("postcode", "exact", ["postcode"], window=3),
    ])
    identities = _identities(spark, rows)
    keys = all_block_keys(identities, settings)
    apart = {(r.node_l, r.node_r, r.blocked_by) for r in _pairs(identities, settings, keys).collect()}
    together = {(r.node_l, r.node_r, r.blocked_by)
                for r in candidate_pairs(keys_rows(keys), identities, settings).collect()}
    assert together == apart
    # name_postcode: 7 of the 10 ann lee pairs (r1 differs from r0, r2, r4) and bo ek's one;
    # full_name: r7 with the five ann lees (r7 has no date); postcode, window 3 over the seven
    # at N1 1AA sorted r6 r5 r1 r0 r4 r2 r3: 11 neighbour pairs, 5 of them not found before.
    found_first = {rule: sum(1 for *_, first in apart if first == rule)
                   for rule in ("name_postcode", "full_name", "postcode")}
    assert found_first == {"name_postcode": 8, "full_name": 5, "postcode": 5} and len(apart) == 18


def test_rules_diagnosed_together_report_what_each_rule_reports_alone(spark: SparkSession) -> None:
    rows = [_person(i, "ann", f"lee{i % 3}", "shared@x.com" if i < 12 else f"own{i}@x.com") for i in range(16)]
    settings = _settings(blocking=[
        BlockingRule("email", "exact", ["email"], window=4),
        BlockingRule("names", "minhash", ["first_name", "last_name"], bands=30, rows=3),
        BlockingRule("nobody", "exact", ["phone"]),   # no record has a phone: no block at all
        BlockingRule("surname", "exact", ["last_name"], max_block_size=20, window=4),
    ], max_bucket_size=10)
    keys = all_block_keys(_identities(spark, rows), settings)
    together = diagnose(keys, settings)
    alone = [diagnose({name: frame}, settings)[0] for name, frame in keys.items()]
    assert together == alone
    assert [r.rule for r in together] == ["email", "names", "nobody", "surname"]
    # Twelve share an email, over the cap of 10: skipped, with its 66 pairs; the rest have their own.
    assert together[0] == RuleDiagnostics("email", 0, 0, [("shared@x.com", 12)], 0, 1, 66)
    assert together[2] == RuleDiagnostics("nobody", 0, 0, [], 0, 0, 0)
    # Each rule keeps its own cap and window: surnames of 6, 5 and 5 records are within its cap
    # of 20 and over its window of 4, so each pairs 3 s - 6 neighbours: 12 + 9 + 9.
    surname = together[3]
    assert (surname.blocks, surname.estimated_pairs, surname.windowed_blocks, surname.skipped_blocks) == (3, 30, 3, 0)
    assert surname.largest[0] == ("lee0", 6) and sorted(surname.largest) == [("lee0", 6), ("lee1", 5), ("lee2", 5)]
    assert diagnose({}, settings) == []


def test_training_sessions_summed_from_all_levels_equal_the_pairs_grouped_again(spark: SparkSession) -> None:
    comparisons = ["first_name", "last_name", "email"]
    generator = random.Random(5)
    levels = [(generator.randint(0, 5), generator.randint(0, 4), generator.randint(0, 3)) for _ in range(400)]
    compared = spark.createDataFrame(levels, "lvl_first_name int, lvl_last_name int, lvl_email int")
    patterns = engine._patterns(compared, comparisons)
    for rule in (["email"], ["first_name", "last_name"], comparisons):
        free = [c for c in comparisons if c not in rule]
        condition = F.lit(True)
        for c in rule:
            condition = condition & (F.col(f"lvl_{c}") == 1)
        grouped = sorted(engine._patterns(compared.filter(condition), free))
        assert sum(n for _, n in grouped) > 0
        assert engine._session_patterns(compared, patterns, comparisons, rule) == grouped, rule
        # Counts of all levels cut short at MAX_PATTERNS: the pairs are grouped again.
        assert sorted(engine._session_patterns(compared, patterns + [((9, 9, 9), 1)] * engine.MAX_PATTERNS,
                                              comparisons, rule)) == grouped


def test_an_incremental_run_standardizes_only_new_and_changed_records(spark: SparkSession) -> None:
    settings = _settings(columns={"record_id": "id", "first_name": "given", "last_name": "family", "phone": "tel",
                                  "country": "cc"},
                         blocking=[BlockingRule("names", "exact", ["first_name", "last_name"])])
    schema = "id string, given string, family string, tel string, cc string"
    before = spark.createDataFrame([("1", "Ann", "Lee", "020 7946 0001", "GB"), ("2", "Bo", "Ek", "030 1234567", "DE"),
                                    ("3", "Cy", "Ng", None, "GB")], schema)
    after = spark.createDataFrame([("1", "Ann", "Lee", "020 7946 0001", "GB"), ("2", "Bo", "Ek", "030 7654321", "DE"),
                                   ("4", "Di", "Ro", "+44 20 7946 0004", "GB"), (None, "No", "Id", None, "GB")], schema)
    # A mark on the stored state: a reused record keeps it, a standardized one cannot have it.
    stored = prepare_identities(before, settings, "crm", "GB").withColumn("city", F.lit("stored"))
    result = reuse_identities(after, stored, settings, "crm", "GB")
    reused = {r.record_id: r.asDict() for r in result.identities.collect()}
    assert result.input_records == 3 and (
        {r.node for r in result.standardized.collect()} == {reused["2"]["node"], reused["4"]["node"]})
    deleted = stored.filter("record_id = '3'").first().node
    assert result.differing is not None and (
        {r.node for r in result.differing.collect()} == {reused["2"]["node"], reused["4"]["node"], deleted})
    # Record 3 is deleted, and the row without an id is dropped.
    assert {k: v["city"] for k, v in reused.items()} == {"1": "stored", "2": None, "4": None}
    expected = {r.record_id: r.asDict() for r in prepare_identities(after, settings, "crm", "GB").collect()}
    assert {k: {**v, "city": None} for k, v in reused.items()} == expected
    assert reused["2"]["phone"] == "+49307654321" and (
        reused["2"]["content_hash"] != stored.filter("record_id = '2'").first().content_hash)
    # Other settings that shape the matching form (here the default region): nothing is reused.
    elsewhere = reuse_identities(after, stored, settings, "crm", "DE").identities.collect()
    assert {r.record_id for r in elsewhere} == {"1", "2", "4"} and all(r.city is None for r in elsewhere)


def test_link_mode_only_pairs_records_of_different_sources(spark: SparkSession) -> None:
    rows = [_person(1, "a", "b", "x@y.com", "crm"), _person(2, "c", "d", "x@y.com", "crm"),
            _person(3, "e", "f", "x@y.com", "web")]
    settings = _settings(mode="link", blocking=[BlockingRule("email", "exact", ["email"])])
    assert _pairs(_identities(spark, rows), settings).count() == 2


def test_u_is_estimated_from_at_most_fifty_random_pairs_a_record(spark: SparkSession) -> None:
    settings = _settings(u_sample_pairs=1_000_000)
    assert engine.u_sample_size(2_000_000, settings) == 1_000_000     # a large input: the configured sample
    assert engine.u_sample_size(60, settings) == 3_000
    pairs = engine.random_pairs(_identities(spark, [_person(i, f"n{i}", "x", None) for i in range(60)]), 60, settings)
    found = [(r.node_l, r.node_r) for r in pairs.collect()]
    assert 2_000 < len(found) <= 3_000 and all(left != right for left, right in found)


def test_comparison_levels(spark: SparkSession) -> None:
    d = dt.date
    left = ("crm", "l", "william", "smith", d(1980, 3, 4), "bill@x.com", "+14155550123",
            None, "12 oak street", "94103", "sf", "US")
    cases = {  # right record -> expected levels
        ("web", "1", "bill", "smith", d(1980, 4, 3), "bill@y.com", "+18005550123",
         None, "12 oak street", "94105", "sf", "US"):
            {"first_name": "nickname", "last_name": "exact", "birth_date": "day_month_swapped",
             "email": "same_mailbox_name", "phone": "same_last_7_digits", "street": "exact",
             "postcode": "same_district", "city": "exact"},
        ("web", "2", "smith", "william", d(1980, 3, 5), None, "+14155550123",
         None, "12 oak streat", "10001", None, "US"):
            {"first_name": "exact", "last_name": "exact", "birth_date": "one_digit_off",
             "email": "null", "phone": "exact", "street": "same_number_jaro_winkler_0.90",
             "postcode": "different", "city": "null"},
        ("web", "3", "willam", "smyth", d(1981, 1, 1), "other@z.com", None,
         None, "14 oak street", None, "la", "US"):
            {"first_name": "jaro_winkler_0.92", "last_name": "jaro_winkler_0.80", "birth_date": "within_a_year",
             "email": "different", "phone": "null", "street": "jaro_winkler_0.90",
             "postcode": "null", "city": "different"},
    }
    identities = _identities(spark, [left, *cases])
    nodes = {r.record_id: r.node for r in identities.collect()}
    pairs = spark.createDataFrame([(nodes["l"], nodes[k[1]], "t") for k in cases],
                                  "node_l long, node_r long, blocked_by string")
    compared = {r.record_id_r: r for r in compare(pairs, identities, ROLES).collect()}
    for right, expected in cases.items():
        row = compared[right[1]]
        assert {c: LEVELS[c][row[f"lvl_{c}"]] for c in expected} == expected, right[1]


def test_em_recovers_known_parameters() -> None:
    rng = random.Random(4)
    comparisons = ["first_name", "email"]
    m_true = {"first_name": [1.0, 0.7, 0.05, 0.15, 0.05, 0.05], "email": [1.0, 0.8, 0.05, 0.15]}
    u_true = {"first_name": [1.0, 0.01, 0.002, 0.008, 0.03, 0.95], "email": [1.0, 0.001, 0.004, 0.995]}
    counts: dict[tuple[int, ...], int] = {}
    for _ in range(40000):
        probs = m_true if rng.random() < 0.2 else u_true
        pattern = tuple(rng.choices(range(1, len(probs[c])), weights=probs[c][1:])[0] for c in comparisons)
        counts[pattern] = counts.get(pattern, 0) + 1
    patterns = list(counts.items())
    m, prior, _, converged = estimate_m(patterns, comparisons, u_true, 200)
    assert converged and prior == pytest.approx(0.2, abs=0.01)
    for c in comparisons:
        assert m[c] == pytest.approx(m_true[c], abs=0.02)
    assert estimate_prior(patterns, comparisons, m_true, u_true, 200) == pytest.approx(0.2, abs=0.01)


def test_evaluation_arithmetic(spark: SparkSession) -> None:
    # persons: A = {1, 2, 3}, B = {4, 5}; clusters: {1, 2}, {3, 4, 5}
    labelled = spark.createDataFrame([(1, "A"), (2, "A"), (3, "A"), (4, "B"), (5, "B")], "node long, person string")
    clusters = spark.createDataFrame([(1, 1), (2, 1), (3, 3), (4, 3), (5, 3)], "node long, component long")
    candidates = spark.createDataFrame([(1, 2), (2, 3), (4, 5), (1, 5)], "node_l long, node_r long")
    metrics = evaluate(labelled, clusters, candidates, 5)
    # predicted pairs 1 + 3 = 4; true pairs 3 + 1 = 4; agreeing (1,2) and (4,5) = 2
    assert (metrics["predicted_pairs"], metrics["true_pairs"]) == (4, 4)
    assert metrics["pairwise_precision"] == metrics["pairwise_recall"] == metrics["pairwise_f1"] == 0.5
    assert metrics["bcubed_precision"] == pytest.approx((1 + 1 + 1 / 3 + 2 / 3 + 2 / 3) / 5)
    assert metrics["bcubed_recall"] == pytest.approx((2 / 3 + 2 / 3 + 1 / 3 + 1 + 1) / 5)
    assert metrics["blocking_pair_completeness"] == pytest.approx(3 / 4)   # (1,2), (2,3), (4,5) of 4 true pairs
    assert metrics["reduction_ratio"] == pytest.approx(1 - 4 / 10)


OWN_CSV = """cust_no,Given,Surname,DOB,Mail,Tel,Zip
1,Johnathan,Whitworth,1980-04-02,j.whitworth@example.com,+44 7400 123456,LS6 1AA
2,Jonathan,Whitworth,02/04/1980,J.Whitworth@Example.com,,LS61AA
3,Priya,Raman,1975-11-30,priya.r@example.org,+44 7400 654321,M1 1AE
4,Priya,Ramen,1975-11-30,,+447400654321,
5,Olusegun,Adeyemi,1990-01-15,olu@example.net,,B15 2TT
6,Gertrude,Holbrook,1962-07-07,g.holbrook@example.com,+44 7500 111222,EH3 9ZZ
"""


@pytest.fixture
def own_file_config(config: Config, tmp_path: Path) -> Config:
    path = tmp_path / "customers.csv"
    path.write_text(OWN_CSV)
    settings = dataclasses.replace(
        config.resolve, input=ResolveInput(table=None, path=str(path), format="csv", options={"header": "true"}),
        columns={"record_id": "cust_no", "first_name": "Given", "last_name": "Surname", "birth_date": "DOB",
                 "email": "Mail", "phone": "Tel", "postcode": "Zip"},
        default_region="GB", u_sample_pairs=1000, evaluate=False,
        blocking=[BlockingRule("email", "exact", ["email"]), BlockingRule("phone", "exact", ["phone"]),
                  BlockingRule("names", "minhash", ["first_name", "last_name"], bands=30, rows=3)],
    )
    return config.with_overrides(resolve=settings, rules={})


@pytest.mark.heavy
def test_resolve_a_users_own_file(spark: SparkSession, own_file_config: Config) -> None:
    # A loose rule (the phone's country code) proposes pairs of different people, and every
    # pair under the threshold goes to review, so the queue has rows to check.
    loose = BlockingRule("phone_country", "key", parts=["prefix3:phone"])
    config = own_file_config.with_overrides(resolve=dataclasses.replace(
        own_file_config.resolve, review_band=[0.0, 0.9], blocking=[*own_file_config.resolve.blocking, loose]))
    result = resolve_job.run(spark, config)
    store, catalog = table_store(spark, config), Catalog(config)
    customer = {r.record_id: r.customer_id for r in store.read(catalog.path("identity_crosswalk")).collect()}
    assert customer["1"] == customer["2"] and customer["3"] == customer["4"]
    assert len({customer["1"], customer["3"], customer["5"], customer["6"]}) == 4
    pairs = {(r.record_id_l, r.record_id_r): r for r in store.read(catalog.path("match_pairs")).collect()}
    explained = pairs.get(("1", "2")) or pairs[("2", "1")]
    assert explained.levels["email"] == "exact" and explained.contributions["email"] > 0  # six records: a weak u
    assert explained.levels["birth_date"] == "null"  # '02/04/1980' without a country is ambiguous
    # The review queue: exactly the pairs decided 'review', with both records' values beside them.
    review = {(r.record_id_l, r.record_id_r): r for r in store.read(catalog.path("review_queue")).collect()}
    assert review and set(review) == {k for k, r in pairs.items() if r.decision == "review"}
    surname = {"1": "whitworth", "2": "whitworth", "3": "raman", "4": "ramen", "5": "adeyemi", "6": "holbrook"}
    for (left, right), row in review.items():
        assert (row.values_l["last_name"], row.values_r["last_name"]) == (surname[left], surname[right])
        assert row.levels == pairs[(left, right)].levels and row.match_probability < 0.9
    master = {r.customer_id: r for r in store.read(catalog.path("customer_master")).collect()}
    assert master[customer["3"]].record_count == 2 and master[customer["3"]].last_name in ("Raman", "Ramen")
    assert result.metrics["records"] == "6"
    # The run log splits the job's time: reading and matching, then staging the outputs; two
    # parts of the run, together no longer than it (rounded to a tenth of a second each). The
    # writing is the phases that staged the outputs, and nothing after them (the run's scoring
    # of itself, the metrics table).
    matching, writing = float(result.metrics["matching_seconds"]), float(result.metrics["writing_seconds"])
    assert matching > 0 and writing > 0 and matching + writing <= result.duration_seconds + 0.1
    phases = json.loads(result.metrics["phases"])
    staged = [name for name in phases if name.startswith("stage ")]
    assert staged[0] == "stage match_pairs" and staged[-1] == "stage resolution_metrics"
    assert abs(writing - sum(phases[name][0] for name in staged[:-1])) <= 0.1
    names = list(phases)
    matched = names[names.index("open the run") + 1:names.index("stage match_pairs")]  # the job's body, not its set-up
    assert matched[0] == "read and standardize" and matched[-1] == "carry ids over"
    assert abs(matching - sum(phases[name][0] for name in matched)) <= 0.1
    model = json.loads(Path(result.metrics["model_path"]).read_text())
    assert sorted(model["comparisons"]) == ["birth_date", "email", "first_name", "last_name", "phone", "postcode"]


@pytest.mark.heavy
def test_a_saved_model_is_reused_without_training(spark: SparkSession, own_file_config: Config) -> None:
    first = resolve_job.run(spark, own_file_config)
    reuse = own_file_config.with_overrides(
        resolve=dataclasses.replace(own_file_config.resolve, model=first.metrics["model_path"]))
    second = resolve_job.run(spark, reuse)
    assert second.metrics["prior"] == first.metrics["prior"]
    store, catalog = table_store(spark, reuse), Catalog(reuse)
    before = {(r.record_id_l, r.record_id_r): r.match_probability
              for r in store.read(catalog.path("match_pairs"), version=0).collect()}
    after = {(r.record_id_l, r.record_id_r): r.match_probability
             for r in store.read(catalog.path("match_pairs")).collect()}
    assert before == pytest.approx(after)


@pytest.mark.heavy
def test_decisions_are_honoured_and_measure_precision(spark: SparkSession, own_file_config: Config,
                                                      tmp_path: Path) -> None:
    decisions = tmp_path / "decisions.csv"
    decisions.write_text("source_l,record_id_l,source_r,record_id_r,decision\n"
                         f"{own_file_config.resolve.input.path},3,{own_file_config.resolve.input.path},4,non_match\n"
                         f"{own_file_config.resolve.input.path},5,{own_file_config.resolve.input.path},6,match\n")
    config = own_file_config.with_overrides(
        resolve=dataclasses.replace(own_file_config.resolve, decisions_file=str(decisions)))
    result = resolve_job.run(spark, config)
    store, catalog = table_store(spark, config), Catalog(config)
    customer = {r.record_id: r.customer_id for r in store.read(catalog.path("identity_crosswalk")).collect()}
    assert customer["3"] != customer["4"] and customer["5"] == customer["6"]
    decided = {(r.record_id_l, r.record_id_r): r.decision for r in store.read(catalog.path("match_pairs")).collect()}
    assert "forced_non_match" in decided.values() and "forced_match" in decided.values()
    assert (result.metrics["labelled_pairs"], result.metrics["labelled_precision"]) == ("2", "0")
    assert result.metrics["labelled_recall"] == "0"


def test_a_missing_mapped_column_is_named(spark: SparkSession, own_file_config: Config) -> None:
    settings = dataclasses.replace(own_file_config.resolve, columns={**own_file_config.resolve.columns, "city": "Town"})
    with pytest.raises(InputDataError, match=r"mapped column\(s\) missing from .*customers.csv: city -> 'Town'; "
                                             r"its columns are cust_no, Given"):
        resolve_job.run(spark, own_file_config.with_overrides(resolve=settings))


@pytest.mark.heavy
def test_an_incremental_run_refuses_block_keys_stored_as_text(spark: SparkSession, own_file_config: Config) -> None:
    first = resolve_job.run(spark, own_file_config)
    store, catalog = table_store(spark, own_file_config), Catalog(own_file_config)
    path = catalog.path("resolution_block_keys")
    # The state as an earlier version wrote it: the block keys' text, not their ids.
    as_text = store.read(path).withColumn("block", F.col("block").cast("string"))
    store.commit(store.stage(path, as_text, "overwrite", ["rule"]), CommitInfo("resolve", "earlier", {}))
    incremental = own_file_config.with_overrides(resolve=dataclasses.replace(
        own_file_config.resolve, incremental=True, model=first.metrics["model_path"]))
    with pytest.raises(InputDataError, match=r"block keys as text.*run `custseg resolve` once in full"):
        resolve_job.run(spark, incremental)


def test_model_json_round_trip() -> None:
    model = FellegiSunterModel(["email"], {"email": [1.0, 0.9, 0.05, 0.05]}, {"email": [1.0, 0.001, 0.01, 0.989]}, 0.1,
                               term_frequency=["email"])
    assert FellegiSunterModel.from_json(model.to_json()) == model
    assert model.bayes_factors()["email"][1] == pytest.approx(9.8138, abs=1e-3)
