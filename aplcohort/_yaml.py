"""YAML reading: the safe loader, in C when PyYAML was built with libyaml.

The pure-Python ``yaml.SafeLoader`` takes ~0.15 s for the bundled Min 2022 plan on a
2-CPU machine; ``CSafeLoader`` parses the same documents to the same Python objects
(same resolver and constructors) about ten times faster. Both only build plain data
(no Python objects from tags): plans and mappings are untrusted input.
"""
from __future__ import annotations

import yaml

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def safe_load(text):
    """``yaml.safe_load`` with the C loader when there is one."""
    return yaml.load(text, Loader=_LOADER)  # noqa: S506 - a SafeLoader (C or Python)
