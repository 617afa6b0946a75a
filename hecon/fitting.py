"""Fit survival families to a digitized Kaplan-Meier curve: the work behind ``hecon fit``.

With the published numbers at risk, individual patient data are reconstructed (Guyot et al.
2012, BMC Med Res Methodol 12:9) and every family is fitted by maximum likelihood and ranked by
AIC. Without them only the curve's coordinates are known: each family is calibrated to the
points by least squares, with no likelihood (so no AIC, BIC or standard errors) and a ranking
by the sum of squared errors. The output workbook and figures support the checks of Latimer
(NICE DSU TSD 14): statistical fit, visual fit over the observed period, plausibility of the
extrapolation and the log cumulative hazard plot. A chosen fit can be written into a copy of an
input workbook as a curve with multivariate-normal coefficients (the fit's covariance) for PSA.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import openpyxl
import pandas as pd

from . import __version__
from .io.outputs import atomic_path, transaction
from .io.tables import model_to_tables, tables_to_model
from .io.workbook_in import load_workbook, write_input_workbook
from .io.xlsx import write_table
from .model import Curve, Model, Parameter
from .plots import plot_extrapolation, plot_km_fits, plot_log_cumhazard
from .survival.adjust import years_per_unit
from .survival.base import Distribution
from .survival.families import FAMILIES
from .survival.fit import FittedDistribution, fit_all, fit_landmarks, kaplan_meier
from .survival.ipd import _clean_curve, reconstruct_ipd
from .survival.spline import parse_spline_family

KM_COLUMNS = ("time", "survival")
AT_RISK_COLUMNS = ("time", "n_risk")
PERCENT_THRESHOLD = 1.5  # a largest survival above this is read as a percentage
DEFAULT_HORIZON_YEARS = 10.0
FIGURES = ("km", "extrapolation", "logcumhaz")
_GRID_POINTS = 240  # about this many rows on the Curves sheet


@dataclass(frozen=True)
class FitReport:
    """What :func:`fit_km_file` fitted and wrote.

    ``table``: one row per family, best first (the Fits sheet); ``fits``: family -> fitted
    distribution in the same order; ``ipd``: reconstructed patients (``time, event``), None
    without an at-risk table; ``notes``: what the user should know (also on the Notes sheet
    and issued as warnings).
    """

    table: pd.DataFrame
    fits: dict[str, Distribution]
    ipd: pd.DataFrame | None
    workbook_path: Path
    figure_paths: tuple[Path, ...]
    copy_path: Path | None
    notes: tuple[str, ...] = ()


def fit_km_file(km_csv: str | Path, at_risk_csv: str | Path | None = None,
                families: list[str] | None = None, total_events: int | None = None,
                output: str | Path | None = None, force: bool = False,
                time_unit: str = "months", horizon: float | None = None,
                write_into: str | Path | None = None, curve_name: str | None = None,
                family: str | None = None, copy_path: str | Path | None = None) -> FitReport:
    """Fit survival families (all six by default; Royston–Parmar splines on request, e.g.
    "spline1", "spline2", "spline1_odds", with the at-risk table) to a digitized KM curve.

    ``km_csv`` has columns ``time, survival`` (survival as a proportion, or a percentage when
    its largest value exceeds 1.5, which is then divided by 100); ``at_risk_csv`` has columns
    ``time, n_risk`` (starting at time 0). With the at-risk table: Guyot reconstruction, then
    maximum likelihood (``fit_all``), ranked by AIC; ``total_events``, if published, sets the
    censoring of the last interval. Without it: least-squares calibration to the curve's points
    (``fit_landmarks``), ranked by SSE.

    Writes ``output`` (default ``<km stem>-fit.xlsx`` beside ``km_csv``; sheets Fits, IPD,
    Curves, Notes) and the figures ``<output stem>-km|extrapolation|logcumhaz.png|svg`` beside
    it; existing files are refused unless ``force``. ``horizon`` (in ``time_unit``; default the
    longer of 10 years and twice the follow-up) is the extrapolation's end.

    ``write_into`` (an input workbook) with ``curve_name``: a copy of that workbook (default
    ``<input stem>-with-<curve_name>.xlsx`` beside the output; never the input itself) with
    curve ``curve_name`` added or replaced by ``family`` (default: the best by AIC), its
    coefficients as Parameters ``<curve>_<param>`` ("mvlognormal" if all are positive, else
    "mvnormal"; group ``<curve>``) and their covariance on the Covariance sheet. Needs the
    at-risk table (a likelihood fit). Splines cannot be written (the Survival sheet holds at
    most three coefficients per curve): the default is then the best family of ``FAMILIES``.
    """
    km_csv = Path(km_csv)
    years_per_unit(time_unit)  # ValueError for an unknown unit
    families = [f.lower() for f in (families or FAMILIES)]
    output = Path(output) if output is not None else km_csv.with_name(f"{km_csv.stem}-fit.xlsx")
    if output.suffix.lower() != ".xlsx":
        raise ValueError(f"output must be an .xlsx file, got {output}")
    if write_into is not None:
        write_into, copy_path = _check_write_into(Path(write_into), copy_path, curve_name,
                                                  family, families, at_risk_csv, output)
    elif copy_path is not None:
        raise ValueError("copy_path needs write_into (the input workbook to copy)")
    figure_stems = _check_fit_options(at_risk_csv is not None, total_events, families, output,
                                      copy_path, force)

    notes: list[str] = []
    km = _read_km(km_csv, notes)
    end = float(km["time"].iloc[-1])
    if horizon is None:
        horizon = max(DEFAULT_HORIZON_YEARS / years_per_unit(time_unit), 2.0 * end)
    if not horizon > end:
        raise ValueError(f"horizon ({horizon:g} {time_unit}) must extend beyond the follow-up "
                         f"({end:g} {time_unit})")
    if at_risk_csv is None:
        ipd = None
        fits, table = _fit_to_points(km, families, notes)
    else:
        ipd = _reconstruct(km, Path(at_risk_csv), total_events, notes)
        fits, table = _fit_ipd(km, ipd, families, notes)

    new_model = None
    if write_into is not None:
        chosen = family.lower() if family else next(f for f in fits if f in FAMILIES)
        fitted = fits[chosen]
        if curve_name is None or not isinstance(fitted, FittedDistribution):
            raise ValueError("writing a fitted curve into a workbook needs --curve and the "
                             "at-risk table (a likelihood fit with a covariance)")
        source = f"fitted by hecon fit from {km_csv.name} (Guyot 2012 reconstruction; MLE)"
        new_model = _with_fit(load_workbook(write_into), curve_name, fitted, time_unit, source)

    inputs = [p for p in (km_csv, at_risk_csv, write_into) if p is not None]
    with transaction(inputs, force=force):  # the workbook, figures and copy: all or none
        _write_workbook(output, force, table, ipd, _curves(km, ipd, fits, horizon), notes,
                        km_csv, at_risk_csv, time_unit, horizon)
        figures = [*plot_km_fits(km, fits, time_unit, figure_stems[0], force=force),
                   *plot_extrapolation(km, fits, horizon, time_unit, figure_stems[1],
                                       force=force),
                   *plot_log_cumhazard(km, fits, figure_stems[2], time_unit=time_unit,
                                       force=force)]
        if new_model is not None and copy_path is not None:
            write_input_workbook(new_model, copy_path, force=force)
    return FitReport(table, fits, ipd, output, tuple(figures), copy_path, tuple(notes))


def _check_fit_options(at_risk: bool, total_events: int | None, families: list[str],
                       output: Path, copy_path: Path | None, force: bool) -> list[Path]:
    """Refuse options that need an at-risk table without one, and outputs that exist (unless
    ``force``), before any work; the stems of the figures."""
    if not at_risk and total_events is not None:
        raise ValueError("total_events needs an at-risk table (it sets the Guyot censoring)")
    splines = [f for f in families if parse_spline_family(f)]
    if not at_risk and splines:
        raise ValueError(f"{', '.join(splines)}: spline families are fitted by maximum "
                         "likelihood only; give an at-risk table")
    figure_stems = [output.with_name(f"{output.stem}-{name}") for name in FIGURES]
    targets = [output, *(Path(f"{s}.{fmt}") for s in figure_stems for fmt in ("png", "svg"))]
    if copy_path is not None:
        targets.append(copy_path)
    existing = [str(p) for p in targets if p.exists()]
    if existing and not force:
        raise FileExistsError(f"{', '.join(existing)} exist(s); choose another output or pass "
                              "force")
    return figure_stems


def _check_write_into(write_into: Path, copy_path: str | Path | None, curve_name: str | None,
                      family: str | None, families: list[str], at_risk_csv, output: Path
                      ) -> tuple[Path, Path]:
    """Validate the write-into options before any work; the copy's path."""
    if not curve_name:
        raise ValueError("write_into needs curve_name (the curve to add or replace)")
    if at_risk_csv is None:
        raise ValueError("write_into needs an at-risk table: only a maximum-likelihood fit has "
                         "the covariance the workbook's PSA draws from")
    if family is not None and family.lower() not in families:
        raise ValueError(f"family {family!r} is not among the fitted families "
                         f"({', '.join(families)})")
    if family is not None and family.lower() not in FAMILIES or not set(families) & set(FAMILIES):
        raise ValueError(f"family {family or families[0]!r} cannot be written into a workbook "
                         "(the Survival sheet holds at most three coefficients per curve); "
                         f"choose one of {', '.join(FAMILIES)}")
    if not write_into.exists():
        raise FileNotFoundError(f"input workbook not found: {write_into}")
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in curve_name)
    copy = (Path(copy_path) if copy_path is not None
            else output.with_name(f"{write_into.stem}-with-{safe}.xlsx"))
    if copy.resolve() in (write_into.resolve(), output.resolve()):
        raise ValueError(f"the copy's path {copy} is the input workbook's or the output's; "
                         "choose another copy_path")
    return write_into, copy


