"""The submission report (hecon.report): a self-contained HTML file with its figures as files.

Two reports are written once per session: the template model (10-year horizon) with a PSA of
200 draws and a budget impact table, and the seed model without PSA or budget. The browser
tests render the seed report in headless Chromium (screenshot and PDF) and check, from
Chromium's own records, that the page logged no JavaScript error and made no network request:

* Chromium runs with ``--enable-logging=stderr --v=0``: console errors of the page ("Uncaught
  ...") and failed loads ("Failed to load resource", "net::ERR_...") are written to stderr;
* every host name resolves to nothing (``--host-resolver-rules="MAP * ~NOTFOUND"``), so no
  request can leave the machine;
* ``--log-net-log`` records every URL request; a request made by the page (rather than by the
  browser's own background services, whose initiator is "not an origin") has the page's
  ``file://`` origin in its network isolation key. A control page with an external image and a
  script error shows that both checks catch what they are meant to catch.

Chromium: ``/usr/bin/chromium`` (Debian package ``chromium``). Missing, the browser tests are
skipped, or fail when the environment variable CI is set.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hecon import report_figures as rf
from hecon.budget_impact import budget_impact
from hecon.examples import cilta_cel_sequencing, template_model
from hecon.model import Curve
from hecon.report import SECTIONS, cheers_items, inline_svg, write_report
from hecon.results import run

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--enable-logging=stderr",
                  "--v=0", "--host-resolver-rules=MAP * ~NOTFOUND", "--hide-scrollbars")


# -- parsing -----------------------------------------------------------------------------------
class Page(HTMLParser):
    """The parts of the report the tests look at: sections, figures, tables, attributes."""

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.sections: list[str] = []
        self.ids: list[str] = []
        self.links: list[tuple[str, str, str]] = []  # (tag, attribute, value)
        self.figures: list[dict] = []  # id, section, svg children, img srcs
        self.tables: list[dict] = []  # section, caption, rows (list of cell texts)
        self.tags: set[str] = set()
        self._stack_section: str | None = None
        self._figure: dict | None = None
        self._svg_depth = 0
        self._table: dict | None = None
        self._cell: list[str] | None = None
        self._in_caption = False
        self._in_tbody = False
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.add(tag)
        if "id" in a:
            self.ids.append(a["id"])
        for name, value in attrs:
            if name in ("src", "href", "xlink:href", "action", "data", "poster") and value:
                self.links.append((tag, name, value))
        if tag == "section":
            self._stack_section = a.get("id")
            self.sections.append(a.get("id"))
        elif tag == "figure":
            self._figure = {"id": a.get("id"), "section": self._stack_section, "svg": 0,
                            "img": []}
            self.figures.append(self._figure)
        elif tag == "svg" and self._figure is not None:
            self._svg_depth += 1
        elif self._svg_depth and self._figure is not None:
            self._figure["svg"] += 1
        elif tag == "img" and self._figure is not None:
            self._figure["img"].append(a.get("src", ""))
        elif tag == "table":
            self._table = {"section": self._stack_section, "caption": "", "rows": []}
            self.tables.append(self._table)
        elif tag == "caption":
            self._in_caption = True
        elif tag == "tbody":
            self._in_tbody = True
        elif tag == "tr" and self._in_tbody and self._table is not None:
            self._table["rows"].append([])
        elif tag in ("td", "th") and self._in_tbody:
            self._cell = []

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag == "svg":
            self.handle_endtag(tag)

    def handle_endtag(self, tag):
        if tag == "svg" and self._svg_depth:
            self._svg_depth -= 1
        elif tag == "figure":
            self._figure = None
        elif tag == "section":
            self._stack_section = None
        elif tag == "caption":
            self._in_caption = False
        elif tag == "tbody":
            self._in_tbody = False
        elif tag in ("td", "th") and self._cell is not None and self._table is not None:
            self._table["rows"][-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data):
        if self._in_caption and self._table is not None:
            self._table["caption"] += data
        if self._cell is not None:
            self._cell.append(data)

    def section_text(self, text: str, section: str) -> str:
        start = text.index(f'<section id="{section}">')
        return text[start:text.index("</section>", start)]


# -- fixtures ----------------------------------------------------------------------------------
def _budget(model) -> pd.DataFrame:
    names = model.strategy_names
    years = (1, 2, 3)
    current = pd.DataFrame({y: [1.0, 0.0] for y in years}, index=names)
    new = pd.DataFrame({y: [1.0 - 0.2 * y, 0.2 * y] for y in years}, index=names)
    return budget_impact(run(model).cost_by_year(), [100.0, 110.0, 120.0], current, new,
                         members=1_000_000.0)


@pytest.fixture(scope="module")
def template_report(tmp_path_factory):
    model = template_model().with_settings(horizon_years=10.0)
    path = tmp_path_factory.mktemp("template") / "template-report.html"
    info = write_report(model, path, psa_draws=200, seed=7, budget=_budget(model))
    return model, info, path.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def seed_report(tmp_path_factory):
    model = cilta_cel_sequencing()
    path = tmp_path_factory.mktemp("seed") / "seed-report.html"
    info = write_report(model, path)
    return model, info, path.read_text(encoding="utf-8")


@pytest.fixture(params=["template", "seed"])
def report(request, template_report, seed_report):
    return {"template": template_report, "seed": seed_report}[request.param]


# -- content -----------------------------------------------------------------------------------
def test_info_and_sections(report):
    model, info, text = report
    assert info.path.exists() and info.size_bytes == info.path.stat().st_size > 0
    assert info.sections == list(SECTIONS)
    page = Page(text)
    assert page.sections == list(SECTIONS)
    assert text.lstrip().startswith("<!DOCTYPE html>") and '<meta charset="utf-8">' in text
    assert model.name in text


def test_self_contained(report):
    """Nothing to fetch: every src/href is a data: URI or a #fragment, no script, no external
    style sheet, and fragments point at ids that exist."""
    _, _, text = report
    page = Page(text)
    assert page.links, "expected in-page links (table of contents, CHEERS)"
    for tag, attr, value in page.links:
        assert value.startswith(("data:", "#")), f"<{tag} {attr}={value[:60]!r}>"
        if value.startswith("#"):
            assert value[1:] in page.ids, f"dangling link {value}"
    assert not page.tags & {"script", "link", "iframe", "object", "embed", "base"}
    assert not re.search(r"url\(\s*['\"]?(https?:|//)", text)
    assert "@import" not in text
    assert len(page.ids) == len(set(page.ids)), "duplicate ids (figures' SVG ids must differ)"


def test_figures_embedded_and_written(report):
    _, info, text = report
    page = Page(text)
    assert page.figures
    directory = info.path.parent / f"{info.path.stem}-figures"
    written = {p.name for p in directory.iterdir()}
    assert written == {p.name for p in info.figure_paths}
    for fig in page.figures:
        assert fig["id"] and fig["id"].startswith("fig-")
        embedded = fig["svg"] > 10 or any(
            s.startswith("data:image/png;base64,") and len(s) > 100 for s in fig["img"])
        assert embedded, f"{fig['id']} has no image"
        name = fig["id"].removeprefix("fig-")
        for ext in ("png", "svg"):
            f = directory / f"{name}.{ext}"
            assert f.exists() and f.stat().st_size > 1000, f
        assert (directory / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(info.figure_paths) == 2 * len(page.figures)
    assert '<figure id="fig-model-diagram">' in text and "<figcaption" in text


def test_png_is_300_dpi(seed_report):
    _, info, _ = seed_report
    png = next(p for p in info.figure_paths if p.name == "frontier.png").read_bytes()
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    assert (width, height) == (2100, 1350)  # 7 x 4.5 inches at 300 dpi


def test_diagram_drawn_from_the_model(report):
    """Every strategy and every regimen appear in the diagram's SVG text."""
    model, info, text = report
    svg = (info.path.parent / f"{info.path.stem}-figures" / "model-diagram.svg").read_text()
    texts = " ".join(re.findall(r"<!-- (.*?) -->", svg, re.S))  # one comment a text line
    for name in [*model.strategy_names, *{ln.regimen for s in model.strategies
                                          for ln in s.lines}]:
        assert name in texts, name
    if any(r.car_t for r in model.regimens.values()):
        assert "apheresis → bridging → infusion" in svg


