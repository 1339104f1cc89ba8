"""Configuration: the settings schema, the loader, and the shipped default YAML files."""

from config.loader import ConfigError, load_settings
from config.schema import Schedule, Settings, Source, SourceKind, Topic

__all__ = ["ConfigError", "Schedule", "Settings", "Source", "SourceKind", "Topic", "load_settings"]
