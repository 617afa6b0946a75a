"""The data an installed hecon needs ship inside the package, once. (CI also builds the wheel,
installs it in a fresh virtual environment and runs ``hecon run`` from another directory; see
.ci/run.)"""

import tomllib
from importlib.resources import files
from pathlib import Path

from hecon.data import DEFAULT_WORKBOOK_NAME, LIFE_TABLE_NAME, TARGETS_NAME, data_path
from hecon.examples import DEFAULT_WORKBOOK
from hecon.survival.background import DEFAULT_LIFE_TABLE
from hecon.validation import DEFAULT_TARGETS

ROOT = Path(__file__).resolve().parents[1]


def test_data_files_are_package_resources_and_declared():
    names = (DEFAULT_WORKBOOK_NAME, LIFE_TABLE_NAME, TARGETS_NAME)
    for name in names:
        assert (files("hecon.data") / name).is_file(), name
    assert [DEFAULT_WORKBOOK, DEFAULT_LIFE_TABLE, DEFAULT_TARGETS] == [data_path(n)
                                                                       for n in names]
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    declared = pyproject["tool"]["setuptools"]["package-data"]["hecon.data"]
    assert {"*.xlsx", "*.csv"} <= set(declared)


def test_one_copy_of_each_data_file():
    for name in (DEFAULT_WORKBOOK_NAME, LIFE_TABLE_NAME, TARGETS_NAME):
        copies = [p for p in ROOT.rglob(name) if ".git" not in p.parts and "build" not in p.parts
                  and "reports" not in p.parts]
        assert copies == [ROOT / "hecon" / "data" / name], copies