def test_cheers_has_28_items(report):
    _, _, text = report
    page = Page(text)
    (table,) = [t for t in page.tables if t["section"] == "cheers"]
    assert len(table["rows"]) == 28
    assert [int(r[0]) for r in table["rows"]] == list(range(1, 29))
    for row in table["rows"]:
        assert row[4] != "—" or row[5] == "author to write", row
    assert len(cheers_items(True)) == len(cheers_items(False)) == 28
    topics = [t for _, _, t, _, _, _ in cheers_items(False)]
    assert topics[0] == "Title" and topics[27] == "Conflicts of interest"
    assert "Characterising uncertainty" in topics and "Health economic analysis plan" in topics


def test_methods_agree_with_settings(report):
    model, _, text = report
    st = model.settings
    page = Page(text)
    methods = page.section_text(text, "methods")
    assert f"{st.discount_costs:.1%}" in methods and f"{st.discount_outcomes:.1%}" in methods
    assert f"over {st.horizon:g} years" in methods
    assert f"cycles of {st.cycle_days:g} days" in methods
    assert st.half_cycle in methods and st.perspective in methods
    assert st.price_label in methods  # the cost basis where one is given, else the price year


def test_results_tables(report):
    model, _, text = report
    res = run(model)
    page = Page(text)
    results = [t for t in page.tables if t["section"] == "results"]
    summary = results[0]
    assert [r[0] for r in summary["rows"]] == model.strategy_names
    for row, (name, s) in zip(summary["rows"], res.summary().iterrows(), strict=True):
        assert row[1] == f"${s.cost:,.0f}" and row[3] == f"{s.qaly:,.3f}", name
    statuses = {"reference (lowest cost)", "non-dominated", "dominated",
                "extendedly dominated"}
    incremental = results[1]
    assert {r[-1] for r in incremental["rows"]} <= statuses
    assert "ICER (USD per QALY)" in page.section_text(text, "results")
    nmb = res.net_monetary_benefit()
    assert [r[1:] for r in results[3]["rows"]] == [[f"-${-v:,.0f}" if v < 0 else f"${v:,.0f}"
                                                    for v in row] for row in nmb.to_numpy()]
    for w in model.settings.wtp:
        assert f"NMB at ${w:,.0f} per QALY" in page.section_text(text, "results")
    inputs = [t for t in page.tables if t["section"] == "inputs"][0]
    assert len(inputs["rows"]) == len(model.parameters)


