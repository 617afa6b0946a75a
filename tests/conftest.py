import os
import shutil

import pytest

from hecon import Curve, Line, Model, Palliative, Parameter, Regimen, Settings, Strategy
from hecon.examples import cilta_cel_sequencing
from hecon.io.workbook_in import write_template


def soffice() -> str:
    """LibreOffice's program: required in CI (.ci/run installs it), a skip elsewhere."""
    exe = shutil.which("soffice") or shutil.which("libreoffice")
    if exe is None:
        if os.environ.get("CI"):
            pytest.fail("LibreOffice (soffice) is required in CI; .ci/run installs it")
        pytest.skip("LibreOffice not installed here (.ci/run installs it)")
    return exe


def one_line_model(pfs_rate=0.6, pal_rate=1.2, death_share=0.0, horizon=20.0, cycle_days=7.0,
                   **settings) -> Model:
    """One active line (exponential PFS, rates per year) then palliative care."""
    params = {p.name: p for p in (
        Parameter("pfs_rate", pfs_rate), Parameter("pal_rate", pal_rate),
        Parameter("death_share", death_share), Parameter("u", 0.8), Parameter("u_pal", 0.6),
        Parameter("drug", 1000.0, unit="USD/month"), Parameter("pal_cost", 500.0, unit="USD/month"),
    )}
    curves = {"pfs": Curve("pfs", "exponential", {"rate": "pfs_rate"}, unit="years"),
              "pal": Curve("pal", "exponential", {"rate": "pal_rate"}, unit="years")}
    regimens = {"A": Regimen("A", "pfs", "u", death_share="death_share",
                             drug_cost=((0.0, "drug"),))}
    return Model("one line", Settings(horizon_years=horizon, cycle_days=cycle_days, **settings),
                 params, curves, regimens, (Strategy("A", (Line("A"),)),),
                 Palliative("pal", "pal_cost", "u_pal"))


@pytest.fixture()
def work(tmp_path, monkeypatch):
    """A folder holding the template workbook t.xlsx, made the working directory."""
    write_template(tmp_path / "t.xlsx")
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture(scope="session")
def seed_model() -> Model:
    return cilta_cel_sequencing()
