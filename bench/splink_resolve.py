"""Splink on DuckDB over the records `make bench-resolve` gives custseg's full run: the
single-machine anchor of the resolution benchmark.

    .venv-splink/bin/python bench/splink_resolve.py --input DIR --columns JSON --threshold 0.9 \\
        --output clusters.parquet --report report.json

It runs in Splink's own virtualenv (`make splink-venv`), never in custseg's, so it imports
nothing of custseg: the bench passes the column roles of `resolve.columns` and the match
threshold, and scores the clusters it writes (source, record_id, cluster_id) against the
ground truth with the same function it scores custseg's crosswalk with.

The work is what a team would write with Splink for the same records: matching forms of the
mapped columns in SQL, comparisons for the roles custseg compares, blocking rules on email,
phone, birth date with a name prefix, postcode with a name prefix and city with both names;
the prior from two deterministic rules, u from random pairs, m by EM on two blocking rules;
then every candidate pair scored once and the records clustered at the threshold. The plan
(``plan``) is plain data built from the roles, so it is tested without Splink installed.
"""

from __future__ import annotations

import argparse
import json
import logging
import resource
import sys
import time
import traceback
from pathlib import Path
from typing import Any

# Roles compared, in the order custseg compares them.
COMPARED = ("first_name", "last_name", "birth_date", "email", "phone", "national_id", "street", "postcode", "city")

# Matching form of each role, as DuckDB SQL over the input column ``{col}``; empty text is missing.
MATCHING_FORMS = {
    "first_name": r"NULLIF(REGEXP_REPLACE(LOWER(STRIP_ACCENTS(CAST({col} AS VARCHAR))), '[^a-z]', '', 'g'), '')",
    "last_name": r"NULLIF(REGEXP_REPLACE(LOWER(STRIP_ACCENTS(CAST({col} AS VARCHAR))), '[^a-z]', '', 'g'), '')",
    "birth_date": "TRY_CAST({col} AS DATE)",
    "email": "NULLIF(LOWER(TRIM(CAST({col} AS VARCHAR))), '')",
    "phone": "NULLIF(REGEXP_REPLACE(CAST({col} AS VARCHAR), '[^0-9+]', '', 'g'), '')",
    "national_id": "NULLIF(UPPER(REGEXP_REPLACE(CAST({col} AS VARCHAR), '[^0-9A-Za-z]', '', 'g')), '')",
    "street": r"NULLIF(LOWER(TRIM(REGEXP_REPLACE(CAST({col} AS VARCHAR), '\s+', ' ', 'g'))), '')",
    "postcode": "NULLIF(UPPER(TRIM(CAST({col} AS VARCHAR))), '')",
    "city": "NULLIF(LOWER(TRIM(CAST({col} AS VARCHAR))), '')",
}


def _levels(role: str, *levels: tuple[str, str]) -> dict[str, Any]:
    """A comparison given by its levels (label, SQL over ``{role}_l`` and ``{role}_r``), after the null level."""
    left, right = f'"{role}_l"', f'"{role}_r"'
    null = {"sql_condition": f"{left} IS NULL OR {right} IS NULL", "label_for_charts": "null", "is_null_level": True}
    return {"output_column_name": role, "comparison_levels": [null, *(
        {"sql_condition": sql.format(l=left, r=right), "label_for_charts": label} for label, sql in levels)]}


# How Splink compares each role: a comparison of its library (class, arguments, term
# frequencies on its exact level) or, where custseg's levels have no library counterpart
# (phone suffixes, postcode districts), the levels themselves. Levels run as custseg's do.
COMPARISONS: dict[str, dict[str, Any]] = {
    "first_name": {"library": "NameComparison", "term_frequency": True},
    "last_name": {"library": "NameComparison", "term_frequency": True},
    "birth_date": {"library": "DateOfBirthComparison", "arguments": {"input_is_string": False}},
    "email": {"library": "EmailComparison"},
    "phone": {"levels": _levels("phone", ("exact", "{l} = {r}"),
                                ("same last 7 digits", "RIGHT({l}, 7) = RIGHT({r}, 7)"), ("different", "ELSE"))},
    "national_id": {"library": "LevenshteinAtThresholds", "arguments": {"distance_threshold_or_thresholds": [1]}},
    "street": {"library": "JaroWinklerAtThresholds", "arguments": {"score_threshold_or_thresholds": [0.9]}},
    "postcode": {"levels": _levels("postcode", ("exact", "{l} = {r}"),
                                   ("same district", "LEFT({l}, 3) = LEFT({r}, 3)"), ("different", "ELSE"))},
    "city": {"library": "ExactMatch"},
}