def test_uncertainty_with_psa(template_report):
    _, _, text = template_report
    page = Page(text)
    ids = {f["id"] for f in page.figures if f["section"] == "uncertainty"}
    assert {"fig-ce-plane", "fig-ceac", "fig-evpi", "fig-tornado"} <= ids
    assert "200 draws" in page.section_text(text, "uncertainty")


def test_uncertainty_without_psa(seed_report):
    _, _, text = seed_report
    page = Page(text)
    assert not [f for f in page.figures if f["section"] == "uncertainty"]
    assert "No probabilistic sensitivity analysis" in page.section_text(text, "uncertainty")


def test_thresholds(seed_report, template_report):
    _, _, text = seed_report
    page = Page(text)
    (table,) = [t for t in page.tables if t["section"] == "thresholds"]
    assert "cilta_cel_price" in table["caption"]
    assert [r[0] for r in table["rows"]] == ["CAR T 2L vs SOC", "CAR T 3L vs SOC",
                                             "CAR T 4L+ vs SOC"]
    values = [[float(c.lstrip("$").replace(",", "")) for c in r[1:]] for r in table["rows"]]
    assert all(a < b < c for a, b, c in values)  # higher willingness to pay, higher price
    # the template's product price parameter is "cost_product"
    _, _, text = template_report
    (table,) = [t for t in Page(text).tables if t["section"] == "thresholds"]
    assert "cost_product" in table["caption"]
    assert [r[0] for r in table["rows"]] == ["cell therapy first vs drug A"]


