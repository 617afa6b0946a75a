"""Data shipped inside the package, so that an installed hecon runs from any directory: the
default input workbook (``cilta_cel_mm.xlsx``, built by ``inputs/evidence/build.py`` in the
repository), the US period life table (``us_life_table.csv``, sources in its header and in
``inputs/README.md``) and the validation targets of the default model (``targets.csv``)."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

DEFAULT_WORKBOOK_NAME = "cilta_cel_mm.xlsx"
LIFE_TABLE_NAME = "us_life_table.csv"
TARGETS_NAME = "targets.csv"


def data_path(name: str) -> Path:
    """The file ``name`` of the package data as a path (installed packages are directories)."""
    return Path(str(files(__name__) / name))
