"""Connected components and golden-record survivorship."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from pyspark.sql import DataFrame, SparkSession

from custseg.errors import CustsegError
from custseg.resolve import components as components_module
from custseg.resolve import connected_components, golden_records

# Both ways of labelling: the distributed rounds, and the driver's for a graph of few edges.
DISTRIBUTED, ON_DRIVER = 0, 10_000
labelling = pytest.mark.parametrize("local_max_edges", [DISTRIBUTED, ON_DRIVER], ids=["distributed", "on_driver"])


def _components(spark: SparkSession, nodes: list[int], edges: list[tuple[int, int]], local_max_edges: int = DISTRIBUTED
                ) -> dict[int, int]:
    node_df = spark.createDataFrame([(n,) for n in nodes], "node long")
    edge_df = spark.createDataFrame(edges or [(0, 0)], "src long, dst long").filter("src != 0" if not edges else "true")
    return {r.node: r.component
            for r in connected_components(node_df, edge_df, local_max_edges=local_max_edges).collect()}


@labelling
def test_components_of_chains_stars_cycles_and_singletons(spark: SparkSession, local_max_edges: int) -> None:
    chain = [(i, i + 1) for i in range(10, 30)]                # a long path: many rounds for label propagation
    star = [(50, n) for n in range(51, 60)]
    cycle = [(70, 71), (71, 72), (72, 73), (73, 70)]
    reversed_dupes = [(31, 30), (30, 31), (31, 31)]            # direction, repeats and self-loops do not matter
    nodes = list(range(10, 32)) + list(range(50, 60)) + [70, 71, 72, 73, 99, -5]
    labels = _components(spark, nodes, chain + star + cycle + reversed_dupes, local_max_edges)
    assert {labels[n] for n in range(10, 32)} == {10}
    assert {labels[n] for n in range(50, 60)} == {50}
    assert {labels[n] for n in (70, 71, 72, 73)} == {70}
    assert labels[99] == 99 and labels[-5] == -5


@labelling
def test_component_labels_do_not_depend_on_edge_order(spark: SparkSession, local_max_edges: int) -> None:
    edges = [(5, 3), (3, 8), (8, 1), (20, 21)]
    first = _components(spark, [1, 3, 5, 8, 20, 21], edges, local_max_edges)
    second = _components(spark, [21, 20, 8, 5, 3, 1], list(reversed([(b, a) for a, b in edges])), local_max_edges)
    assert first == second == {1: 1, 3: 1, 5: 1, 8: 1, 20: 20, 21: 20}


@pytest.fixture
def driver_labellings(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Edges of each graph the driver labelled, recorded as it labels them."""
    calls: list[int] = []
    original = components_module._local_labels

    def recording(edges: DataFrame) -> DataFrame:
        calls.append(edges.count())
        return original(edges)

    monkeypatch.setattr(components_module, "_local_labels", recording)
    return calls


def test_components_on_the_driver_equal_the_distributed_ones(spark: SparkSession, driver_labellings: list[int]) -> None:
    """A random sparse graph of 600 edges over 500 nodes, signed 64-bit ids far apart (as the
    node hashes are), has many components of many shapes; both ways label each node alike."""
    rng = random.Random(7)
    ids = list({rng.randrange(-2**62, 2**62) for _ in range(500)})
    edges = [(rng.choice(ids), rng.choice(ids)) for _ in range(600)]
    nodes = ids + [rng.randrange(2**62) for _ in range(20)]  # some with no edge at all
    distinct = len({(max(a, b), min(a, b)) for a, b in edges if a != b})
    on_driver = _components(spark, nodes, edges, ON_DRIVER)
    assert driver_labellings == [distinct]
    assert on_driver == _components(spark, nodes, edges, DISTRIBUTED)
    assert len(set(on_driver.values())) > 50 and all(on_driver[n] <= n for n in nodes)
    # The limit counts distinct edges: at it the driver labels, one under it the rounds do.
    assert _components(spark, nodes, edges, distinct) == on_driver
    assert _components(spark, nodes, edges, distinct - 1) == on_driver
    assert driver_labellings == [distinct, distinct]


