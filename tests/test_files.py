"""The file API beside the table store (custseg.files), on local paths and file:// URIs, and the
saved-model command that reads through it."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from custseg import files, tools
from custseg.config import Config
from custseg.config.resolved import join_path
from custseg.errors import CustsegError
from custseg.resolve.model import FellegiSunterModel


def test_text_round_trips_and_folders_are_made(spark: SparkSession, tmp_path: Path) -> None:
    path = str(tmp_path / "a" / "b" / "note.txt")
    assert not files.exists(spark, path)
    files.write_text(spark, path, "first\n")
    files.write_text(spark, path, "zwölf € \n")  # replaces, and keeps UTF-8
    assert files.exists(spark, path) and files.exists(spark, str(tmp_path / "a"))
    assert files.read_text(spark, path) == "zwölf € \n"
    assert (tmp_path / "a" / "b" / "note.txt").read_text(encoding="utf-8") == "zwölf € \n"
    uri = f"file://{tmp_path}/uri/note.txt"
    files.write_text(spark, uri, "by URI")
    assert files.read_text(spark, uri) == "by URI" == (tmp_path / "uri" / "note.txt").read_text()


def test_reading_a_missing_file_or_a_folder_is_a_file_not_found(spark: SparkSession, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no file at .*missing.txt"):
        files.read_text(spark, str(tmp_path / "missing.txt"))
    with pytest.raises(FileNotFoundError, match="no file at"):
        files.read_text(spark, str(tmp_path))


def test_list_files_globs_and_leaves_out_folders_and_hidden_files(spark: SparkSession, tmp_path: Path) -> None:
    for name in ("b.csv", "a.csv", "c.json", ".hidden.csv", "_SUCCESS", "sub.csv/inner.csv"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x")
    found = files.list_files(spark, str(tmp_path / "*.csv"))
    assert [Path(f.removeprefix("file:")).name for f in found] == ["a.csv", "b.csv"]
    assert all(f.startswith("file:") for f in found)  # URIs, as Spark's readers take them
    both = files.list_files(spark, str(tmp_path / "{a.csv,c.json}"))
    assert [Path(f.removeprefix("file:")).name for f in both] == ["a.csv", "c.json"]
    assert files.list_files(spark, str(tmp_path / "nothing-*")) == []
    assert files.list_files(spark, str(tmp_path / "no-folder" / "*.csv")) == []


def test_move_replaces_the_target_copy_keeps_the_source_remove_deletes(spark: SparkSession, tmp_path: Path) -> None:
    staged, target = tmp_path / "staged", tmp_path / "out" / "target"
    (staged / "part-0.csv").parent.mkdir()
    (staged / "part-0.csv").write_text("new")
    (target / "old").mkdir(parents=True)
    (target / "old" / "part-9.csv").write_text("old")
    files.move(spark, str(staged), str(target))
    assert not staged.exists() and sorted(p.name for p in target.iterdir()) == ["part-0.csv"]

    files.copy(spark, str(target / "part-0.csv"), str(tmp_path / "copy.csv"))
    assert (tmp_path / "copy.csv").read_text() == (target / "part-0.csv").read_text() == "new"
    files.write_text(spark, str(tmp_path / "copy.csv"), "changed")
    files.copy(spark, str(target / "part-0.csv"), str(tmp_path / "copy.csv"))  # overwrites
    assert (tmp_path / "copy.csv").read_text() == "new"

    files.remove(spark, str(tmp_path / "out"))
    assert not (tmp_path / "out").exists()
    files.remove(spark, str(tmp_path / "out"))  # absent: nothing to do
    with pytest.raises(FileNotFoundError, match="nothing to move at .*part-0.csv"):
        files.move(spark, str(target / "part-0.csv"), str(tmp_path / "elsewhere.csv"))
    with pytest.raises(FileNotFoundError, match="nothing to copy at .*part-0.csv"):
        files.copy(spark, str(target / "part-0.csv"), str(tmp_path / "elsewhere.csv"))


def test_remove_checksums_deletes_only_the_side_files(spark: SparkSession, tmp_path: Path) -> None:
    folder = tmp_path / "export"
    (folder / "nested").mkdir(parents=True)
    for name in ("part-0.csv", ".part-0.csv.crc", "nested/part-1.csv", "nested/.part-1.csv.crc", ".keep"):
        (folder / name).write_text("x")
    files.remove_checksums(spark, str(folder))
    left = sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())
    assert left == [".keep", "nested/part-1.csv", "part-0.csv"]
    files.remove_checksums(spark, str(tmp_path / "absent"))  # nothing there: nothing to do


def _model() -> FellegiSunterModel:
    return FellegiSunterModel(["email"], {"email": [1.0, 0.9, 0.05, 0.05]}, {"email": [1.0, 0.001, 0.01, 0.989]}, 0.1,
                              trained_at="2026-01-01T00:00:00", records=12)


def test_resolve_model_reads_the_saved_model_through_the_file_api(spark: SparkSession, config: Config,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    latest = join_path(config.models_dir, "resolution", "latest.json")
    with pytest.raises(CustsegError, match=f"no saved model at {latest}: run `custseg resolve` first"):
        tools.print_resolve_model(spark, config, argparse.Namespace(path=None))
    files.write_text(spark, latest, _model().to_json())
    assert tools.print_resolve_model(spark, config, argparse.Namespace(path=None)) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("trained 2026-01-01T00:00:00") and "records 12;" in printed and "email" in printed
    other = f"file://{config.root_dir}/elsewhere.json"
    files.write_text(spark, other, '{"comparisons": ["email"]}')
    with pytest.raises(CustsegError, match="elsewhere.json is not a saved resolution model"):
        tools.print_resolve_model(spark, config, argparse.Namespace(path=other))
