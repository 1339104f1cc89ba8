"""Item pipelines: extraction, validation, classification, then storage."""