PRIOR_RECALL = 0.7       # the share of true pairs the deterministic rules are assumed to find
U_PAIRS = 10_000_000     # random record pairs for u (or every pair, when there are fewer)


def compared_roles(columns: dict[str, str]) -> list[str]:
    """The roles of ``columns`` (role -> input column) that Splink compares, in order."""
    return [role for role in COMPARED if role in columns]


def _name_prefix(roles: list[str], length: int) -> str | None:
    name = "last_name" if "last_name" in roles else "first_name" if "first_name" in roles else None
    return f"LEFT(l.{name}, {length}) = LEFT(r.{name}, {length})" if name else None


def blocking_rules(roles: list[str]) -> list[str]:
    """Candidate pairs: the union of these rules over the matching forms (SQL on ``l`` and ``r``)."""
    rules = [f"l.{role} = r.{role}" for role in ("email", "phone", "national_id") if role in roles]
    for place, length in (("birth_date", 1), ("postcode", 2)):
        prefix = _name_prefix(roles, length)
        if place in roles and prefix:
            rules.append(f"l.{place} = r.{place} AND {prefix}")
    if {"city", "first_name", "last_name"} <= set(roles):
        rules.append("l.city = r.city AND l.first_name = r.first_name AND l.last_name = r.last_name")
    return rules


def training_rules(roles: list[str]) -> list[str]:
    """The two blocking rules EM trains m on (each teaches the comparisons it does not block on)
    and the prior is estimated from: the full name with the birth date, then email or phone."""
    options = []
    if {"first_name", "last_name", "birth_date"} <= set(roles):
        options.append("l.first_name = r.first_name AND l.last_name = r.last_name AND l.birth_date = r.birth_date")
    options += [f"l.{role} = r.{role}" for role in ("email", "phone", "national_id") if role in roles]
    return options[:2]


def prepared_select(columns: dict[str, str]) -> str:
    """The SELECT list turning input rows into Splink's records: a unique id, the record's
    source and id, and the matching form of each compared role (named after the role)."""
    if "record_id" not in columns:
        raise ValueError("the columns name no record_id")
    record_id = f'CAST("{columns["record_id"]}" AS VARCHAR)'
    source = f'CAST("{columns["source"]}" AS VARCHAR)' if "source" in columns else "'input'"
    forms = [f'{MATCHING_FORMS[role].format(col=chr(34) + columns[role] + chr(34))} AS {role}'
             for role in compared_roles(columns)]
    return ", ".join([f"{source} || '|' || {record_id} AS unique_id", f"{source} AS source",
                      f"{record_id} AS record_id", *forms])


def plan(columns: dict[str, str]) -> dict[str, Any]:
    """Everything the run does that depends on the roles, as plain data."""
    roles = compared_roles(columns)
    if not roles:
        raise ValueError("no column of a compared role is mapped: " + ", ".join(COMPARED))
    return {"select": prepared_select(columns), "roles": roles,
            "comparisons": [{"role": role, **COMPARISONS[role]} for role in roles],
            "blocking_rules": blocking_rules(roles), "training_rules": training_rules(roles)}


def splink_comparisons(comparisons: list[dict[str, Any]]) -> list[Any]:
    """Splink's comparison objects (or level dicts) for the planned comparisons."""
    import splink.comparison_library as cl

    built: list[Any] = []
    for spec in comparisons:
        if "levels" in spec:
            built.append(spec["levels"])
            continue
        comparison = getattr(cl, spec["library"])(spec["role"], **spec.get("arguments", {}))
        built.append(comparison.configure(term_frequency_adjustments=True) if spec.get("term_frequency")
                     else comparison)
    return built


