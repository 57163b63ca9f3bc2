"""Lazy module proxies: ``scipy.stats`` costs ~1 s to import and most sessions never
need it (``import aplcohort`` must stay fast); the module is imported on first use."""

from __future__ import annotations

import importlib


class LazyModule:
    """Attribute access imports the module once, then forwards to it."""

    def __init__(self, name: str):
        self._name = name
        self._mod = None

    def __getattr__(self, attr):
        if attr.startswith("__"):
            raise AttributeError(attr)
        mod = self._mod
        if mod is None:
            mod = self._mod = importlib.import_module(self._name)
        return getattr(mod, attr)


scipy_stats = LazyModule("scipy.stats")
scipy_optimize = LazyModule("scipy.optimize")
