"""The project's own promises: the README's Quick start, the CLI and a clean lint."""

import re
import subprocess
import sys
from pathlib import Path

from hecon.cli import main

ROOT = Path(__file__).resolve().parents[1]


def test_quick_start_has_two_commands_and_ci_runs_the_second():
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"## Quick start.*?```bash\n(.*?)```", readme, re.S).group(1)
    commands = [line.split("#")[0].strip() for line in block.strip().splitlines()]
    assert len(commands) == 2
    assert "hecon run" in commands[0]
    assert commands[1] in (ROOT / ".ci" / "run").read_text()


def test_cli_run_prints_results_table(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["run"]) == 0
    assert len(list((tmp_path / "reports").glob("cilta_cel_mm-results-*.xlsx"))) == 1
    out = capsys.readouterr().out
    for strategy in ("SOC", "CAR T 2L", "CAR T 3L", "CAR T 4L+"):
        assert strategy in out
    assert "Incremental analysis" in out and "QALYs" in out


def test_cli_help_and_module_entry_point():
    proc = subprocess.run([sys.executable, "-m", "hecon", "run", "--help"],
                          capture_output=True, text=True, check=True)
    assert "Run the model of an input workbook" in proc.stdout


def test_ruff_is_clean():
    proc = subprocess.run([sys.executable, "-m", "ruff", "check", str(ROOT)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout


def test_readme_results_section_is_current():
    """The README's results are generated from the default model (tools/readme_results.py)."""
    proc = subprocess.run([sys.executable, str(ROOT / "tools" / "readme_results.py"),
                           "--check"], capture_output=True, text=True)
    assert proc.returncode == 0, "README results are stale: run python tools/readme_results.py"


def test_design_interface_names():
    """The public API named in DESIGN.md."""
    import hecon

    for name in ("cohort_trace", "icer_table", "load_workbook", "run", "psa", "budget_impact",
                 "partitioned_survival", "threshold_price"):
        assert callable(getattr(hecon, name)), name
    for name in ("fit", "fit_all", "fit_landmarks", "reconstruct_ipd"):
        assert callable(getattr(hecon.survival, name)), name
    assert callable(hecon.survival.Weibull(1.0, 1.0).survival)
    assert callable(hecon.Results.to_workbook)


def test_nothing_in_the_repository_points_outside_it():
    """Users only have the repository: no file refers to the maintainers' folder beside it."""
    pattern = re.compile(r"\.\./shared|shared/(DESIGN|EVIDENCE)\.md")
    files = [p for folder in ("hecon", "inputs", "tests", "tools", "benchmarks", "reports",
                                                "docs", "examples")
             for p in (ROOT / folder).rglob("*") if p.suffix in (".py", ".md", ".csv", ".txt")]
    files += [ROOT / "README.md", ROOT / "ARCHITECTURE.md", ROOT / "pyproject.toml"]
    hits = [p.relative_to(ROOT) for p in files
            if p.name != "test_project.py" and pattern.search(p.read_text(errors="replace"))]
    assert not hits, hits