def _timed(phases: dict[str, float], name: str, started: float) -> float:
    now = time.perf_counter()
    phases[name] = round(now - started, 3)
    return now


def run(input_dir: str, columns: dict[str, str], threshold: float, output: str, seed: int) -> dict[str, Any]:
    """Resolve the Parquet records in ``input_dir``; write (source, record_id, cluster_id) to
    ``output``; return the figures of the run."""
    import duckdb
    import splink
    from splink import DuckDBAPI, Linker, SettingsCreator

    steps = plan(columns)
    phases: dict[str, float] = {}
    started = at = time.perf_counter()
    connection = duckdb.connect()
    source = str(Path(input_dir) / "*.parquet").replace("'", "''")
    connection.execute(f"CREATE TABLE records AS SELECT {steps['select']} FROM read_parquet('{source}')")
    # Every result is fetched whole: DuckDB 2 keeps a connection busy until its last result is.
    (records,), = connection.execute("SELECT COUNT(*) FROM records").fetchall()
    if records < 2:
        raise ValueError(f"{input_dir} holds {records} record(s): nothing to resolve")
    at = _timed(phases, "read", at)
    settings = SettingsCreator(
        link_type="dedupe_only", comparisons=splink_comparisons(steps["comparisons"]),
        blocking_rules_to_generate_predictions=steps["blocking_rules"], retain_intermediate_calculation_columns=False,
        retain_matching_columns=False)
    linker = Linker(DuckDBAPI(connection=connection).register("records"), settings, log_level=logging.WARNING)
    linker.training.estimate_probability_two_random_records_match(steps["training_rules"], recall=PRIOR_RECALL)
    at = _timed(phases, "prior", at)
    linker.training.estimate_u_using_random_sampling(max_pairs=min(U_PAIRS, records * (records - 1) // 2),
                                                     seed=seed)
    at = _timed(phases, "u", at)
    for rule in steps["training_rules"]:
        linker.training.estimate_parameters_using_expectation_maximisation(rule)
    at = _timed(phases, "em", at)
    scored = linker.inference.predict()
    (counts,) = connection.execute(
        f"SELECT COUNT(*), COUNT(*) FILTER (match_probability >= {float(threshold)}) FROM {scored.physical_name}"
    ).fetchall()
    at = _timed(phases, "predict", at)
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(scored, threshold)
    at = _timed(phases, "cluster", at)
    target = output.replace("'", "''")
    connection.execute(f"COPY (SELECT source, record_id, CAST(cluster_id AS VARCHAR) AS cluster_id "
                       f"FROM {clusters.physical_name}) TO '{target}' (FORMAT parquet)")
    (found,) = connection.execute(f"SELECT COUNT(DISTINCT cluster_id) FROM {clusters.physical_name}").fetchall()
    _timed(phases, "write", at)
    seconds = time.perf_counter() - started
    connection.close()
    return {
        "seconds": round(seconds, 2), "phases": phases, "records": int(records),
        "candidate_pairs": int(counts[0]), "accepted_pairs": int(counts[1]),
        "clusters": int(found[0]), "threshold": threshold, "roles": steps["roles"],
        "blocking_rules": steps["blocking_rules"], "training_rules": steps["training_rules"],
        "prior_recall": PRIOR_RECALL, "splink": splink.__version__, "duckdb": duckdb.__version__,
        # ru_maxrss is in KiB on Linux: the largest resident set this process ever had.
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--input", required=True, help="folder of Parquet files, one row per record")
    parser.add_argument("--columns", required=True, help="JSON: role -> input column (resolve.columns)")
    parser.add_argument("--threshold", type=float, required=True, help="match probability at which pairs link")
    parser.add_argument("--output", required=True, help="Parquet file to write: source, record_id, cluster_id")
    parser.add_argument("--report", required=True, help="JSON file to write the run's figures to")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args(argv)
    try:
        figures = run(args.input, json.loads(args.columns), args.threshold, args.output, args.seed)
    except Exception as error:  # noqa: BLE001  (the traceback goes to the log; the last line says what failed)
        traceback.print_exc()
        print(f"splink_resolve: {type(error).__name__}: {error}".splitlines()[0], file=sys.stderr)
        return 2
    Path(args.report).write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
