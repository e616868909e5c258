"""The docs in docs/ name only what exists: commands, make targets, jobs, tables and config keys;
the generated configuration reference equals what the schema gives."""

from __future__ import annotations

import dataclasses
import re

import pytest

from custseg import jobs
from custseg.catalog import Catalog
from custseg.cli import build_parser
from custseg.config import Config, model
from custseg.docs.config_reference import config_reference, keys
from tests.conftest import PROJECT

DOCS = PROJECT / "docs"
GENERATED = ("data_dictionary.md", "config_reference.md")
SPAN = re.compile(r"`([^`]+)`")  # a span may wrap onto the next line
FENCED = re.compile(r"^```.*?^```", flags=re.MULTILINE | re.DOTALL)
SECTIONS = {f.name for f in dataclasses.fields(model.Settings)}


def _config_keys() -> set[str]:
    found = set()
    for section in dataclasses.fields(model.Settings):
        for key, _, _ in keys(typing_hint(section.name), section.name):
            parts = key.split(".")
            found |= {".".join(parts[:i]) for i in range(2, len(parts) + 1)}  # a section's sub-objects count too
    return found


def typing_hint(section: str) -> object:
    import typing

    return typing.get_type_hints(model.Settings, vars(model))[section]


def _commands() -> set[str]:
    parser = build_parser()
    action = next(a for a in parser._actions if a.dest == "command")
    return set(action.choices)  # type: ignore[arg-type]


def _make_targets() -> set[str]:
    text = (PROJECT / "Makefile").read_text(encoding="utf-8")
    return set(re.findall(r"^([a-z][\w-]*):", text, flags=re.MULTILINE))


def problems_in(text: str, config: Config) -> list[str]:
    """Every command, target, job, table and config key ``text`` names that does not exist."""
    commands, targets, known_keys = _commands(), _make_targets(), _config_keys()
    tables = {s.name for s in Catalog(config).specs()}
    job_names = {*jobs.PIPELINE, *jobs.STANDALONE, "run_all"}
    problems = []
    text = FENCED.sub("", text)
    for span in SPAN.findall(text):
        span = " ".join(span.split())
        words = span.split()
        if len(words) > 1 and words[1].isupper():  # a placeholder: `custseg JOB`
            continue
        if words[0] == "custseg" and len(words) > 1 and words[1] not in commands:
            problems.append(f"command {span!r}")
        elif words[0] == "make" and len(words) > 1 and words[1] not in targets:
            problems.append(f"make target {span!r}")
        elif words[0] == "./spark-submit.sh" and len(words) > 1 and words[1] not in {*job_names, "--help"}:
            problems.append(f"job {span!r}")
        key = re.fullmatch(r"([a-z_]+)\.([\w.\[\]]+)(=.*)?", span)
        if key and key[1] in SECTIONS and "*" not in span and f"{key[1]}.{key[2]}" not in known_keys:
            problems.append(f"config key {span!r}")
    for item in re.findall(r"^- (?:reads|writes):.*(?:\n  .*)*", text, flags=re.MULTILINE):  # with its wrapped lines
        named = [s for s in SPAN.findall(item) if re.fullmatch(r"[a-z_]+", s)]
        problems += [f"table {name!r}" for name in named if name not in tables]
    return problems


def test_config_reference_is_in_step_with_the_schema() -> None:
    committed = (DOCS / "config_reference.md").read_text(encoding="utf-8")
    assert committed == config_reference(PROJECT / "conf" / "base.yaml"), \
        "run: custseg config-reference --output docs/config_reference.md"
    assert "| `segment.k_max` | integer | 10 |" in committed
    assert "| `resolve.blocking[].bands` | integer | 20 | minhash: bands OR-ed ... |" in committed


@pytest.mark.parametrize("page", sorted(p.name for p in DOCS.glob("*.md") if p.name not in GENERATED))
def test_docs_name_only_what_exists(page: str, base_config: Config) -> None:
    assert problems_in((DOCS / page).read_text(encoding="utf-8"), base_config) == []


def test_every_job_has_a_section_in_the_job_reference() -> None:
    text = (DOCS / "jobs.md").read_text(encoding="utf-8")
    assert set(re.findall(r"^## ([a-z_]+)$", text, flags=re.MULTILINE)) == {*jobs.PIPELINE, *jobs.STANDALONE, "run_all"}


def test_docs_check_finds_what_does_not_exist(base_config: Config) -> None:
    text = ("Run `custseg reprt` or `make notebooks`, `./spark-submit.sh sgment`; set `segment.k_maxx=3`.\n"
            "- reads: `segment_profiles`,\n  `customer_segmnts`\n```\ncustseg nothing-checked-here\n```\n")
    assert problems_in(text, base_config) == [
        "command 'custseg reprt'", "make target 'make notebooks'",
        "job './spark-submit.sh sgment'",
        "config key 'segment.k_maxx=3'", "table 'customer_segmnts'"]
    named = "`segment.k_max=3`, `resolve.input`, `custseg segments\n diff`, `make notebook`"
    assert problems_in(named, base_config) == []
