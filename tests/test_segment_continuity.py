"""Segment ids across runs (centre matching) and the parent level (Ward merges of segments)."""

from __future__ import annotations

import pytest
from pyspark.sql import SparkSession

from custseg.segment.continuity import carry_segment_ids, centre_distance
from custseg.segment.hierarchy import parent_candidates, parent_of, ward_levels
from custseg.segment.labels import previous_centres

SCALE = {"x": 1.0, "y": 2.0}


def test_matching_centres_keep_their_ids_whatever_the_cluster_numbers() -> None:
    previous = {0: {"x": 0.0, "y": 0.0}, 1: {"x": 10.0, "y": 0.0}, 2: {"x": 0.0, "y": 10.0}}
    current = {0: {"x": 0.1, "y": 10.2}, 1: {"x": 0.0, "y": -0.1}, 2: {"x": 9.8, "y": 0.3}}  # same segments, renumbered
    carried = carry_segment_ids(current, previous, SCALE, max_distance=0.5, next_segment_id=3)
    assert carried.segment_ids == {0: 2, 1: 0, 2: 1}
    assert carried.distances[0] == pytest.approx(centre_distance(current[0], previous[2], SCALE))
    assert carried.next_segment_id == 3


def test_a_new_or_moved_segment_gets_an_id_never_issued_before() -> None:
    previous = {0: {"x": 0.0, "y": 0.0}, 4: {"x": 10.0, "y": 0.0}}   # ids 1-3 and 5 retired earlier
    current = {0: {"x": 0.0, "y": 0.2}, 1: {"x": 30.0, "y": 30.0}, 2: {"x": 10.0, "y": 6.0}}
    carried = carry_segment_ids(current, previous, SCALE, max_distance=0.5, next_segment_id=6)
    # cluster 2 is the closest to segment 4, but 2.1 standard deviations away: too far to keep it
    assert carried.segment_ids == {0: 0, 1: 6, 2: 7}
    assert carried.distances[1] is None and carried.distances[2] is None
    assert carried.next_segment_id == 8


def test_the_first_run_numbers_segments_in_cluster_order() -> None:
    carried = carry_segment_ids({0: {"x": 1.0}, 1: {"x": 2.0}}, {}, {"x": 1.0}, 0.5, 0)
    assert carried.segment_ids == {0: 0, 1: 1} and carried.next_segment_id == 2


def test_only_shared_features_are_compared() -> None:
    assert centre_distance({"x": 1.0, "z": 100.0}, {"x": 3.0, "y": -5.0}, {"x": 2.0}) == pytest.approx(1.0)
    assert centre_distance({"z": 1.0}, {"x": 1.0}, {}) == float("inf")


def test_ward_merges_the_cheapest_pair_first_and_every_level_nests() -> None:
    centres = {0: [0.0, 0.0], 1: [1.0, 0.0], 2: [10.0, 0.0], 3: [10.0, 1.0], 4: [30.0, 0.0]}
    sizes = {0: 10, 1: 10, 2: 10, 3: 40, 4: 5}
    levels = ward_levels(centres, sizes)
    assert [len(level) for level in levels] == [5, 4, 3, 2, 1]
    # cost(0,1) = 10*10/20 * 1 = 5; cost(2,3) = 10*40/50 * 1 = 8: {0,1} first, then {2,3}
    assert levels[1] == [frozenset({0, 1}), frozenset({2}), frozenset({3}), frozenset({4})]
    assert levels[2] == [frozenset({0, 1}), frozenset({2, 3}), frozenset({4})]
    for finer, coarser in zip(levels, levels[1:], strict=False):
        assert all(any(group <= parent for parent in coarser) for group in finer)
    assert parent_of(levels[2]) == {0: 0, 1: 0, 2: 2, 3: 2, 4: 4}


def test_parent_candidates_offer_two_to_five_groups_or_the_requested_count() -> None:
    levels = ward_levels({i: [float(i * i)] for i in range(8)}, {i: 1 for i in range(8)})
    assert [len(p) for p in parent_candidates(levels, None)] == [2, 3, 4, 5]
    assert [len(p) for p in parent_candidates(levels, 3)] == [3]
    two = ward_levels({0: [0.0], 1: [5.0]}, {0: 1, 1: 1})
    assert parent_candidates(two, None) == [[frozenset({0}), frozenset({1})]]


def test_profiles_without_centres_give_nothing_to_match_but_reserve_their_ids(spark: SparkSession) -> None:
    old = spark.createDataFrame([(3, "Churned"), (1, "Regulars")], "segment_id int, segment_name string")
    assert previous_centres(old) == ({}, 4)
    assert previous_centres(None) == ({}, 0)
    current = spark.createDataFrame([(0, {"x": 1.0}, 2), (1, {"x": 5.0}, 7)],
                                    "segment_id int, centroid map<string,double>, next_segment_id int")
    assert previous_centres(current) == ({0: {"x": 1.0}, 1: {"x": 5.0}}, 7)