def test_nodes_without_edges_are_their_own_components_on_the_driver(spark: SparkSession, driver_labellings: list[int]
                                                                     ) -> None:
    assert _components(spark, [4, -2, 9], [], ON_DRIVER) == {4: 4, -2: -2, 9: 9}
    assert driver_labellings == [0]


def test_components_stop_with_a_clear_error_when_rounds_run_out(spark: SparkSession) -> None:
    node_df = spark.createDataFrame([(n,) for n in range(40)], "node long")
    edge_df = spark.createDataFrame([(i, i + 1) for i in range(39)], "src long, dst long")
    with pytest.raises(CustsegError, match="did not converge in 1 rounds; raise resolve.max_iterations"):
        connected_components(node_df, edge_df, max_iterations=1)


def test_golden_record_rules(spark: SparkSession) -> None:
    t = dt.datetime
    members = spark.createDataFrame([
        ("C1", "web_accounts", "w1", t(2025, 1, 1), t(2020, 1, 1), "Jon", "Smith", "new@x.com", None,
         dt.date(1980, 1, 1), "male", "1 High Street", "Leeds", "LS6 1AA", "GB"),
        ("C1", "crm_customers", "c1", t(2024, 1, 1), t(2019, 1, 1), "John", "Smith", "old@x.com", "+447400000001",
         dt.date(1980, 1, 1), "male", "1 High St", "Leeds", "LS6 1AA", "GB"),
        ("C1", "crm_customers", "c2", t(2023, 1, 1), t(2018, 1, 1), "John", "Smyth", None, "+447400000002",
         dt.date(1981, 1, 1), "unknown", "1 High Street, Flat 2", "Leeds", None, "GB"),
        ("C2", "web_accounts", "w9", t(2025, 5, 5), t(2025, 5, 5), "Ann", None, "ann@x.com", None,
         None, "female", None, None, None, "US"),
        ("C3", "web_accounts", "w7", t(2025, 5, 5), t(2025, 5, 5), "Sam", "Lee", None, None,
         None, "female", None, None, None, "US"),
        ("C3", "crm_customers", "c7", t(2025, 5, 4), t(2025, 5, 4), "Sam", "Lee", None, None,
         None, "male", None, None, None, "US"),
    ], "customer_id string, source string, record_id string, recency timestamp, created_at timestamp, "
       "first_name string, last_name string, email string, phone_e164 string, birth_date date, gender string, "
       "street string, city string, postcode string, country string")
    rules = {"first_name": "most_frequent", "last_name": "most_frequent", "phone_e164": "source_priority",
             "street": "longest"}
    golden = {r.customer_id: r
              for r in golden_records(members, rules, "most_recent", ["crm_customers", "web_accounts"]).collect()}
    c1 = golden["C1"]
    assert (c1.first_name, c1.last_name) == ("John", "Smith")           # most frequent (ties to most recent)
    assert c1.email == "new@x.com"                                        # most recent non-null
    assert c1.phone_e164 == "+447400000001"                               # crm first, most recent crm
    assert c1.street == "1 High Street, Flat 2"                           # longest
    assert c1.postcode == "LS6 1AA"                                       # most recent non-null
    assert (c1.record_count, c1.sources) == (3, ["crm_customers", "web_accounts"])
    assert c1.first_seen_at == t(2018, 1, 1) and c1.last_updated_at == t(2025, 1, 1)
    assert c1.review_flags == ["conflicting_birth_date"]  # 'unknown' gender is not a conflict
    c2 = golden["C2"]
    assert (c2.first_name, c2.last_name, c2.review_flags, c2.record_count) == ("Ann", None, [], 1)
    assert golden["C3"].review_flags == ["conflicting_gender"]