# -- input ---------------------------------------------------------------------------------------
def _warn(notes: list[str], text: str) -> None:
    """A note the user must see: recorded and issued as a UserWarning."""
    notes.append(text)
    warnings.warn(text, UserWarning, stacklevel=4)


def _read_csv(path: Path, columns: tuple[str, ...]) -> pd.DataFrame:
    """``columns`` of a CSV file as floats; ValueError naming the file, column and row."""
    try:
        raw = pd.read_csv(path, dtype=str, skipinitialspace=True)
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError) as err:
        raise ValueError(f"{path}: not a readable CSV file ({err})") from None
    raw.columns = [str(c).strip().lower() for c in raw.columns]
    missing = [c for c in columns if c not in raw.columns]
    if missing:
        raise ValueError(f"{path}: missing column(s) {', '.join(map(repr, missing))}; expected "
                         f"a header row with {', '.join(columns)} (found "
                         f"{', '.join(raw.columns) or 'none'})")
    if raw.empty:
        raise ValueError(f"{path}: no data rows below the header")
    out = {}
    for col in columns:
        values = pd.to_numeric(raw[col].str.strip(), errors="coerce").to_numpy(float)
        bad = ~np.isfinite(values)
        if bad.any():
            i = int(np.argmax(bad))
            cell = raw[col].iloc[i]
            found = "an empty cell" if pd.isna(cell) else repr(cell)
            raise ValueError(f"{path}: column {col!r}, row {i + 2}: {found} is not a number")
        out[col] = values
    return pd.DataFrame(out)


