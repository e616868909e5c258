"""Property-based fuzzing of the edges: configuration overrides, command-line arguments, raw files.

Every case must end in a clear error (a CustsegError or argparse's usage exit) or, for raw data,
in accepted and quarantined rows that add up to the lines read: never a traceback, never a lost
row. The counters below record how many cases ran, for the report printed at the end.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyspark.sql import SparkSession

from custseg import cli
from custseg.config import ColumnSpec, SourceSpec, load_config
from custseg.config.model import Settings
from custseg.errors import CustsegError
from custseg.ingest import read_source
from custseg.ingest.parse import REASON
from tests.conftest import PROJECT

CASES: Counter[str] = Counter()
SECTIONS = sorted(f for f in Settings.__dataclass_fields__ if f not in ("sources", "rules"))
KEYS = sorted({f"{s}.{k}" for s in SECTIONS for k in getattr(Settings(), s).__dataclass_fields__})
yaml_values = st.one_of(
    st.integers(-10**12, 10**12).map(str), st.floats(allow_nan=True).map(str), st.booleans().map(str),
    st.text(max_size=30), st.sampled_from(["[]", "{}", "[a, b]", "{a: 1}", "null", "~", "'", "[", "{", ": :", "- x"]),
)
override = st.one_of(
    st.tuples(st.sampled_from(KEYS), yaml_values).map(lambda kv: f"{kv[0]}={kv[1]}"),
    st.text(max_size=40),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(override, max_size=4))
def test_config_overrides_end_in_a_config_or_a_clear_error(overrides: list[str]) -> None:
    CASES["config"] += 1
    try:
        load_config(PROJECT / "conf", "local", overrides)
    except CustsegError as exc:
        assert str(exc).strip()  # a message, not an empty error
        CASES["config_refused"] += 1


class _SparkWouldStart(BaseException):
    """The arguments passed every check made before Spark starts (a BaseException, so the CLI's
    own catch-all for unexpected errors does not turn it into a refusal)."""


COMMANDS = ["ingest", "resolve", "tables", "history", "vacuum", "lineage", "erase", "export", "consent",
            "sources", "spark-args", "resolve-model", "segments", "delta-coordinate", "nonsense"]
WORDS = ["--set", "--env", "--version", "--json", "--subject", "--incremental", "--retention-hours", "--customers",
         "--limit", "--from", "--to", "set", "build", "diff", "--channel", "--status", "opt_in", "x", "-1", "3",
         "segment.k_min=2", "segment.k_min=x", "nope.key=1", "local", "cluster", "missing-env", "--conf-dir",
         "/nonexistent"]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(command=st.sampled_from(COMMANDS),
       words=st.lists(st.one_of(st.sampled_from(WORDS), st.text(max_size=12)), max_size=6))
def test_command_lines_end_in_a_result_or_a_clear_error(command: str, words: list[str],
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    CASES["cli"] += 1

    def refuse_spark(*args: object, **kwargs: object) -> None:
        raise _SparkWouldStart()

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("custseg.session.build_spark_session", refuse_spark)
        try:
            code = cli.main([command, *words])
            CASES["cli_" + ("ok" if code == 0 else "refused")] += 1
            if code != 0:  # refused with one sentence of ours: not an error the CLI did not foresee
                err = capsys.readouterr().err
                assert err.startswith(f"custseg {command}: "), err
                assert "failed unexpectedly" not in err and "Traceback" not in err, err
        except SystemExit as exc:  # argparse: usage error (2) or --help (0)
            assert exc.code in (0, 2)
            CASES["cli_usage"] += 1
        except _SparkWouldStart:
            CASES["cli_valid"] += 1
    capsys.readouterr()


COLUMNS = [ColumnSpec("id", "string", required=True), ColumnSpec("n", "int"),
           ColumnSpec("ts", "timestamp", format="yyyy-MM-dd HH:mm:ss")]
field_text = st.one_of(
    # Lone surrogates (Cs) have no UTF-8 form; bytes that are not UTF-8 come from the binary lines below.
    st.text(alphabet=st.characters(exclude_characters="\n\r", exclude_categories=("Cs",)), max_size=12),
    st.sampled_from(['"', '""', '"a,b"', '"open', "2026-01-01 00:00:00", "12", "-3", "1e9", "9" * 30, "x" * 5000]),
)
valid_line = st.tuples(st.text(alphabet="abcXYZ019", min_size=1, max_size=8), st.integers(-99, 99)).map(
    lambda t: f"{t[0]},{t[1]},2026-01-02 03:04:05".encode())
line = st.one_of(
    valid_line,
    st.lists(field_text, min_size=0, max_size=5).map(lambda fs: ",".join(fs).encode("utf-8")),
    st.binary(max_size=40).map(lambda b: b.replace(b"\n", b" ").replace(b"\r", b" ")),  # mis-encoded bytes
)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=st.lists(line, min_size=0, max_size=12), truncate=st.booleans())
def test_raw_csv_rows_are_accepted_or_quarantined_never_lost(spark: SparkSession, tmp_path: Path,
                                                            lines: list[bytes], truncate: bool) -> None:
    CASES["ingest"] += 1
    folder = tmp_path / f"case{CASES['ingest']}"
    folder.mkdir()
    body = b"id,n,ts\n" + b"".join(x + b"\n" for x in lines)
    if truncate and len(body) > 10:
        body = body[: len(body) * 2 // 3]  # a file cut off mid-line
    (folder / "part.csv").write_bytes(body)
    source = SourceSpec(format="csv", path=str(folder / "*.csv"), columns=COLUMNS, primary_key=["id"],
                        options={"header": "true", "delimiter": ","})
    try:
        batch = read_source(spark, "fuzzed", source, str(folder / "*.csv"))
    except CustsegError:
        CASES["ingest_refused"] += 1
        return
    physical = body.split(b"\n")
    expected = len(physical) - 1 - (1 if physical[-1] == b"" else 0)  # lines after the header
    try:
        accepted = batch.records.filter(batch.records[REASON].isNull()).count()
        rejected = batch.records.filter(batch.records[REASON].isNotNull()).count()
        assert batch.records_read == accepted + rejected == max(expected, 0)
        CASES["ingest_rows"] += batch.records_read
        CASES["ingest_quarantined"] += rejected
        CASES["ingest_accepted"] += accepted
    finally:
        batch.release()


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(min_size=0, max_size=300))
def test_a_corrupt_parquet_file_is_quarantined(spark: SparkSession, tmp_path: Path, data: bytes) -> None:
    CASES["parquet"] += 1
    folder = tmp_path / f"pq{CASES['parquet']}"
    folder.mkdir()
    (folder / "part.parquet").write_bytes(b"PAR1" + data)
    source = SourceSpec(format="parquet", path=str(folder / "*.parquet"), columns=COLUMNS)
    try:
        batch = read_source(spark, "fuzzed", source, str(folder / "*.parquet"))
    except CustsegError:
        CASES["parquet_refused"] += 1
        return
    try:
        reasons = [r[REASON] for r in batch.records.collect()]  # one row per unreadable file
        assert batch.records_read == len(reasons) and all(reasons)
    finally:
        batch.release()


def test_zz_report_fuzz_cases(capsys: pytest.CaptureFixture[str]) -> None:
    """Prints how many cases ran (run with -s to see it); fails if a fuzz test above ran none."""
    ran = {k: v for k, v in CASES.items() if "_" not in k}
    if not ran:
        pytest.skip("run with the fuzz tests above")
    with capsys.disabled():
        print("\nfuzz cases: " + ", ".join(f"{k}={v}" for k, v in sorted(CASES.items())))
    assert all(v > 0 for v in ran.values())


