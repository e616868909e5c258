"""Every YAML and command example in README.md and docs/ is checked here, so a documented
example cannot drift from the code: YAML loads as a user's config file, each `custseg` and
`spark-submit.sh` command parses and loads its configuration, `make` targets exist, and the
walk-through in docs/resolve-your-own-file.md runs end to end."""

from __future__ import annotations

import re
import shlex
import textwrap
from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from custseg import cli
from custseg.catalog import Catalog
from custseg.config import load_config
from custseg.jobs import resolve as resolve_job
from custseg.runtime import table_store
from tests.conftest import PROJECT

DOCUMENTS = [PROJECT / "README.md", *sorted((PROJECT / "docs").glob("*.md"))]
# Options of spark-submit.sh itself (with their value count); the rest go to the job.
SCRIPT_OPTIONS = {"--master": 1, "--deploy-mode": 1, "--spark-conf": 1, "--python": 1, "--delta-packages": 0,
                  "--kafka-packages": 0}


def blocks(document: Path, language: str) -> list[str]:
    """The fenced blocks of ``language`` in ``document``, dedented (list items indent them)."""
    text = document.read_text(encoding="utf-8")
    pattern = rf"^([ \t]*)```{language}\n(.*?)^\1```"
    return [textwrap.dedent(m.group(2)) for m in re.finditer(pattern, text, re.MULTILINE | re.DOTALL)]


def commands(document: Path) -> list[list[str]]:
    """Each command of the document's bash blocks as words (comments dropped, continued lines joined)."""
    text = "\n".join(blocks(document, "bash")).replace("\\\n", " ")
    lines = [line.split(" #")[0].strip() for line in text.splitlines()]
    return [shlex.split(line) for line in lines if line and not line.startswith("#")]


def test_the_documents_hold_examples() -> None:
    assert len([b for d in DOCUMENTS for b in blocks(d, "yaml")]) >= 2
    assert len([c for d in DOCUMENTS for c in commands(d)]) >= 8


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: p.name)
def test_every_yaml_example_loads_as_a_config_file(document: Path, tmp_path: Path) -> None:
    for index, block in enumerate(blocks(document, "yaml")):
        mine = tmp_path / f"example-{index}.yaml"
        mine.write_text(block)
        load_config(PROJECT / "conf", "local", [], [mine])  # raises ConfigError naming the key at fault


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: p.name)
def test_every_command_example_parses_and_loads_its_configuration(document: Path, tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    targets = set(re.findall(r"^([a-z][a-z-]*):", (PROJECT / "Makefile").read_text(), re.MULTILINE))
    parser = cli.build_parser()
    # A `--config FILE` of an example is the document's own YAML example, written where it runs.
    monkeypatch.chdir(tmp_path)
    examples = blocks(document, "yaml")
    for words in commands(document):
        for name in [w for previous, w in zip(words, words[1:], strict=False) if previous == "--config"]:
            assert examples, f"{document.name}: {words} names a config file, and the document shows none"
            (tmp_path / name).write_text(examples[0])
        program, arguments = Path(words[0]).name, words[1:]
        if program == "make":
            assert {w for w in arguments if "=" not in w} <= targets, words
            continue
        if program == "spark-submit.sh":
            if arguments in (["--help"], ["-h"]):
                continue
            kept, skip = [], 0
            for word in arguments:
                if skip:
                    skip -= 1
                elif word in SCRIPT_OPTIONS:
                    skip = SCRIPT_OPTIONS[word]
                else:
                    kept.append(word)
            arguments = kept
        elif program != "custseg":
            continue  # shell set-up lines (export, spark-class) are not ours to parse
        args = parser.parse_args(arguments)
        if hasattr(args, "env"):
            cli._config_from(args)


@pytest.mark.heavy
def test_the_walk_through_resolves_its_own_example(spark: SparkSession, tmp_path: Path) -> None:
    document = PROJECT / "docs" / "resolve-your-own-file.md"
    (csv,), (settings,) = blocks(document, "csv"), blocks(document, "yaml")
    (tmp_path / "people.csv").write_text(csv)
    mine = tmp_path / "mine.yaml"
    mine.write_text(settings.replace("path: people.csv", f"path: {tmp_path / 'people.csv'}"))
    overrides = [f"storage.root={tmp_path / 'own-data'}", "spark.shuffle_partitions=2", "resolve.u_sample_pairs=1000"]
    config = load_config(PROJECT / "conf", "local", overrides, [mine])
    resolve_job.run(spark, config)
    crosswalk = table_store(spark, config).read(Catalog(config).path("identity_crosswalk")).collect()
    customer = {r.record_id: r.customer_id for r in crosswalk}
    assert customer["1"] == customer["2"] and customer["3"] == customer["4"]
    assert len({customer["1"], customer["3"], customer["5"]}) == 3