def _read_km(path: Path, notes: list[str]) -> pd.DataFrame:
    """The digitized curve as ``time, surv``: percent detected, sorted, starting at (0, 1)."""
    data = _read_csv(path, KM_COLUMNS)
    surv = data["survival"].to_numpy()
    if surv.max() > PERCENT_THRESHOLD:
        surv = surv / 100.0
        _warn(notes, f"{path.name}: survival read as a percentage (largest value "
              f"{surv.max() * 100:g} > {PERCENT_THRESHOLD:g}) and divided by 100")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            t, s = _clean_curve(data["time"].to_numpy(), surv)
        except ValueError as err:
            raise ValueError(f"{path}: {err}") from None
    for w in caught:
        _warn(notes, f"{path.name}: digitized curve corrected: "
              f"{str(w.message).split(': ', 1)[-1]}")
    return pd.DataFrame({"time": t, "surv": s})


def _reconstruct(km: pd.DataFrame, at_risk_csv: Path, total_events: int | None,
                 notes: list[str]) -> pd.DataFrame:
    """Guyot et al. (2012) individual patient data from the curve and the at-risk table."""
    risk = _read_csv(at_risk_csv, AT_RISK_COLUMNS)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            ipd = reconstruct_ipd(km["time"], km["surv"], risk["time"], risk["n_risk"],
                                  total_events)
        except ValueError as err:
            raise ValueError(f"{at_risk_csv}: {err}") from None
    for w in caught:
        _warn(notes, str(w.message))
    notes.append(f"IPD reconstructed (Guyot et al. 2012) from {len(km)} curve points and "
                 f"{len(risk)} at-risk times: {len(ipd)} patients, {int(ipd['event'].sum())} "
                 "events")
    return ipd


