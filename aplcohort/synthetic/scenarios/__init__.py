"""Bundled scenario files (YAML)."""
