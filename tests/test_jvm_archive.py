"""The driver JVM's class-data archive: written by a run, mapped by the next local session."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from pyspark.find_spark_home import _find_spark_home

from custseg import jvm_archive
from custseg.session import SPARK_CONF_DIR, _archive_launch, _spark_conf_dir, check_java

# A session from the shipped config, started and stopped: it loads SparkContext and the
# session's classes, which the proof looks for.
SESSION_SCRIPT = textwrap.dedent("""
    import sys
    from custseg.config import load_config
    from custseg.session import build_spark_session
    config = load_config(overrides=["spark.driver_memory=1g", "storage.root=" + sys.argv[1]])
    spark = build_spark_session(config, extra_conf={"spark.driver.extraJavaOptions": " ".join(sys.argv[2:])})
    print(spark.version)
    spark.stop()
""")


@pytest.fixture()
def archive_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "jvm"
    monkeypatch.setenv(jvm_archive.DIR_ENV, str(folder))
    monkeypatch.delenv(jvm_archive.DUMP_ENV, raising=False)
    return folder


def test_an_archive_is_named_for_one_java_runtime_and_one_set_of_spark_jars(archive_dir: Path, tmp_path: Path) -> None:
    spark_home = tmp_path / "spark"
    (spark_home / "jars").mkdir(parents=True)
    (spark_home / "jars" / "spark-core.jar").write_bytes(b"x" * 10)
    java_17 = "/usr/bin/java\nopenjdk version \"17.0.15\""
    first = jvm_archive.archive_path(java_17, str(spark_home))
    assert first == jvm_archive.archive_path(java_17, str(spark_home))
    assert first.parent == archive_dir
    assert first != jvm_archive.archive_path(java_17.replace("17.0.15", "17.0.16"), str(spark_home))
    (spark_home / "jars" / "spark-core.jar").write_bytes(b"x" * 11)  # another pyspark's jar
    assert first != jvm_archive.archive_path(java_17, str(spark_home))


def test_a_session_maps_an_archive_only_when_one_exists(archive_dir: Path, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    java, spark_home = "java 17", str(tmp_path)
    assert jvm_archive.launch_settings(java, spark_home) is None
    archive = jvm_archive.archive_path(java, spark_home)
    archive.parent.mkdir(parents=True)
    archive.write_bytes(b"archive")
    settings = jvm_archive.launch_settings(java, spark_home)
    assert settings is not None
    options, conf_dir = settings
    assert f"-XX:SharedArchiveFile={archive}" in options and "-Xlog:cds=off" in options
    assert conf_dir.is_dir() and not any(conf_dir.iterdir())  # on the class path: it must stay empty
    monkeypatch.setenv(jvm_archive.DUMP_ENV, str(tmp_path / "out.jsa"))
    dump = jvm_archive.launch_settings(java, spark_home)
    assert dump is not None and f"-XX:ArchiveClassesAtExit={tmp_path / 'out.jsa'}" in dump[0]


def test_the_empty_conf_folder_is_set_only_while_the_jvm_launches(monkeypatch: pytest.MonkeyPatch,
                                                                   tmp_path: Path) -> None:
    monkeypatch.setenv("SPARK_CONF_DIR", SPARK_CONF_DIR)
    with _spark_conf_dir(tmp_path):
        assert os.environ["SPARK_CONF_DIR"] == str(tmp_path)
    assert os.environ["SPARK_CONF_DIR"] == SPARK_CONF_DIR
    monkeypatch.delenv("SPARK_CONF_DIR")
    with _spark_conf_dir(tmp_path):
        pass
    assert "SPARK_CONF_DIR" not in os.environ


def test_no_archive_is_used_where_it_could_not_be_mapped(archive_dir: Path, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    java = "java 17"
    archive = jvm_archive.archive_path(java, str(tmp_path))
    archive.parent.mkdir(parents=True)
    archive.write_bytes(b"archive")
    monkeypatch.setenv("SPARK_CONF_DIR", str(tmp_path / "mine"))  # a conf folder of the user's own
    assert _archive_launch(java) is None
    monkeypatch.delenv("SPARK_CONF_DIR")
    jvm_archive.empty_conf_dir().mkdir()
    (jvm_archive.empty_conf_dir() / "spark-defaults.conf").write_text("")  # someone wrote into it
    assert jvm_archive.launch_settings(java, str(tmp_path)) is None
    (jvm_archive.empty_conf_dir() / "spark-defaults.conf").unlink()
    assert jvm_archive.launch_settings(java, str(tmp_path)) is not None


def test_an_archive_path_with_a_space_stays_one_java_option(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(jvm_archive.DIR_ENV, str(tmp_path / "my projects"))
    monkeypatch.delenv(jvm_archive.DUMP_ENV, raising=False)
    archive = jvm_archive.archive_path("java 17", str(tmp_path))
    archive.parent.mkdir(parents=True)
    archive.write_bytes(b"archive")
    settings = jvm_archive.launch_settings("java 17", str(tmp_path))
    assert settings is not None and shlex.split(settings[0])[0] == f"-XX:SharedArchiveFile={archive}"


def test_a_failed_archiving_run_names_its_cause_and_leaves_no_file(archive_dir: Path) -> None:
    with pytest.raises(RuntimeError, match="exit 3.*no such stage"):
        jvm_archive.build("java 17", _find_spark_home(),
                          workload=[sys.executable, "-c", "import sys; print('no such stage', file=sys.stderr); "
                                                          "sys.exit(3)"])
    assert not list(archive_dir.glob("*.jsa")) and not list(archive_dir.glob("*.partial"))


@pytest.mark.heavy
def test_a_written_archive_serves_spark_classes_to_the_next_local_session(archive_dir: Path, tmp_path: Path) -> None:
    java = check_java()
    run = [sys.executable, "-c", SESSION_SCRIPT, str(tmp_path / "root")]
    archive, _ = jvm_archive.build(java, _find_spark_home(), workload=run)
    assert archive == jvm_archive.archive_path(java, _find_spark_home()) and archive.stat().st_size > 0
    loads = tmp_path / "class-load.log"
    done = subprocess.run([*run, f"-Xlog:class+load=info:file={loads}"], capture_output=True, text=True, timeout=300,
                          check=False)
    assert done.returncode == 0 and done.stdout.strip().splitlines()[-1].startswith("4."), done.stderr[-2000:]
    sources = {line.split()[1]: line for line in loads.read_text().splitlines() if " source: " in line}
    for name in ("org.apache.spark.SparkContext", "org.apache.spark.sql.internal.SQLConf"):
        assert "shared objects file (top)" in sources[name], sources[name]
    assert "][cds" not in done.stdout + done.stderr  # a mapped (or refused) archive prints nothing


def test_writing_an_archive_under_a_users_conf_folder_is_refused_in_one_sentence(
        archive_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from custseg.cli import main

    monkeypatch.setenv("SPARK_CONF_DIR", str(tmp_path / "mine"))
    assert main(["jvm-archive"]) == 3
    said = capsys.readouterr().err.strip().splitlines()
    assert said == [f"custseg jvm-archive: SPARK_CONF_DIR is set ({tmp_path / 'mine'}), and sessions with a Spark "
                    "conf folder of their own start without an archive: unset it to write one"]
    assert not archive_dir.exists()  # nothing ran