# -- fitting -------------------------------------------------------------------------------------
def _fit_ipd(km: pd.DataFrame, ipd: pd.DataFrame, families: list[str], notes: list[str]
             ) -> tuple[dict[str, Distribution], pd.DataFrame]:
    """Maximum likelihood on the reconstructed data, ranked by AIC (converged fits first)."""
    ranked = fit_all(ipd["time"], ipd["event"], families)
    fits = {name: ranked.attrs["fits"][name] for name in ranked["family"]}
    failed = [name for name, f in fits.items() if not f.converged]
    if failed:
        _warn(notes, f"did not converge (ranked last): {', '.join(failed)}")
    return fits, _table(km, fits)


def _fit_to_points(km: pd.DataFrame, families: list[str], notes: list[str]
                   ) -> tuple[dict[str, Distribution], pd.DataFrame]:
    """Least-squares calibration to the curve's points, ranked by SSE (no likelihood)."""
    t, s = _inner_points(km)
    fits = {name: fit_landmarks(t, s, name) for name in families}
    fits = dict(sorted(fits.items(), key=lambda item: item[1].sse))
    _warn(notes, f"no at-risk table: each family calibrated by least squares to the {t.size} "
          "digitized points with 0 < survival < 1; without a likelihood AIC, BIC and standard "
          "errors are not available and families are ranked by SSE")
    return fits, _table(km, fits)