def test_budget_section(template_report, seed_report):
    _, _, text = template_report
    page = Page(text)
    (table,) = [t for t in page.tables if t["section"] == "budget"]
    assert [r[0] for r in table["rows"]] == ["1", "2", "3", "Total"]
    assert "fig-budget" in {f["id"] for f in page.figures if f["section"] == "budget"}
    _, _, text = seed_report
    assert "No budget impact inputs" in Page(text).section_text(text, "budget")


# -- writing -----------------------------------------------------------------------------------
def test_never_overwrites_without_force(tmp_path):
    model = template_model().with_settings(horizon_years=2.0)
    path = tmp_path / "r.html"
    path.write_text("keep")
    with pytest.raises(FileExistsError):
        write_report(model, path)
    assert path.read_text() == "keep"
    path.unlink()
    (tmp_path / "r-figures").mkdir()
    (tmp_path / "r-figures" / "x.png").write_bytes(b"keep")
    with pytest.raises(FileExistsError):
        write_report(model, path)
    assert not path.exists() and (tmp_path / "r-figures" / "x.png").read_bytes() == b"keep"


def test_failure_leaves_nothing(tmp_path, monkeypatch):
    import hecon.report as report

    def boom(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(report, "_inputs", boom)
    with pytest.raises(RuntimeError, match="boom"):
        write_report(template_model().with_settings(horizon_years=2.0), tmp_path / "r.html")
    assert list(tmp_path.iterdir()) == []


def test_replace_figure_dir_with_force(tmp_path):
    from hecon.io.outputs import OutputError, transaction

    final = tmp_path / "r-figures"
    final.mkdir()
    (final / "old.png").write_bytes(b"old")
    with pytest.raises(FileExistsError), transaction(force=False) as tx:
        tx.stage_folder(final)
    with transaction(force=True) as tx:
        (tx.stage_folder(final) / "a.svg").write_text("<svg/>")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r-figures"]
    assert [p.name for p in final.iterdir()] == ["a.svg"]
    (final / "notes.txt").write_text("mine")  # a folder holding other files is never replaced
    with pytest.raises(OutputError, match="other than figures"), transaction(force=True) as tx:
        tx.stage_folder(final)


def test_inline_svg_prefixes_ids():
    svg = ('<?xml version="1.0"?>\n<!DOCTYPE svg PUBLIC "x" "http://www.w3.org/x.dtd">\n'
           '<svg xmlns="http://www.w3.org/2000/svg" width="504pt" height="324pt" '
           'viewBox="0 0 504 324"><metadata><a href="http://x"/></metadata>'
           '<defs><style type="text/css">*{stroke-linecap: butt}</style>'
           '<clipPath id="p1"><rect/></clipPath><path id="m1" d="M0 0"/></defs>'
           '<g clip-path="url(#p1)"><use xlink:href="#m1" x="1"/></g></svg>')
    out = inline_svg(svg, "fig-a")
    assert out.startswith("<svg") and "http://x" not in out and "DOCTYPE" not in out
    assert 'id="fig-a-p1"' in out and "url(#fig-a-p1)" in out and 'href="#fig-a-m1"' in out
    assert 'width="504pt"' not in out and "max-width:504pt" in out and "<style" not in out


def test_survival_overlays_observed_km(tmp_path):
    """A curve with an observed KM table gets a black step over its curve as used."""
    model = template_model()
    km = Curve("pfs_a", "exponential", {"rate": "rate_a"}, unit="months",
               km_time=(0.0, 3.0, 6.0, 12.0), km_surv=(1.0, 0.85, 0.7, 0.5))
    model = type(model)(**{**vars(model), "curves": {**model.curves, "pfs_a": km}})
    paths = rf.plot_survival(model, ["drug A"], "line 1", tmp_path / "s")
    svg = paths[1].read_text()
    assert "<!-- Kaplan-Meier: drug A: PFS -->" in svg
    curves = rf.survival_as_used(model, ["pfs_a"], np.array([0.0, 0.5, 1.0]))
    assert np.all(curves["pfs_a"] <= curves["General population"] + 1e-12)


# -- browser -----------------------------------------------------------------------------------
def _chromium() -> str:
    path = CHROMIUM if os.access(CHROMIUM, os.X_OK) else shutil.which("chromium")
    if path:
        return path
    reason = "headless Chromium not found (Debian package chromium: /usr/bin/chromium)"
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


def _render(page: Path, tmp: Path, output: list[str]) -> tuple[str, list[str]]:
    """Run Chromium on ``page``; return its stderr and the URLs the page itself requested."""
    profile = tmp / f"profile-{len(list(tmp.iterdir()))}"
    netlog = profile.with_suffix(".netlog.json")
    proc = subprocess.run([_chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}",
                           f"--log-net-log={netlog}", *output, page.resolve().as_uri()],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stderr, _page_requests(netlog)


def _page_requests(netlog: Path) -> list[str]:
    """URLs of requests whose network isolation key is the page's file:// origin (requests of
    the page, not of the browser's background services)."""
    log = json.loads(netlog.read_text())
    start = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    urls = []
    for event in log["events"]:
        params = event.get("params", {})
        if event["type"] == start and "url" in params:
            key = str(params.get("network_isolation_key", ""))
            if "file://" in key or params.get("initiator") not in ("not an origin", None):
                urls.append(params["url"])
    return [u for u in urls if not u.startswith(("data:", "file:"))]


def _problems(stderr: str) -> list[str]:
    bad = []
    for line in stderr.splitlines():
        if "Uncaught" in line:
            bad.append(line)
        elif ("Failed to load resource" in line or "net::ERR" in line) and "data:" not in line:
            bad.append(line)
    return bad


def test_browser_renders_offline(seed_report, tmp_path):
    _, info, _ = seed_report
    png, pdf = tmp_path / "report.png", tmp_path / "report.pdf"
    stderr, requests = _render(info.path, tmp_path,
                               [f"--screenshot={png}", "--window-size=1280,2400"])
    assert png.exists() and png.stat().st_size > 10_000
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert _problems(stderr) == [] and requests == []
    stderr, requests = _render(info.path, tmp_path,
                               [f"--print-to-pdf={pdf}", "--no-pdf-header-footer"])
    assert pdf.exists() and pdf.stat().st_size > 10_000 and pdf.read_bytes()[:5] == b"%PDF-"
    assert _problems(stderr) == [] and requests == []


def test_print_keeps_every_table_column(template_report, tmp_path):
    """Headless Chromium prints the report (with its PSA table of several probability columns)
    to PDF: the last cell of every table row is in the printed text, so no column is cut off
    at the page edge."""
    _, info, text = template_report
    if shutil.which("pdftotext") is None:
        if os.environ.get("CI"):
            pytest.fail("pdftotext (poppler-utils) is required in CI; .ci/run installs it")
        pytest.skip("pdftotext (poppler-utils) not installed here")
    pdf = tmp_path / "report.pdf"
    _render(info.path, tmp_path, [f"--print-to-pdf={pdf}", "--no-pdf-header-footer"])
    printed = " ".join(subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True,
                                      text=True, check=True).stdout.split())
    checked = 0
    for table in Page(text).tables:
        for row in table["rows"]:
            last = row[-1] if row else ""
            if last and len(last) <= 16 and " " not in last:
                assert last in printed, (table["caption"], last)
                checked += 1
    assert checked > 20


def test_browser_checks_catch_problems(tmp_path):
    """Control: a page with an external image and a script error is caught by both checks."""
    page = tmp_path / "bad.html"
    page.write_text('<!DOCTYPE html><html><body><img src="http://example.invalid/x.png">'
                    "<script>notDefined();</script></body></html>")
    stderr, requests = _render(page, tmp_path, [f"--screenshot={tmp_path / 'bad.png'}"])
    assert any("Uncaught" in p for p in _problems(stderr))
    assert requests == ["http://example.invalid/x.png"]
