"""The validated configuration with its provenance and resolved absolute paths."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from custseg.config.model import (
    CleanSettings,
    FeatureSettings,
    GenerateSettings,
    IngestSettings,
    PrivacySettings,
    PropensitySettings,
    QualitySettings,
    RecommendSettings,
    ResolveSettings,
    RuleSpec,
    SegmentSettings,
    Settings,
    SourceSpec,
    SparkSettings,
    StorageSettings,
    StreamSettings,
)


@dataclass(frozen=True)
class Config:
    settings: Settings
    project_dir: Path
    env: str
    files: tuple[str, ...]
    overrides: tuple[str, ...]
    config_hash: str

    # Sections, so that jobs read `config.segment.k_min`.
    @property
    def spark(self) -> SparkSettings:
        return self.settings.spark

    @property
    def storage(self) -> StorageSettings:
        return self.settings.storage

    @property
    def generate(self) -> GenerateSettings:
        return self.settings.generate

    @property
    def ingest(self) -> IngestSettings:
        return self.settings.ingest

    @property
    def clean(self) -> CleanSettings:
        return self.settings.clean

    @property
    def resolve(self) -> ResolveSettings:
        return self.settings.resolve

    @property
    def features(self) -> FeatureSettings:
        return self.settings.features

    @property
    def segment(self) -> SegmentSettings:
        return self.settings.segment

    @property
    def quality(self) -> QualitySettings:
        return self.settings.quality

    @property
    def stream(self) -> StreamSettings:
        return self.settings.stream

    @property
    def propensity(self) -> PropensitySettings:
        return self.settings.propensity

    @property
    def recommend(self) -> RecommendSettings:
        return self.settings.recommend

    @property
    def privacy(self) -> PrivacySettings:
        return self.settings.privacy

    @property
    def sources(self) -> dict[str, SourceSpec]:
        return self.settings.sources

    @property
    def rules(self) -> dict[str, list[RuleSpec]]:
        return self.settings.rules

    # Resolved locations, as strings: absolute local paths, or URIs (s3a://, hdfs://) kept
    # as given. Absolute, because executors do not share the driver's working directory.
    @property
    def root_dir(self) -> str:
        root = self.storage.root
        if is_uri(root):
            return root.rstrip("/")
        path = Path(root).expanduser()
        return str(path if path.is_absolute() else (self.project_dir / path).resolve())

    @property
    def warehouse_dir(self) -> str:
        return join_path(self.root_dir, "warehouse")

    @property
    def raw_dir(self) -> str:
        return join_path(self.root_dir, "raw")

    @property
    def checkpoint_dir(self) -> str:
        return join_path(self.root_dir, "checkpoints")

    @property
    def reports_dir(self) -> str:
        return join_path(self.root_dir, "reports")

    @property
    def models_dir(self) -> str:
        return join_path(self.root_dir, "models")

    def source_glob(self, source: SourceSpec) -> str:
        if is_uri(source.path):
            return source.path
        path = Path(source.path).expanduser()
        return str(path) if path.is_absolute() else join_path(self.raw_dir, source.path)

    def with_overrides(self, **sections: Any) -> Config:
        """A copy with whole settings sections replaced (tests and benchmarks)."""
        return dataclasses.replace(self, settings=dataclasses.replace(self.settings, **sections))

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self.settings)


def is_uri(path: str) -> bool:
    return "://" in path


def join_path(base: str, *parts: str) -> str:
    """Join path parts with '/', for local paths and URIs alike."""
    return "/".join([base.rstrip("/"), *(p.strip("/") for p in parts)])