def _inner_points(km: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    t, s = km["time"].to_numpy(), km["surv"].to_numpy()
    keep = (t > 0) & (s > 0) & (s < 1)
    return t[keep], s[keep]


def _likelihood(dist: Distribution) -> dict[str, Any]:
    """Convergence, log-likelihood, AIC and BIC of a maximum-likelihood fit (None and NaN for a
    least-squares calibration, which has no likelihood)."""
    if isinstance(dist, FittedDistribution):
        return {"converged": dist.converged, "loglik": dist.loglik, "aic": dist.aic,
                "bic": dist.bic}
    return {"converged": None, "loglik": np.nan, "aic": np.nan, "bic": np.nan}


def _table(km: pd.DataFrame, fits: dict[str, Distribution]) -> pd.DataFrame:
    """One row per family in ``fits`` order: fit statistics, SSE against the digitized points
    (0 < S < 1) and each parameter with its SE (NaN where not estimated)."""
    t, s = _inner_points(km)
    rows = []
    for name, dist in fits.items():
        params = {p: float(v) for p, v in dist.params.items()}
        se = dist.se if isinstance(dist, FittedDistribution) else {}
        row = {"family": name, "k": len(params), **_likelihood(dist),
               "sse_km": float(np.sum((dist.survival(t) - s) ** 2))}
        for j, p in enumerate(params, start=1):
            row |= {f"param_{j}": p, f"estimate_{j}": params[p],
                    f"se_{j}": se.get(p, np.nan)}
        rows.append(row)
    table = pd.DataFrame(rows)
    table["delta_aic"] = table["aic"] - table["aic"].min()
    stats = ["family", "k", "converged", "loglik", "aic", "bic", "delta_aic", "sse_km"]
    return table[stats + [f"{x}_{j}" for j in range(1, int(table["k"].max()) + 1)
                          for x in ("param", "estimate", "se")]]


# -- output --------------------------------------------------------------------------------------
def _nice_step(span: float) -> float:
    """The smallest of 1, 2, 2.5, 5 x 10^k giving at most ``_GRID_POINTS`` steps over span."""
    raw = span / _GRID_POINTS
    base = 10.0 ** np.floor(np.log10(raw))
    return float(next(m * base for m in (1.0, 2.0, 2.5, 5.0, 10.0) if m * base >= raw))


def _step_function(t: np.ndarray, s: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Right-continuous step function through (t, s), 1 before t[0]."""
    idx = np.searchsorted(t, grid, side="right") - 1
    return np.where(idx >= 0, s[np.maximum(idx, 0)], 1.0)


def _curves(km: pd.DataFrame, ipd: pd.DataFrame | None, fits: dict[str, Distribution],
            horizon: float) -> pd.DataFrame:
    """Survival on a regular grid to the horizon: the digitized KM (and the KM of the
    reconstructed data) over follow-up, each family throughout."""
    end = float(km["time"].iloc[-1])
    grid = np.arange(0.0, horizon + 1e-9 * horizon, _nice_step(horizon))
    observed = grid <= end
    out = pd.DataFrame({"time": grid,
                        "period": np.where(observed, "observed", "extrapolated")})
    out["km_digitized"] = np.where(observed, _step_function(km["time"].to_numpy(),
                                                            km["surv"].to_numpy(), grid), np.nan)
    if ipd is not None:
        rebuilt = kaplan_meier(ipd["time"], ipd["event"])
        out["km_reconstructed"] = np.where(
            grid <= ipd["time"].max(),
            _step_function(rebuilt["time"].to_numpy(), rebuilt["surv"].to_numpy(), grid), np.nan)
    for name, dist in fits.items():
        out[name] = dist.survival(grid)
    return out


def _cells(frame: pd.DataFrame) -> list[list]:
    """Rows of a table as cell values (None for NaN/NA)."""
    return [[None if pd.isna(v) else (v.item() if isinstance(v, np.generic) else v)
             for v in row] for row in frame.itertuples(index=False)]


def _write_workbook(path: Path, force: bool, table: pd.DataFrame, ipd: pd.DataFrame | None,
                    curves: pd.DataFrame, notes: list[str], km_csv: Path,
                    at_risk_csv: str | Path | None, time_unit: str, horizon: float) -> None:
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    stats = {c: "0.00" for c in ("loglik", "aic", "bic", "delta_aic")} | {"sse_km": "0.000000"}
    write_table(wb.create_sheet("Fits"), list(table.columns), _cells(table),
                formats={i: stats[c] for i, c in enumerate(table.columns) if c in stats})
    if ipd is not None:
        write_table(wb.create_sheet("IPD"), ["time", "event"], _cells(ipd),
                    formats={0: "0.000"})
    write_table(wb.create_sheet("Curves"), list(curves.columns), _cells(curves),
                formats={i: "0.0000" for i in range(2, curves.shape[1])})
    method = ("Guyot et al. (2012) reconstruction, maximum likelihood, ranked by AIC"
              if ipd is not None else "least squares to the digitized points, ranked by SSE")
    info = [("KM file", km_csv.name),
            ("at-risk file", Path(at_risk_csv).name if at_risk_csv is not None else "none"),
            ("time unit", time_unit), ("horizon", horizon), ("method", method),
            ("checks", "Latimer, NICE DSU TSD 14: statistical fit, visual fit, extrapolation "
                       "plausibility, log cumulative hazard"),
            ("hecon version", __version__)] + [("note", n) for n in notes]
    write_table(wb.create_sheet("Notes"), ["item", "value"], info, widths={1: 100})
    with atomic_path(path, force=force) as tmp:
        wb.save(tmp)


# -- into an input workbook ----------------------------------------------------------------------
def _param_unit(family: str, param: str, time_unit: str) -> str:
    """Unit of a coefficient on the workbook's Parameters sheet."""
    per = f"per {time_unit.removesuffix('s')}"
    if param in ("rate",) or (family == "gompertz" and param == "shape"):
        return per
    return {"scale": time_unit, "meanlog": f"log {time_unit}", "mu": f"log {time_unit}"}.get(
        param, "")


def _with_fit(model: Model, curve: str, dist: FittedDistribution, time_unit: str,
              source: str) -> Model:
    """``model`` with curve ``curve`` set to the fitted family: coefficients as 'mvnormal'
    Parameters ``<curve>_<param>`` in group ``<curve>`` with the fit's covariance. A previous
    fit's group ``<curve>`` is replaced; the validated model (InputError otherwise)."""
    vcov = np.asarray(dist.vcov)
    if not (dist.converged and np.isfinite(vcov).all()):
        raise ValueError(f"the {dist.family} fit has no usable covariance (not converged); "
                         "choose another family")
    names = {p: f"{curve}_{p}" for p in dist.param_names}
    old_members = model.covariance.get(curve, ((), ()))[0]
    params = {k: p for k, p in model.parameters.items()
              if k not in old_members and k not in names.values()}
    # coefficients that must stay positive are drawn on the log scale (a valid curve each draw)
    joint = "mvlognormal" if all(v > 0 for v in dist.params.values()) else "mvnormal"
    for p, value in dist.params.items():
        params[names[p]] = Parameter(names[p], value, _param_unit(dist.family, p, time_unit),
                                     joint, source=source, group=curve)
    curves = dict(model.curves)
    curves[curve] = Curve(curve, dist.family, dict(names), unit=time_unit, source=source)
    covariance = dict(model.covariance)
    covariance[curve] = (tuple(names.values()), tuple(tuple(map(float, r)) for r in vcov))
    new = replace(model, parameters=params, curves=curves, covariance=covariance)
    tables_to_model(model_to_tables(new))
    return new
