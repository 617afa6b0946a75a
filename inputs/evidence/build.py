"""Build the default input workbook ``hecon/data/cilta_cel_mm.xlsx`` (shipped in the package)
from published evidence.

    python inputs/evidence/build.py            # writes hecon/data/cilta_cel_mm.xlsx

Every published figure is a row of ``sources.csv`` (value, unit, confidence grade A/B/U and its
citation; see README.md here). This script turns them into model
inputs: survival curves fitted to published medians and landmarks (hecon.survival.fit
.fit_landmarks), their PSA covariance by a parametric bootstrap, costs from dosing schedules and
prices, utilities, toxicity, attrition, and the named scenarios. Values that no source gives are
labelled ``assumption: ...`` with a wide PSA distribution and are covered by a named scenario.
The script is deterministic (fixed seed).
"""

from __future__ import annotations

import csv
import functools
import math
import sys
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.optimize import least_squares

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
if str(ROOT) not in sys.path:  # runnable as a script from a checkout
    sys.path.insert(0, str(ROOT))

from hecon.io.workbook_in import write_input_workbook  # noqa: E402
from hecon.model import (  # noqa: E402
    AdverseEvent,
    CarTPathway,
    Curve,
    Line,
    Model,
    Palliative,
    Parameter,
    ParameterSet,
    PriceStep,
    Regimen,
    Settings,
    Strategy,
)
from hecon.survival import GeneralPopulation  # noqa: E402
from hecon.survival.families import FAMILIES  # noqa: E402
from hecon.survival.fit import fit_landmarks  # noqa: E402

OUT = ROOT / "hecon" / "data" / "cilta_cel_mm.xlsx"
SEED = 20260308  # bootstrap seed (fixed: the build is deterministic)
N_BOOT = 200  # parametric bootstrap replicates per fitted curve
DAYS_PER_MONTH = 365.25 / 12
MALE_SHARE = 0.57  # assumption (see README): "about 55-60% male" in CARTITUDE-4 reports, unverified
BOOT_METHOD = ("PSA: joint (log-)normal covariance from a parametric bootstrap ({n} "
               "replicates): landmark survival redrawn as a product of binomial conditional "
               "survivals with the numbers at risk n*S(previous landmark) (n = patients in the "
               "arm; censoring ignored, so the spread is a lower bound), refitted each time")


# ---------------------------------------------------------------------------------------------
# the table of sourced inputs
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Source:
    value: float
    unit: str
    grade: str
    cite: str
    price_year: int | None  # money of this year (None: not an amount of money)


def read_sources(path: Path = HERE / "sources.csv") -> dict[str, Source]:
    with open(path, newline="", encoding="utf-8") as f:
        return {r["id"]: Source(float(r["value"]), r["unit"], r["grade"], r["source"],
                                int(r["price_year"]) if r["price_year"] else None)
                for r in csv.DictReader(f)}


def read_cpi(path: Path = HERE / "cpi_medical_care.csv") -> dict[int, float]:
    """US CPI-U medical care (BLS CUUR0000SAM), annual averages by year."""
    with open(path, newline="", encoding="utf-8") as f:
        return {int(r["year"]): float(r["index"]) for r in csv.DictReader(f)}


S = read_sources()
CPI = read_cpi()
PRICE_YEAR = 2025  # every cost of the default model is in US dollars of this year


def v(key: str) -> float:
    """A source's value as published (money: in its own price year; see :func:`usd`)."""
    return S[key].value


def inflation(key: str) -> float:
    """The medical-care CPI factor from a source's price year to :data:`PRICE_YEAR`."""
    return CPI[PRICE_YEAR] / CPI[S[key].price_year]


def usd(key: str) -> float:
    """A source's amount of money in :data:`PRICE_YEAR` dollars (US medical-care CPI)."""
    return v(key) * inflation(key)


def cite(*keys: str) -> str:
    """The sources' citations; amounts of money say how they were inflated."""
    def one(k: str) -> str:
        s = S[k]
        if s.price_year is None or s.price_year == PRICE_YEAR:
            return s.cite
        return (f"{s.cite}; {s.price_year} USD x {inflation(k):.3f} (US medical-care CPI "
                f"{s.price_year}-{PRICE_YEAR}) = {usd(k):,.0f} in {PRICE_YEAR} USD")
    return "; ".join(one(k) for k in keys)


# ---------------------------------------------------------------------------------------------
# survival fitting
# ---------------------------------------------------------------------------------------------
def coefficients(dist, family: str) -> list[float]:
    return [float(np.asarray(getattr(dist, n)).ravel()[0]) for n in FAMILIES[family].param_names]


def fit(times, surv, family: str) -> tuple[list[float], float]:
    """Least-squares fit of ``family`` to landmark survival (months); coefficients and SSE."""
    d = fit_landmarks(np.asarray(times, float), np.asarray(surv, float), family)
    return coefficients(d, family), d.sse


def best_family(times, surv, families=("weibull", "loglogistic", "lognormal")) -> str:
    """The two-parameter family with the smallest sum of squared landmark residuals."""
    return min(families, key=lambda fam: fit(times, surv, fam)[1])


def bootstrap_landmarks(rng, surv, n: int) -> np.ndarray:
    """One parametric-bootstrap replicate of ordered landmark survival values: conditional
    survival between landmarks drawn as binomial proportions with n * S(previous) at risk."""
    out, prev, at_risk = [], 1.0, float(n)
    for s in surv:
        k = max(int(round(at_risk)), 1)
        p = min(max(s / prev, 0.0), 1.0)
        cond = rng.binomial(k, p) / k
        val = (out[-1] if out else 1.0) * cond
        out.append(min(max(val, 1e-4), 1 - 1e-4))
        prev, at_risk = s, n * s
    return np.array(out)


def boot_cov(rng, times, surv, n: int, refit) -> np.ndarray:
    """Covariance of ``refit(surv_replicate)`` (a coefficient vector) over N_BOOT replicates;
    landmarks are sorted by time for the conditional draws."""
    order = np.argsort(times)
    t, s = np.asarray(times, float)[order], np.asarray(surv, float)[order]
    draws = [refit(t, bootstrap_landmarks(rng, s, n)) for _ in range(N_BOOT)]
    return np.cov(np.array(draws).T)


def pathway_landmarks(times, surv_itt, wait: float, p_not_infused: float):
    """ITT landmarks from randomization → landmarks of PFS from infusion: in the model the ITT
    PFS after the wait is (1 - p_not_infused) * S_post(t - wait)."""
    return np.asarray(times, float) - wait, np.asarray(surv_itt, float) / (1.0 - p_not_infused)


def curve_survival(family: str, coefs, t) -> np.ndarray:
    d = FAMILIES[family](*coefs)
    return np.asarray(d.survival(np.asarray(t, float)), float).ravel()


def scale_for_median(family: str, shape: float, median: float) -> float:
    if family == "weibull":
        return median / math.log(2.0) ** (1.0 / shape)
    if family == "loglogistic":
        return median
    raise ValueError(family)


def background(age: float, male: float) -> GeneralPopulation:
    return GeneralPopulation(age, male)


def fit_cure(times, surv, bg, cure: float | None = None):
    """Mixture cure S(t) = S_bg(t) (pi + (1 - pi) S_u(t)), S_u Weibull (months), least squares
    to the landmarks; ``cure`` fixes pi. Returns (pi, shape, scale)."""
    t = np.asarray(times, float)
    s = np.asarray(surv, float)
    sbg = np.asarray(bg.survival(t / 12.0), float).ravel()

    def unpack(x):
        pi = cure if cure is not None else 1.0 / (1.0 + math.exp(-x[-1]))
        return pi, math.exp(x[0]), math.exp(x[1])

    def resid(x):
        pi, k, lam = unpack(x)
        return sbg * (pi + (1 - pi) * np.exp(-(t / lam) ** k)) - s

    x0 = [0.0, math.log(float(np.median(t)))] + ([] if cure is not None else [-0.5])
    res = least_squares(resid, x0, method="lm", xtol=1e-15, ftol=1e-15, gtol=1e-15)
    return unpack(res.x)


def midpoint_log_hazard(fam_a, coefs_a, fam_b, coefs_b, horizon=120.0):
    """Survival with log h(t) = (log h_a(t) + log h_b(t)) / 2, on a fine grid (months)."""
    t = np.linspace(1e-6, horizon, 24001)
    h = np.sqrt(np.asarray(FAMILIES[fam_a](*coefs_a).hazard(t)).ravel()
                * np.asarray(FAMILIES[fam_b](*coefs_b).hazard(t)).ravel())
    cum = np.concatenate([[0.0], np.cumsum(0.5 * (h[1:] + h[:-1]) * np.diff(t))])
    return t, np.exp(-cum)


# ---------------------------------------------------------------------------------------------
# parameters
# ---------------------------------------------------------------------------------------------
class Params:
    """Collects Parameters (with sources) and mvnormal covariance groups."""

    def __init__(self) -> None:
        self.items: dict[str, Parameter] = {}
        self.covariance: dict = {}

    def add(self, name, value, unit, source, dist="fixed", dp=(), low=None, high=None, group="",
            rel=None):
        """A parameter; ``rel`` = (low, high) multipliers writes the DSA range as formulas
        relative to the value (=name*0.75), so that it follows an edited base value."""
        if name in self.items:
            raise ValueError(f"parameter {name} twice")
        if not source:
            raise ValueError(f"parameter {name} has no source")
        cells = ()
        if rel is not None:
            low, high = value * rel[0], value * rel[1]
            cells = (("dsa_low", f"={name}*{rel[0]:g}"), ("dsa_high", f"={name}*{rel[1]:g}"))
        self.items[name] = Parameter(name, float(value), unit, dist, tuple(float(x) for x in dp),
                                     None if low is None else float(low),
                                     None if high is None else float(high), source, group,
                                     cell_formulas=cells)
        return name

    def derived(self, name, formula, unit, source):
        """A parameter computed in the workbook by an Excel formula over other parameters."""
        values = {n: np.array([p.value]) for n, p in self.items.items()}
        value = ParameterSet(values, 1, {n: p.formula for n, p in self.items.items()
                                         if p.formula})[formula][0]
        self.add(name, value, unit, source)
        self.items[name] = replace(self.items[name], formula=formula)
        return name

    def beta(self, name, value, se, source, unit="probability", low=None, high=None):
        return self.add(name, value, unit, source, "beta", (se,), low, high)

    def gamma(self, name, value, rel_se, source, unit="USD", low=None, high=None, rel=None):
        return self.add(name, value, unit, source, "gamma", (rel_se * value,), low, high, rel=rel)

    def mvn(self, group: str, names, values, cov, unit: str, source: str) -> list[str]:
        # coefficients that must stay positive (shapes, scales, rates) are drawn on the log
        # scale so that every PSA draw is a valid curve (hecon 'mvlognormal')
        dist = "mvlognormal" if all(v > 0 for v in values) else "mvnormal"
        for n, val in zip(names, values, strict=True):
            self.add(n, val, unit if n.endswith("scale") else "", source, dist, group=group)
        self.covariance[group] = (tuple(names),
                                  tuple(tuple(float(x) for x in row) for row in np.atleast_2d(cov)))
        return list(names)


def assumption(text: str) -> str:
    return f"assumption: {text}"


# ---------------------------------------------------------------------------------------------
# the model
# ---------------------------------------------------------------------------------------------
class _Build:
    """What the build's steps share: the parameters, the curves, fit diagnostics, the
    bootstrap's random generator (the steps draw from it in a fixed order), the cohort's age and
    its background mortality."""

    def __init__(self) -> None:
        self.rng = np.random.default_rng(SEED)
        self.P = Params()
        self.curves: dict[str, Curve] = {}
        self.diag: dict = {}
        self.age = v("c4_age")
        self.bg = background(self.age, MALE_SHARE)
        self.boot = BOOT_METHOD.format(n=N_BOOT)

    def family_curve(self, name, family, coefs, source, cure=None):
        names = FAMILIES[family].param_names
        self.curves[name] = Curve(name, family, dict(zip(names, coefs, strict=True)), "months",
                                  cure_fraction=cure, source=source)

    def fitted_curve(self, name, family, coefs, times, surv, n, source):
        """A landmark-fitted curve whose coefficients are drawn jointly in the PSA, with the
        covariance of a parametric bootstrap of the landmarks (arm size n)."""
        cov = boot_cov(self.rng, times, surv, n, lambda t, s: fit(t, s, family)[0])
        names = [f"{name}_{p}" for p in FAMILIES[family].param_names]
        self.family_curve(name, family, self.P.mvn(f"fit_{name}", names, coefs, cov, "months",
                                                   source), source)


def build_model() -> tuple[Model, dict[int, str], dict]:
    """The evidence-based model, the Toxicity sources by row, and fit diagnostics: one step per
    input family, in a fixed order (the bootstrap draws from one generator)."""
    b = _Build()
    t_soc, s_soc = _soc_2l(b)
    wait, p_no, n_cart = _cart_pathway(b)
    coef_c2, t_post, s_post = _cart_2l(b, wait, p_no, n_cart)
    c1 = _cart_4l(b)
    _scenario_curves(b, c1, coef_c2, t_post, s_post)
    _soc_later(b, t_soc, s_soc)
    _bispecific_4l(b)
    _os_curves(b)
    _shares(b)
    norms = _utilities(b)
    tox_rows = _toxicity(b, _costs(b))
    model, tox_sources = _structure(b, tox_rows, norms, c1[2])
    return calibrate_to_trials(model, b.diag), dict(enumerate(tox_sources)), b.diag


def _soc_2l(b: _Build):
    """SOC 2L: the CARTITUDE-4 control arm (mostly DPd), the TTD of DPd and the real-world SOC
    scenario curves."""
    P, curves, diag, boot, fitted_curve = b.P, b.curves, b.diag, b.boot, b.fitted_curve
    # -- SOC 2L: CARTITUDE-4 control arm (mostly DPd), median + 12 + 30 months ------------------
    t_soc = [v("c4_soc_pfs_median"), 12.0, 30.0]
    s_soc = [0.5, v("c4_soc_pfs_12"), v("c4_soc_pfs_30")]
    # Weibull for every fitted curve (all 2-parameter families fit these landmarks equally well,
    # SSE 4.3e-5 to 4.9e-5; see diagnostics); one family keeps the extrapolations comparable
    fam_soc = "weibull"
    coef_soc, sse = fit(t_soc, s_soc, fam_soc)
    diag["pfs_soc_2l"] = (fam_soc, coef_soc, sse, {f: fit(t_soc, s_soc, f)[1] for f in
                                                   ("loglogistic", "lognormal", "gompertz")})
    src_soc = (f"least-squares Weibull fit (log-logistic/log-normal fit equally well) to "
               f"median 11.8 mo, 12-mo 48.6%, 30-mo 25.7%: {cite('c4_soc_pfs_median')}; "
               f"{cite('c4_soc_pfs_30')}. {boot}")
    fitted_curve("pfs_soc_2l", fam_soc, coef_soc, t_soc, s_soc, int(v("c4_n_soc")), src_soc)

    # -- TTD of DPd: APOLLO median treatment duration 11.5 mo as PH on the SOC 2L PFS curve -----
    s_at = float(curve_survival(fam_soc, coef_soc, [v("apollo_ttd_median")])[0])
    hr_ttd = math.log(0.5) / math.log(s_at)
    P.add("hr_ttd_soc_2l", hr_ttd, "HR", f"derived: TTD = PFS^hr with the median at 11.5 mo "
          f"({cite('apollo_ttd_median')}); shape as the CARTITUDE-4 SOC PFS fit (assumption)",
          low=1.0, high=hr_ttd * 1.3)
    curves["ttd_soc_2l"] = Curve("ttd_soc_2l", reference="pfs_soc_2l", hr="hr_ttd_soc_2l",
                                 source=cite("apollo_ttd_median"))
    # real-world SOC (scenario): Flatiron rwPFS median 6.5 mo by time scaling of the SOC curve
    P.add("af_soc_2l_rw", v("flatiron_rwpfs_median") / v("c4_soc_pfs_median"), "AF",
          f"derived: acceleration factor 6.5/11.8 giving median rwPFS 6.5 mo "
          f"({cite('flatiron_rwpfs_median')})")
    curves["pfs_soc_2l_rw"] = Curve("pfs_soc_2l_rw", reference="pfs_soc_2l", af="af_soc_2l_rw",
                                    source=cite("flatiron_rwpfs_median"))
    curves["ttd_soc_2l_rw"] = Curve("ttd_soc_2l_rw", reference="pfs_soc_2l_rw",
                                    hr="hr_ttd_soc_2l", source="as ttd_soc_2l, on the RW curve")
    return t_soc, s_soc


def _cart_pathway(b: _Build):
    """The CAR T pathway (CARTITUDE-4): wait, never infused, deaths before infusion."""
    P = b.P
    # -- CAR T pathway (CARTITUDE-4) -------------------------------------------------------------
    wait = v("c4_days_to_infusion") / DAYS_PER_MONTH
    p_no = v("c4_not_infused")
    P.gamma("months_to_infusion", wait, 0.15, f"{cite('c4_days_to_infusion')}; 44 days = "
            f"{wait:.3f} mo; PSA gamma, se 15% (assumption)", unit="months",
            low=25 / DAYS_PER_MONTH, high=60 / DAYS_PER_MONTH)
    n_cart = int(v("c4_n_cart"))
    P.beta("p_not_infused", p_no, math.sqrt(p_no * (1 - p_no) / n_cart),
           f"{cite('c4_not_infused')}; the trial ITT share from the decision to treat, used at "
           "every line so that the lines differ only in efficacy (a real-world post-apheresis "
           "share at later lines would favour them); PSA beta, binomial se (n=208); scenario "
           "'never infused: real-world at every line'", low=0.10, high=0.20)
    p_rw = v("rw_cilta_not_infused")
    P.add("p_not_infused_rw", p_rw, "probability",
          f"{cite('rw_cilta_not_infused')}: 19/255 not infused after apheresis; scenario "
          "'never infused: real-world at every line'")
    p_die = v("c4_died_before_infusion") / p_no
    P.beta("p_death_if_not_infused", p_die, 0.08, f"derived: 4.8% died before infusion / 15.4% "
           f"not infused = {p_die:.3f} ({cite('c4_died_before_infusion')}); PSA beta se 0.08 "
           "(assumption)", low=0.15, high=0.5)
    n_later = v("c4_later_infused")
    later = n_later / (p_no * n_cart)
    P.beta("p_later_infusion", later, math.sqrt(later * (1 - later) / (p_no * n_cart)),
           f"{cite('c4_later_infused')}: {n_later:.0f} of the {p_no * n_cart:.0f} not infused "
           "as study treatment; product and infusion charged at apheresis, their outcomes are "
           "in the ITT curves; the same share assumed at 3L/4L+; PSA beta, binomial se; "
           "scenario 'later infusions: label safety population' (12 of 32)", low=0.3, high=0.8)
    return wait, p_no, n_cart


def _cart_2l(b: _Build, wait: float, p_no: float, n_cart: int):
    """cilta-cel 2L: post-infusion PFS calibrated through the pathway."""
    P, diag, boot, rng, family_curve = b.P, b.diag, b.boot, b.rng, b.family_curve
    # -- cilta-cel 2L: post-infusion PFS calibrated through the pathway --------------------------
    t_itt = [12.0, 30.0]
    s_itt = [v("c4_cart_pfs_12"), v("c4_cart_pfs_30")]
    t_post, s_post = pathway_landmarks(t_itt, s_itt, wait, p_no)
    coef_c2, sse = fit(t_post, s_post, "weibull")
    diag["pfs_cart_2l"] = ("weibull", coef_c2, sse)
    src_c2 = (f"Weibull PFS from infusion calibrated through the CAR T pathway: ITT landmarks "
              f"12-mo 75.9% and 30-mo 59.4% from randomization ({cite('c4_cart_pfs_12')}; "
              f"{cite('c4_cart_pfs_30')}) shifted by the 44-day wait and divided by the 84.6% "
              f"infused ({cite('c4_not_infused')}), i.e. S({t_post[0]:.2f})={s_post[0]:.4f}, "
              f"S({t_post[1]:.2f})={s_post[1]:.4f}, fitted exactly; verified with the full model "
              f"(hecon/data/targets.csv). {boot}")

    def refit_c2(t, s):
        tp, sp = pathway_landmarks(t, s, wait, p_no)
        return fit(tp, np.minimum(sp, 1 - 1e-4), "weibull")[0]

    cov = boot_cov(rng, t_itt, s_itt, n_cart, refit_c2)
    family_curve("pfs_cart_2l", "weibull", P.mvn(
        "fit_pfs_cart_2l", ["pfs_cart_2l_shape", "pfs_cart_2l_scale"], coef_c2, cov, "months",
        src_c2), src_c2)
    return coef_c2, t_post, s_post


def _cart_4l(b: _Build):
    """cilta-cel 4L+: CARTITUDE-1 from infusion."""
    diag, boot, fitted_curve = b.diag, b.boot, b.fitted_curve
    # -- cilta-cel 4L+: CARTITUDE-1 from infusion ------------------------------------------------
    t_c1 = [27.0, v("c1_pfs_median"), 36.0]
    s_c1 = [v("c1_pfs_27"), 0.5, v("c1_pfs_36")]
    fam_c1 = "weibull"
    coef_c1, sse = fit(t_c1, s_c1, fam_c1)
    diag["pfs_cart_4l"] = (fam_c1, coef_c1, sse, {f: fit(t_c1, s_c1, f)[1] for f in
                                                  ("loglogistic", "lognormal")})
    src_c1 = (f"least-squares Weibull fit (smallest SSE of Weibull/log-logistic/log-normal) to "
              f"27-mo 55%, median 34.9 mo, 36-mo 47.5% from infusion: {cite('c1_pfs_median')}; "
              f"{cite('c1_pfs_36')}. {boot}")
    fitted_curve("pfs_cart_4l", fam_c1, coef_c1, t_c1, s_c1, int(v("c1_n")), src_c1)
    return t_c1, s_c1, fam_c1, coef_c1


def _scenario_curves(b: _Build, c1: tuple, coef_c2, t_post, s_post):
    """Scenario curves (mixture cure, ide-cel) and the attenuated 3L curve."""
    P, curves, diag, bg, family_curve = b.P, b.curves, b.diag, b.bg, b.family_curve
    t_c1, s_c1, fam_c1, coef_c1 = c1
    # -- scenario curves: mixture cure, 3L midpoint, ide-cel -------------------------------------
    # cure fraction: the largest pi (grid 0.01) for which the mixture-cure least-squares fit to
    # the four CARTITUDE-1 landmarks (27, 34.9, 36 mo and the >=5-year plateau) keeps every
    # landmark within 2 percentage points (a free fit of pi drifts to 0: a Weibull with a
    # decreasing hazard fits these landmarks as well)
    t_cure, s_cure = t_c1 + [60.0], s_c1 + [v("c1_pfs_60")]
    pi, k4, lam4 = 0.0, *fit_cure(t_cure, s_cure, bg, cure=0.0)[1:]
    for cand in np.arange(0.01, 0.5, 0.01):
        _, k, lam = fit_cure(t_cure, s_cure, bg, cure=float(cand))
        sbg = np.asarray(bg.survival(np.asarray(t_cure) / 12.0)).ravel()
        fitted = sbg * (cand + (1 - cand) * np.exp(-(np.asarray(t_cure) / lam) ** k))
        if np.max(np.abs(fitted - np.asarray(s_cure))) > 0.02:
            break
        pi, k4, lam4 = round(float(cand), 2), k, lam
    src_cure = (f"mixture cure (relative survival S = S_bg (pi + (1-pi) S_u), Weibull S_u) fitted "
                f"to CARTITUDE-1 27-mo 55%, median 34.9, 36-mo 47.5% and 33% PF at >=5 years "
                f"({cite('c1_pfs_60')}); pi = {pi:.2f} is the largest cure fraction keeping all "
                "four landmarks within 2 pp (a free fit drifts to pi = 0); scenario "
                "'mixture cure'")
    P.add("cure_fraction_cart", pi, "share", src_cure + "; PSA uniform 0.2-0.45 (assumption)",
          "uniform", (0.2, 0.45))
    P.add("pfs_cart_4l_cure_shape", k4, "", src_cure)
    P.add("pfs_cart_4l_cure_scale", lam4, "months", src_cure)
    _, k2, lam2 = fit_cure(t_post, s_post, bg, cure=pi)
    src_cure2 = (assumption(f"cure fraction at 2L/3L = the CARTITUDE-1 fitted value {pi:.3f}") +
                 "; uncured Weibull fitted exactly to the pathway-adjusted CARTITUDE-4 landmarks "
                 f"({cite('c4_cart_pfs_12')}; {cite('c4_cart_pfs_30')}); scenario 'mixture cure'")
    P.add("pfs_cart_2l_cure_shape", k2, "", src_cure2)
    P.add("pfs_cart_2l_cure_scale", lam2, "months", src_cure2)
    diag["cure"] = (pi, k4, lam4, k2, lam2)

    attenuated_3l(P, curves, fam_c1, diag, coef_c2, coef_c1)

    hr_ide = v("karmma3_hr") / v("c4_pfs_hr")
    src_ide = (f"Bucher indirect comparison through SOC: HR ide-cel vs cilta-cel = 0.49 / 0.29 "
               f"= {hr_ide:.3f} ({cite('karmma3_hr')}; {cite('c4_pfs_hr')}), applied to the "
               "cilta-cel post-infusion curve; assumption: ITT HRs transport to PFS from "
               "infusion and the trials' SOC arms are exchangeable; scenario 'ide-cel instead "
               "of cilta-cel'")
    P.add("hr_idecel_vs_cilta", hr_ide, "HR", src_ide)
    curves["pfs_idecel"] = Curve("pfs_idecel", reference="pfs_cart_2l", hr="hr_idecel_vs_cilta",
                                 source=src_ide)
    k_ide4 = coef_c1[0] if fam_c1 == "weibull" else 1.0
    P.add("pfs_idecel_4l_shape", k_ide4, "", assumption(
        "Weibull shape of ide-cel 4L+ PFS (only a median published): the CARTITUDE-1 Weibull "
        "shape; used only in the scenario 'ide-cel instead of cilta-cel'"))
    P.add("pfs_idecel_4l_scale", scale_for_median("weibull", k_ide4, v("karmma_pfs_median")),
          "months", f"Weibull scale for median 8.8 mo from infusion ({cite('karmma_pfs_median')})")
    family_curve("pfs_idecel_4l", "weibull", ["pfs_idecel_4l_shape", "pfs_idecel_4l_scale"],
                 cite("karmma_pfs_median"))


def _soc_later(b: _Build, t_soc, s_soc):
    """SOC 3L and 4L+: medians with the SOC 2L shape."""
    P, family_curve = b.P, b.family_curve
    # -- SOC 3L and 4L+: medians with the SOC 2L shape -------------------------------------------
    # Weibull shape from the CARTITUDE-4 SOC landmarks (a log-logistic tail with a borrowed shape
    # would leave 4L+ patients progression-free for years)
    shape_soc = fit(t_soc, s_soc, "weibull")[0][0]
    fam_later = "weibull"
    med_3l = (v("apollo_pd_median") + v("optimismm_pd_median")) / 2
    for line, median, se_log, src in (
        ("3l", med_3l, 0.15, f"median {med_3l:.1f} mo = mean of the Pd control arms of APOLLO and "
         f"OPTIMISMM ({cite('apollo_pd_median')}; {cite('optimismm_pd_median')}); PSA lognormal "
         "se(log) 0.15 (assumption)"),
        ("4l", v("loco_pfs_median"), (math.log(v("loco_pfs_hi")) - math.log(v("loco_pfs_lo")))
         / (2 * 1.96), f"median 4.6 mo ({cite('loco_pfs_median')}); PSA lognormal, se(log) from "
         "the 95% CI 3.9-5.6"),
    ):
        scale = scale_for_median(fam_later, shape_soc, median)
        P.add(f"pfs_soc_{line}_scale", scale, "months", f"{fam_later} scale for {src}",
              "lognormal_sdlog", (se_log,), rel=(0.75, 1.33))
        P.add(f"pfs_soc_{line}_shape", shape_soc, "", assumption(
            "Weibull shape from a Weibull fit to the CARTITUDE-4 SOC landmarks (only a median "
            "published); PSA uniform +-30%"), "uniform", (0.7 * shape_soc, 1.3 * shape_soc))
        family_curve(f"pfs_soc_{line}", fam_later, [f"pfs_soc_{line}_shape",
                                                  f"pfs_soc_{line}_scale"], src)


def _bispecific_4l(b: _Build):
    """A BCMA bispecific (teclistamab) at 4L+, for the scenario that replaces the real-world
    physician's choice of LocoMMotion with current US practice."""
    P = b.P
    median = v("majestec1_pfs_median")
    P.add("pfs_bispecific_4l_rate", math.log(2) / median, "per month", (
        f"exponential with median {median:g} mo ({cite('majestec1_pfs_median')}; the pooled "
        f"trial cohort at 29.5 mo follow-up: {v('majestec1_pooled_pfs_median'):g} mo, "
        f"{cite('majestec1_pooled_pfs_median')}); treated to progression; used only in the "
        "scenario '4L+: bispecific (teclistamab)'"))
    b.family_curve("pfs_bispecific_4l", "exponential", ["pfs_bispecific_4l_rate"],
                   cite("majestec1_pfs_median"))
    P.add("cost_bispecific_month", usd("price_teclistamab_month"), "USD/month", (
        f"{cite('price_teclistamab_month')}; launch list price, current WAC not found; no "
        "reduction for every-2-week dosing in responders; used only in the scenario "
        "'4L+: bispecific (teclistamab)'"))


def _os_curves(b: _Build):
    """OS curves for input checks and validation, and the palliative phase."""
    P, curves, family_curve = b.P, b.curves, b.family_curve
    # -- OS curves: validation checks (Regimen.os) and palliative survival -----------------------
    for name, key, n_src in (("os_soc_2l", "c4_soc_os_30", "CARTITUDE-4 SOC"),
                             ("os_cart_2l", "c4_cart_os_30", "CARTITUDE-4 cilta-cel ITT")):
        rate = -math.log(v(key)) / 30.0
        P.add(f"{name}_rate", rate, "per month", f"exponential through 30-mo OS ({cite(key)}); "
              "trial OS for input checks and validation only")
        curves[name] = Curve(name, "exponential", {"rate": f"{name}_rate"}, source=n_src)
    t_os1 = [27.0, 36.0, v("c1_os_median")]
    s_os1 = [v("c1_os_27"), v("c1_os_36"), 0.5]
    fam_os1 = best_family(t_os1, s_os1)
    coef_os1, _ = fit(t_os1, s_os1, fam_os1)
    names = [f"os_cart_4l_{n}" for n in FAMILIES[fam_os1].param_names]
    for n, val in zip(names, coef_os1, strict=True):
        P.add(n, val, "months" if n.endswith("scale") else "", f"{fam_os1} fit to CARTITUDE-1 OS "
              f"27-mo 70%, 36-mo 62.9%, median 60.7 ({cite('c1_os_27')}; {cite('c1_os_median')});"
              " validation only")
    family_curve("os_cart_4l", fam_os1, names, cite("c1_os_median"))
    P.add("os_soc_4l_rate", math.log(2) / v("loco_os_median"), "per month",
          f"exponential, median OS 13.8 mo ({cite('loco_os_median')}); validation only")
    curves["os_soc_4l"] = Curve("os_soc_4l", "exponential", {"rate": "os_soc_4l_rate"},
                                source=cite("loco_os_median"))
    pps = v("loco_os_median") - v("loco_pfs_median")
    P.add("os_palliative_median", pps, "months", assumption(
        f"median survival without further active therapy (exponential), start value {pps:.1f} "
        f"mo = median OS - median PFS in LocoMMotion ({cite('loco_os_median')}; a difference of "
        "medians, not a published post-progression median); calibrated; scenario 'palliative "
        "survival MAMMOTH'"))
    P.derived("os_palliative_rate", "=LN(2)/os_palliative_median", "per month",
              "formula: exponential rate of the palliative median survival")
    pps_m = v("mammoth_os_median") - v("mammoth_pfs_median")
    P.add("os_palliative_rate_mammoth", math.log(2) / pps_m, "per month", assumption(
        f"scenario: median {pps_m:.1f} mo = median OS - median PFS of the next regimen in "
        f"MAMMOTH ({cite('mammoth_os_median')})"))
    curves["os_palliative"] = Curve("os_palliative", "exponential",
                                    {"rate": "os_palliative_rate"},
                                    source="LocoMMotion (derived; assumption)")


def _shares(b: _Build):
    """Death shares of PFS events and attrition between lines."""
    P = b.P
    # -- death shares and attrition ------------------------------------------------------------
    ds = {"2l": 0.15, "3l": 0.20, "4l": 0.25, "cart": 0.20}
    src_ds = assumption("share of PFS events that are deaths (no published split of PFS events "
                        "found); scenario 'death shares high'")
    for key, val in ds.items():
        if f"death_share_{key}" in CALIBRATED_SHARES:  # calibrated on the log-odds scale
            P.add(f"death_share_{key}_logit", math.log(val / (1 - val)), "log-odds", src_ds)
            P.derived(f"death_share_{key}", f"=1/(1+EXP(-death_share_{key}_logit))", "share",
                      "formula: the calibrated log-odds as a share, so every PSA draw is a share")
        else:
            P.beta(f"death_share_{key}", val, 0.07, src_ds + "; PSA beta se 0.07", unit="share",
                   low=max(val - 0.1, 0.02), high=val + 0.1)
    for line, nontx, tx in (("2l", "attr_nontx_2l", "attr_tx_2l"),
                            ("3l", "attr_nontx_3l", "attr_tx_3l")):
        reach = 1 - (v(nontx) + v(tx)) / 2
        d = ds[line]
        p = min(reach / (1 - d), 1.0)
        lo = min((1 - v(nontx)) / (1 - d), 1.0)
        hi = min((1 - v(tx)) / (1 - d), 1.0)
        P.beta(f"p_next_after_{line}", p, 0.04, (
            f"derived: registry share starting the next line {reach:.3f} (mean of transplant and "
            f"non-transplant; {cite(nontx)}; {cite(tx)}) / (1 - death share {d:.2f}), since "
            f"p_next applies to progressions that are not deaths; DSA range non-transplant to "
            "transplant; PSA beta se 0.04"), low=lo, high=hi)
        P.add(f"p_next_after_{line}_nontx", lo, "probability",
              f"scenario 'attrition non-transplant registry': {cite(nontx)}, /(1 - death share)")


def _utilities(b: _Build):
    """Utilities and the population norms by age."""
    P = b.P
    # -- utilities -----------------------------------------------------------------------------
    P.beta("u_pf_2l", v("u_pf_2l"), 0.03, cite("u_pf_2l") + "; PSA beta se 0.03", "utility",
           0.68, 0.79)
    later = assumption("myeloma health-state utilities by line not found (KarMMa/KarMMa-3 EQ-5D "
                       "by progression status not retrievable); declining by line from 0.737; "
                       "PSA beta se 0.06; scenario 'utility assumptions low'")
    P.beta("u_pf_3l", 0.70, 0.06, later, "utility", 0.6, 0.737)
    P.beta("u_pf_4l", 0.65, 0.06, later, "utility", 0.55, 0.70)
    P.beta("u_palliative", 0.60, 0.08, later, "utility", 0.45, 0.65)
    P.beta("u_bridging", 0.70, 0.06, assumption("utility while awaiting CAR T on bridging "
                                                "therapy; scenario 'utility assumptions low'"),
           "utility", 0.6, 0.737)
    P.add("tf_utility_gain", 0.05, "utility", assumption(
        f"utility gain while progression-free and off treatment; no direct estimate - CML "
        f"analogy 0.08 ({cite('tf_cml')}), CARTITUDE-4 QLQ-C30 GHS +10.1 vs -1.5 (Mina et al., "
        "Lancet Haematol 2025); PSA uniform 0-0.08; scenario 'no treatment-free utility gain'"),
        "uniform", (0.0, 0.08), 0.0, 0.08)
    rec = v("pro_recovery_weeks") * 7 / DAYS_PER_MONTH
    P.add("tf_recovery_months", round(rec, 3), "months", (
        f"the treatment-free gain starts {v('pro_recovery_weeks'):g} weeks after infusion: "
        f"{cite('pro_recovery_weeks')}; PSA uniform 0.5-3 months (assumption: cytopenias and "
        "IVIG may last longer); scenario 'recovery 3 months'"), "uniform", (0.5, 3.0), 0.5, 3.0)
    norms = ((0.0, v("u_norm_55")), (65.0, v("u_norm_65")), (75.0, v("u_norm_75")))
    return norms


def _costs(b: _Build):
    """Costs in PRICE_YEAR USD (each source inflated with the US medical-care CPI; see README)."""
    P = b.P
    # -- costs (PRICE_YEAR USD; see README) ------------------------------------------------------
    doses_wk = DAYS_PER_MONTH / 7
    dara = usd("price_dara_dose")
    P.add("price_dara_dose", dara, "USD/dose", assumption(
        f"daratumumab SC (Faspro) current WAC/ASP not found; proxy = {cite('price_dara_dose')}; "
        "PSA uniform 4,000-12,000; scenario 'daratumumab price x1.5'"), "uniform",
        (4000, 12000), 4000, 12000)
    pom = usd("price_pom_28d") * DAYS_PER_MONTH / 28
    P.add("cost_pom_month", pom, "USD/month", f"{cite('price_pom_28d')}; x 30.44/28")
    sched = cite("dara_schedule")
    P.add("doses_dara_weekly", doses_wk, "doses/month", f"weekly dosing: {sched}")
    # DPd monthly costs by phase (dexamethasone negligible): workbook formulas over the price,
    # the dosing schedule and pomalidomide, so that a price edited in Excel flows through
    for phase, share in (("induction", 1), ("q2w", 0.5), ("maint", 0.25)):
        dose = "doses_dara_weekly" if share == 1 else f"doses_dara_weekly*{share:g}"
        P.derived(f"cost_dpd_{phase}", f"=price_dara_dose*{dose}+cost_pom_month", "USD/month",
                  f"formula: daratumumab doses per month ({sched}) x price_dara_dose + "
                  f"cost_pom_month; {cite('price_pom_28d')}; dexamethasone negligible; "
                  "daratumumab price is an assumption (see price_dara_dose)")
    generic_pomalidomide(P)
    tri = (usd("cost_triplet_lo") + usd("cost_triplet_hi")) / 2
    P.add("cost_soc_3l", tri, "USD/month", f"midpoint of {cite('cost_triplet_lo')}; PSA uniform "
          "over the range", "uniform", (usd("cost_triplet_lo"), usd("cost_triplet_hi")),
          usd("cost_triplet_lo"), usd("cost_triplet_hi"))
    P.gamma("cost_soc_4l", usd("cost_rrmm_drug"), 0.25, cite("cost_rrmm_drug") + "; PSA gamma se "
            "25%", unit="USD/month", low=usd("cost_rrmm_drug") * 0.6, high=usd("cost_triplet_hi"))
    cost_assume = "scenario 'non-drug cost assumptions x2'"
    P.gamma("cost_admin", 300, 0.5, assumption(f"administration per month on SOC treatment "
                                               f"(not found); PSA gamma se 50%; {cost_assume}"),
            unit="USD/month", low=100, high=900)
    P.gamma("cost_monitoring", 1000, 0.5, assumption(
        f"monitoring per month progression-free (not found); PSA gamma se 50%; {cost_assume}"),
        unit="USD/month", low=500, high=3000)
    non_drug = usd("cost_rrmm_all") - usd("cost_rrmm_drug")
    P.gamma("cost_palliative", non_drug, 0.3, f"derived: RRMM all-cause minus drug cost "
            f"${non_drug:,.0f}/month ({cite('cost_rrmm_all')}); PSA gamma se 30%",
            unit="USD/month", rel=(0.5, 1.5))
    P.gamma("cost_terminal", usd("cost_terminal"), 0.2,
            cite("cost_terminal") + "; PSA gamma se 20%", rel=(0.7, 1.5))
    price = usd("price_cilta")
    P.add("cilta_cel_price", price, "USD", f"{cite('price_cilta')}; DSA and scenarios -25% / +15%",
          rel=(0.75, 1.15))
    P.gamma("cost_cart_admission", usd("cost_admission"), 0.25, cite("cost_admission") +
            "; PSA gamma se 25%", rel=(0.8, 1.5))
    P.gamma("cost_apheresis", 10_000, 0.5, assumption(
        f"apheresis, cell collection and lymphodepletion (not found); PSA gamma se 50%; "
        f"{cost_assume}"), low=5000, high=20000)
    P.derived("cost_bridging", "=cost_dpd_induction", "USD/month", "formula: bridging with DPd "
              "at the induction-phase monthly cost (see cost_dpd_induction; CARTITUDE-4 bridging "
              "PVd/DPd, 80.8% had 1-2 cycles)")
    exposed = ("bridging by prior exposure: DPd-exposed patients are bridged with the regimen "
               "they would otherwise receive at this line (assumption; bridging regimens of "
               "CARTITUDE-1/real-world 3L-4L+ cilta-cel not retrieved)")
    P.derived("cost_bridging_3l", "=cost_soc_3l", "USD/month", f"formula: {exposed}; see "
              "cost_soc_3l")
    P.derived("cost_bridging_4l", "=cost_soc_4l", "USD/month", f"formula: {exposed}; see "
              "cost_soc_4l")
    return cost_assume


#: the CAR T regimens, and those given at 2L/3L (CARTITUDE-4 safety) and at 4L+ (CARTITUDE-1)
CAR_T_REGIMENS = ("cilta-cel", "cilta-cel 3L", "cilta-cel 4L+")
C4_REGIMENS, C1_REGIMENS = CAR_T_REGIMENS[:2], CAR_T_REGIMENS[2:]


def _adverse_event(P: Params, tox_rows: list, key, event, grade, inc, inc_src, cost, cost_src,
                   du, du_src, days, days_src, se=None, p_death=0.0, excess="", low=None,
                   high=None, n=236, regimens=CAR_T_REGIMENS):
    """Parameters of one adverse event of the CAR T regimens (incidence, cost, disutility,
    duration; PSA by how each was sourced) and its Toxicity row. ``inc`` may be a dict
    {suffix: (incidence, source, n, regimens)} of line-specific incidences sharing the rest;
    ``cost`` may be a workbook formula (text starting with "=")."""
    base = f"ae_{key}"
    by_line = inc if isinstance(inc, dict) else {"": (inc, inc_src, n, regimens)}
    for suffix, (p_inc, src, n_obs, regs) in by_line.items():
        if se is None:
            src += f"; PSA beta, binomial se with n={n_obs}"
        P.beta(f"{base}_incidence{suffix}", p_inc, se if se is not None else
               math.sqrt(p_inc * (1 - p_inc) / n_obs), src, low=low, high=high)
        tox_rows.append((event, grade, f"{base}_incidence{suffix}", f"{base}_cost",
                         f"{base}_disutility", f"{base}_days", p_death, excess or 0.0,
                         f"incidence: {src} | cost: {cost_src} | disutility: {du_src}", regs))
    if isinstance(cost, str):  # a workbook formula over other parameters
        P.derived(f"{base}_cost", cost, "USD/episode", cost_src)
    elif cost > 0:
        rel = 0.5 if cost_src.startswith("assumption") else 0.3
        P.gamma(f"{base}_cost", cost, rel, f"{cost_src}; PSA gamma se {rel:.0%}",
                unit="USD/episode")
    else:
        P.add(f"{base}_cost", 0.0, "USD/episode", cost_src)
    for suffix, val, src, unit in (("disutility", du, du_src, "utility decrement"),
                                   ("days", days, days_src, "days")):
        if src.startswith("assumption") and val > 0:  # wide PSA for assumed values
            P.add(f"{base}_{suffix}", val, unit, f"{src}; PSA uniform x0.5-x1.5; scenario "
                  "'utility assumptions low' (x1.5)", "uniform", (0.5 * val, 1.5 * val))
        elif src.startswith("assumption"):
            P.add(f"{base}_{suffix}", val, unit, f"{src}; scenario 'utility assumptions low'")
        else:
            P.add(f"{base}_{suffix}", val, unit, src)


def _crs_icans(P: Params, ae) -> None:
    """CRS and ICANS by grade (real-world rates at every line); the concurrent grade >=3 episode
    cost charged once."""
    year = 365.25
    howell = "duration 365 days: the Howell vignettes describe one year including the AE"

    crs12 = v("tox_crs_any") - v("tox_crs_g3")
    ae("crs12", "CRS", "1-2", crs12, f"derived: any 75% - grade >=3 5% ({cite('tox_crs_any')})",
       0, assumption("management included in the CAR T admission cost; scenario 'non-drug "
                     "cost assumptions x2' sets the grade-1 neurotoxicity median $1,930"),
       v("du_crs_g2"), cite("du_crs_g2") + " (grade-2 value for grades 1-2)", year, howell)
    ae("crs3", "CRS", ">=3", v("tox_crs_g3"), cite("tox_crs_g3"), usd("cost_crs_neuro_g3"),
       cite("cost_crs_neuro_g3"), v("du_crs_g3"), cite("du_crs_g3"), year, howell)
    ae("icans12", "ICANS", "1-2", v("tox_icans_any") - v("tox_icans_g3"),
       f"derived: any 14% - grade >=3 4% ({cite('tox_icans_any')})", usd("cost_neurotox_g1"),
       cite("cost_neurotox_g1"), v("du_neuro_g12"), cite("du_neuro_g12"), year, howell)
    # the episode cost is that of concurrent grade >=3 CRS and neurotoxicity: charged once for
    # a patient with both, i.e. only to grade >=3 ICANS without grade >=3 CRS
    P.add("ae_icans3_with_crs3", 0.5, "share", assumption(
        "share of grade >=3 ICANS episodes that occur with grade >=3 CRS, whose episode cost "
        "already covers them (joint incidence not found); PSA uniform 0-1"), "uniform",
        (0.0, 1.0), 0.0, 1.0)
    ae("icans3", "ICANS", ">=3", v("tox_icans_g3"), cite("tox_icans_g3"),
       "=ae_crs3_cost*(1-ae_icans3_with_crs3)", f"formula: the concurrent grade >=3 CRS + "
       f"neurotoxicity episode cost ({cite('cost_crs_neuro_g3')}) for the grade >=3 ICANS "
       "episodes without grade >=3 CRS (no double counting)", v("du_neuro_g3"),
       cite("du_neuro_g3"), year, howell)


def _toxicity(b: _Build, cost_assume: str):
    """Toxicity per treated patient: the Toxicity rows of each CAR T regimen."""
    P = b.P
    # -- toxicity (per treated patient) ------------------------------------------------------------
    tox_rows: list[tuple] = []  # (regimen-kind, event, grade, inc, cost, disutility, days, p_death,
    #                             excess_death, source, regimens)

    ae = functools.partial(_adverse_event, P, tox_rows)

    _crs_icans(P, ae)
    ae("parkinsonism", "parkinsonism (movement and neurocognitive TEAEs)", "any", {
        "_2l3l": (v("tox_parkinsonism_c4"), cite("tox_parkinsonism_c4"), 176, C4_REGIMENS),
        "_4l": (v("tox_mnt_c1"), cite("tox_mnt_c1"), 97, C1_REGIMENS)}, "", 40_000,
       assumption(f"episode cost (not found); PSA gamma se 50%; {cost_assume}"),
       v("du_neuro_g3"), cite("du_neuro_g3") + " (grade 3-4 neurological value)", 365,
       assumption("duration 365 days: often persistent (not found)"))
    ae("cnp", "cranial nerve palsy", "any", {
        "_2l3l": (v("tox_cnp_c4"), cite("tox_cnp_c4"), 176, C4_REGIMENS),
        "_4l": (v("tox_cnp_c1"), cite("tox_cnp_c1"), 97, C1_REGIMENS)}, "", 5_000,
       assumption(f"episode cost, short corticosteroid course (not found); PSA gamma se 50%; "
                  f"{cost_assume}"), v("du_neuro_g12"),
       cite("du_neuro_g12") + " (grade 1-2 neurological value: mostly low grade)", 60,
       assumption("duration 60 days: resolves after short corticosteroids (CARTITUDE pooled, "
                  "ONS 2024 poster, not quantified)"))
    ae("iec", "IEC enterocolitis", "any", v("tox_iec"), cite("tox_iec") + (
        "; FDA boxed warning Oct 2025; PSA beta se 0.008 (assumption); DSA 1%-11% (single "
        "centres); scenarios 'IEC incidence x0.5' and 'IEC incidence x3'"), 60_000, assumption(
        f"episode cost incl. TPN/hospitalization (not found); PSA gamma se 50%; {cost_assume}"),
       v("du_diarrhoea"), cite("du_diarrhoea"), 60, assumption("duration 60 days"), se=0.008,
       low=0.01, high=0.11)
    inf_c4, inf_c1 = v("tox_infection_g34_c4"), v("tox_infection_g34_c1")
    ae("infection", "infection", ">=3", {
        "_2l3l": (inf_c4, cite("tox_infection_g34_c4"), 208, C4_REGIMENS),
        "_4l": (inf_c1, cite("tox_infection_g34_c1"), 97, C1_REGIMENS)}, "", 20_000, assumption(
           f"episode cost (not found); PSA gamma se 50%; {cost_assume}"), v("du_infection"),
       cite("du_infection"), 14, assumption("duration 14 days"), p_death=v("c4_trd") / inf_c4)
    ae("cytopenia", "prolonged cytopenia", ">=3", v("tox_cytopenia"), cite("tox_cytopenia"),
       15_000, assumption(f"episode cost (not found); PSA gamma se 50%; {cost_assume}"), 0.1,
       assumption("disutility 0.1 (not found)"), 30, assumption("duration 30 days"))
    ivig = usd("price_ivig_g") * 0.4 * 80 * 6
    ae("ivig", "hypogammaglobulinaemia (IVIG)", "any", 0.4, assumption(
        "share receiving IVIG 40% (not found); PSA beta se 0.1"), ivig, assumption(
        f"IVIG 0.4 g/kg x 80 kg monthly for 6 months at $150/g ({cite('price_ivig_g')}, grade U);"
        f" {cost_assume}"), 0.0, assumption("no disutility"), 0, assumption("none"), se=0.1)
    ae("spm", "second primary malignancy", "any", v("tox_spm"), cite("tox_spm"), 50_000,
       assumption(f"episode cost (not found); PSA gamma se 50%; {cost_assume}"), 0.1,
       assumption("disutility 0.1 (not found)"), 90, assumption("duration 90 days"))
    excess = v("tox_nrm_rw") - v("c4_trd")
    P.add("excess_death_high_burden", 0.0, "probability", (
        f"0 in the base case (trial curves already contain treatment-related deaths); scenario "
        f"'high tumour burden' sets {excess:.2f} = real-world NRM 10% ({cite('tox_nrm_rw')}) "
        f"minus CARTITUDE-4 treatment-related deaths 3% ({cite('c4_trd')})"))
    P.add("ae_trm_incidence", 1.0, "probability", "structural: every infused patient is exposed "
          "to the excess treatment-related mortality of the 'high tumour burden' scenario")
    tox_rows.append(("treatment-related death (excess)", "any", "ae_trm_incidence", 0.0, 0.0,
                     0.0, 0.0, "excess_death_high_burden",
                     "scenario lever, see parameter excess_death_high_burden", CAR_T_REGIMENS))
    P.beta("ae_soc_infection_incidence", 0.25, 0.08, assumption(
        "grade >=3 infection with SOC per line (APOLLO/OPTIMISMM AE tables not retrieved); PSA "
        "beta se 0.08"), low=0.15, high=0.35)
    P.gamma("ae_soc_infection_cost", 20_000, 0.5, assumption(
        f"episode cost (not found); PSA gamma se 50%; {cost_assume}"), unit="USD/episode")
    return tox_rows


def _regimens() -> dict[str, Regimen]:
    """The regimens: SOC by line (DPd at 2L, and at 3L after CAR T), cilta-cel at 2L, 3L, 4L+."""
    def cart(p_not_infused: str, bridging: str = "cost_bridging") -> CarTPathway:
        return CarTPathway("months_to_infusion", p_not_infused, "p_death_if_not_infused",
                           "cost_apheresis", bridging, "cilta_cel_price",
                           "cost_cart_admission", "u_bridging", "p_later_infusion")

    soc_src = "SOC: CARTITUDE-4 control arm (DPd 87%, PVd 13%) modelled as DPd"
    return {r.name: r for r in (
        Regimen("SOC 2L (DPd)", "pfs_soc_2l", "u_pf_2l", ttd="ttd_soc_2l",
                death_share="death_share_2l", drug_cost=DPD_SCHEDULE,
                admin_cost="cost_admin", monitoring_cost="cost_monitoring", os="os_soc_2l",
                source=soc_src + "; dara weekly wk 1-8, q2w wk 9-24, q4w from wk 25 (label)"),
        Regimen("DPd 3L (after CAR T)", "pfs_soc_2l", "u_pf_3l", ttd="ttd_soc_2l",
                death_share="death_share_3l", drug_cost=DPD_SCHEDULE,
                admin_cost="cost_admin", monitoring_cost="cost_monitoring",
                source=assumption("after cilta-cel at 2L patients are still anti-CD38-naive and "
                                  "receive DPd at 3L, with the efficacy and treatment duration of "
                                  "the CARTITUDE-4 SOC arm (two thirds of which had 2-3 prior "
                                  "lines)")),
        Regimen("SOC 3L", "pfs_soc_3l", "u_pf_3l", death_share="death_share_3l",
                drug_cost=((0.0, "cost_soc_3l"),), admin_cost="cost_admin",
                monitoring_cost="cost_monitoring",
                source="3L SOC: pomalidomide/PI doublets-triplets (APOLLO/OPTIMISMM control arms)"),
        Regimen("SOC 4L+", "pfs_soc_4l", "u_pf_4l", death_share="death_share_4l",
                drug_cost=((0.0, "cost_soc_4l"),), admin_cost="cost_admin",
                monitoring_cost="cost_monitoring", os="os_soc_4l",
                source="4L+ SOC: real-world physician's choice in triple-class exposed "
                       "(LocoMMotion)"),
        Regimen("cilta-cel", "pfs_cart_2l", "u_pf_2l", one_time=True,
                death_share="death_share_cart", monitoring_cost="cost_monitoring",
                car_t=cart("p_not_infused"), os="os_cart_2l",
                source="cilta-cel at 2L: CARTITUDE-4 (pathway from CARTITUDE-4; PFS from "
                       "infusion)"),
        Regimen("cilta-cel 3L", "pfs_cart_3l", "u_pf_3l", one_time=True,
                death_share="death_share_cart", monitoring_cost="cost_monitoring",
                car_t=cart("p_not_infused", "cost_bridging_3l"),
                source="cilta-cel at 3L: midway between CARTITUDE-4 and CARTITUDE-1 (assumption: "
                       "DPd-exposed patients respond less than at 2L; scenario '3L = 2L')"),
        Regimen("cilta-cel 4L+", "pfs_cart_4l", "u_pf_4l", one_time=True,
                death_share="death_share_cart", monitoring_cost="cost_monitoring",
                car_t=cart("p_not_infused", "cost_bridging_4l"), os="os_cart_4l",
                source="cilta-cel at 4L+: CARTITUDE-1 from infusion; CARTITUDE-4 drop-out"),
    )}


def _structure(b: _Build, tox_rows: list, norms, fam_c1: str):
    """Regimens, strategies and the Model."""
    P, curves, age = b.P, b.curves, b.age
    # -- regimens, strategies ------------------------------------------------------------------
    regimens = _regimens()
    adverse: list[AdverseEvent] = []
    tox_sources: list[str] = []
    for reg in CAR_T_REGIMENS:
        for event, grade, inc, cost, du, days, p_death, exc, src, regs in tox_rows:
            if reg in regs:
                adverse.append(AdverseEvent(reg, event, grade, inc, cost, du, days, p_death, exc))
                tox_sources.append(src)
    for reg in ("SOC 2L (DPd)", "SOC 3L", "SOC 4L+"):
        adverse.append(AdverseEvent(reg, "infection", ">=3", "ae_soc_infection_incidence",
                                    "ae_soc_infection_cost", v("du_infection"), 14))
        tox_sources.append(f"incidence and cost: assumptions (see parameters); disutility: "
                           f"{cite('du_infection')}; duration 14 days (assumption)")
    after2, after3 = "p_next_after_2l", "p_next_after_3l"
    strategies = (
        Strategy("SOC", (Line("SOC 2L (DPd)", after2), Line("SOC 3L", after3),
                         Line("SOC 4L+"))),
        Strategy("CAR T 2L", (Line("cilta-cel", after2), Line("DPd 3L (after CAR T)", after3),
                              Line("SOC 4L+"))),
        Strategy("CAR T 3L", (Line("SOC 2L (DPd)", after2), Line("cilta-cel 3L", after3),
                              Line("SOC 4L+"))),
        Strategy("CAR T 4L+", (Line("SOC 2L (DPd)", after2), Line("SOC 3L", after3),
                               Line("cilta-cel 4L+"))),
    )
    extra = {}
    try:  # the budget plans of the owner's seed model (budget impact is outside issue #8)
        from hecon.examples import default_budget_plans
        extra["budget"] = default_budget_plans()
    except ImportError:
        pass
    model = Model(
        name="Cilta-cel in lenalidomide-refractory multiple myeloma: line sequencing (US payer)",
        settings=Settings(age=age, male=MALE_SHARE, wtp=(50_000.0, 100_000.0, 150_000.0),
                          price_year=PRICE_YEAR, cost_basis=COST_BASIS, age_adjust_utility=True,
                          utility_norms=norms, fine_years=1.0, coarse_days=28.0,
                          tail_years=10.0, tail_days=112.0),
        parameters=P.items, curves=curves, regimens=regimens, strategies=strategies,
        palliative=Palliative("os_palliative", "cost_palliative", "u_palliative"),
        adverse_events=tuple(adverse), terminal_care_cost="cost_terminal",
        tf_utility_gain="tf_utility_gain", tf_recovery="tf_recovery_months",
        scenarios=scenarios(P.items, fam_c1),
        covariance=P.covariance, prices=price_paths(), **extra)
    return model, tox_sources


def times(name: str, factor: float) -> tuple[str, str]:
    """A scenario override relative to the base value: the formula =name*factor."""
    return name, f"={name}*{factor:g}"


#: DPd drug cost by month of treatment: daratumumab weekly weeks 1-8, every 2 weeks weeks 9-24,
#: every 4 weeks from week 25 (label), pomalidomide throughout
DPD_SCHEDULE = ((0.0, "cost_dpd_induction"), (56 / DAYS_PER_MONTH, "cost_dpd_q2w"),
                (168 / DAYS_PER_MONTH, "cost_dpd_maint"))
#: DPd cost parameters and their daratumumab doses per month as a share of weekly dosing
DPD_PHASES = (("cost_dpd_induction", "1"), ("cost_dpd_q2w", "0.5"), ("cost_dpd_maint", "0.25"))


def generic_pomalidomide(P: Params) -> None:
    """Generic pomalidomide (US launch March 2026): from model year ``pom_generic_year`` the
    pomalidomide part of each DPd cost is multiplied by ``pom_generic_factor``. A Prices-sheet
    step multiplies a whole cost parameter, so each DPd cost gets a derived factor: (dara +
    pom x factor) / (dara + pom), a formula that follows both prices in every draw."""
    P.add("pom_generic_factor", 1 - v("generic_erosion_1y"), "share", assumption(
        f"generic pomalidomide price as a share of the brand price, from lenalidomide generic "
        f"erosion in Spain after about 1 year ({cite('generic_erosion_1y')}); the US generic "
        "price was not found; PSA uniform 0.10-0.50 (-50% to -90%); scenario 'no generic "
        "pomalidomide'"), "uniform", (0.10, 0.50), 0.10, 0.50)
    P.add("pom_generic_year", 0.5, "years", assumption(
        f"model year from which the generic price applies: cohort starting January 2026, "
        f"generic launch March 2026 ({cite('pom_generic_launch')}) plus the 180-day shared "
        "exclusivity"), low=0.25, high=2.0)
    for cost, share in DPD_PHASES:
        dara = "price_dara_dose*doses_dara_weekly" + ("" if share == "1" else f"*{share}")
        P.derived(f"{cost}_generic", f"=({dara}+cost_pom_month*pom_generic_factor)/{cost}",
                  "share", "formula: DPd cost with generic pomalidomide / with the brand price")


def price_paths() -> tuple[PriceStep, ...]:
    """The Prices sheet: generic pomalidomide in every DPd cost (and bridging, priced as DPd
    induction)."""
    src = "generic pomalidomide (see pom_generic_factor, pom_generic_year)"
    steps = [PriceStep(cost, "pom_generic_year", f"{cost}_generic", src)
             for cost, _ in DPD_PHASES]
    return (*steps, PriceStep("cost_bridging", "pom_generic_year", "cost_dpd_induction_generic",
                              src))


def attenuated_3l(P: Params, curves: dict, fam_c1: str, diag: dict, coef_c2, coef_c1) -> None:
    """cilta-cel at 3L: between CARTITUDE-4 (2L) and CARTITUDE-1 (4L+), since DPd-exposed
    patients respond less (CARTITUDE-4 by 1 vs 2-3 prior lines not found): Weibull coefficients
    interpolated geometrically with weight ``attenuation_3l`` (0 = 2L, 1 = 4L+), as formulas
    over both fits' coefficients so that every PSA draw carries their uncertainty."""
    if fam_c1 != "weibull":
        raise ValueError(f"the 3L interpolation needs a Weibull CARTITUDE-1 fit, not {fam_c1}")
    P.add("attenuation_3l", 0.5, "share", assumption(
        "3L efficacy midway between CARTITUDE-4 (0) and CARTITUDE-1 (1) on the Weibull "
        "coefficients' log scale; PSA uniform 0-1; scenario 'cilta-cel 3L = 2L efficacy'"),
        "uniform", (0.0, 1.0), 0.0, 1.0)
    src = "formula: geometric interpolation of the CARTITUDE-4 and CARTITUDE-1 Weibull fits"
    for coef in ("shape", "scale"):
        P.derived(f"pfs_cart_3l_{coef}", f"=pfs_cart_2l_{coef}^(1-attenuation_3l)"
                  f"*pfs_cart_4l_{coef}^attenuation_3l", "months" if coef == "scale" else "", src)
    curves["pfs_cart_3l"] = Curve("pfs_cart_3l", "weibull", {
        "shape": "pfs_cart_3l_shape", "scale": "pfs_cart_3l_scale"}, "months", source=src)
    tm, sm = midpoint_log_hazard("weibull", coef_c2, fam_c1, coef_c1)
    grid = np.arange(3.0, 61.0, 3.0)
    diag["3L midpoint on the log-hazard scale (check)"] = fit(grid, np.interp(grid, tm, sm),
                                                              "weibull")[0]


#: death shares calibrated through their log-odds (so that PSA draws stay shares)
CALIBRATED_SHARES = ("death_share_2l", "death_share_cart")
#: calibrated parameters and their bounds: the assumptions that shape survival after
#: progression (death shares of PFS events, palliative median survival: QALYs are about linear
#: in it, so its skewed PSA draws bias the PSA mean less than a rate would) and the 3L cost
#: after DPd
CALIBRATED = {**{f"{n}_logit": (-5.0, 2.0) for n in CALIBRATED_SHARES},
              "os_palliative_median": (1.0, 60.0), "cost_soc_3l": (5_000.0, 80_000.0)}


def calibration_targets() -> pd.DataFrame:
    """CARTITUDE-4 OS of both arms at every published landmark (10 months from the deaths in
    the first 10 months; 24 months at the FDA cut; 30 months) and Hansen's SOC-arm
    subsequent-therapy cost, weighted by 1/SE² (binomial SE for survival, 10% for the cost)."""
    rows = []
    for strategy, arm, n in (("SOC", "soc", v("c4_n_soc")), ("CAR T 2L", "cart", v("c4_n_cart"))):
        for months, value in ((10, 1 - v(f"c4_{arm}_died_10")), (24, v(f"c4_{arm}_os_24")),
                              (30, v(f"c4_{arm}_os_30"))):
            rows.append((strategy, "os", months / 12, value, n / (value * (1 - value)), None))
    cost = usd("hansen_soc_subsequent")
    rows.append(("SOC", "cost", 25.4 / 12, cost, 1 / (0.1 * cost) ** 2, "subsequent_drugs"))
    return pd.DataFrame(rows, columns=["strategy", "measure", "time", "value", "weight",
                                       "category"])


def calibrate_to_trials(model: Model, diag: dict) -> Model:
    """The model with :data:`CALIBRATED` fitted to :func:`calibration_targets` (hecon.calibrate,
    weighted least squares, Vanni et al. 2011); the estimates' covariance is a PSA group."""
    from hecon.calibration import calibrate
    from hecon.io.calibration import CalibrationSpec, calibrated_model

    targets = calibration_targets()
    cal = calibrate(model, targets, list(CALIBRATED), CALIBRATED, known_variance=True)
    diag["calibration"] = cal.table[["target", "value", "model", "residual"]].round(4)
    spec = CalibrationSpec(targets, list(CALIBRATED), CALIBRATED)
    out = calibrated_model(model, cal, spec)
    sources = ("CARTITUDE-4 OS at 10, 24 and 30 months in both arms "
               f"({cite('c4_soc_died_10')}; {cite('c4_soc_os_24')}; {cite('c4_soc_os_30')}) and "
               f"the SOC subsequent-therapy cost ({cite('hansen_soc_subsequent')})")
    params = {n: replace(p, source=f"calibrated to {sources}; " + p.source.split("; before: ")[0]
                         .split(" (hecon calibrate")[1].join(["(hecon calibrate", ""])
                         + f"; before: {model.parameters[n].source}")
              if n in CALIBRATED else p for n, p in out.parameters.items()}
    return replace(out, parameters=params)


def scenarios(params: dict[str, Parameter], fam_4l: str) -> dict[str, tuple]:
    """Named scenarios (Model.scenarios): (target, value) overrides; multipliers are formulas
    relative to the base value, so that they stay true after the base is edited."""
    p = {k: x.value for k, x in params.items()}
    cure_2l = (("Survival:pfs_cart_2l.param_1", "pfs_cart_2l_cure_shape"),
               ("Survival:pfs_cart_2l.param_2", "pfs_cart_2l_cure_scale"),
               ("Survival:pfs_cart_2l.cure_fraction", "cure_fraction_cart"))
    cure_3l = tuple((t.replace("pfs_cart_2l.", "pfs_cart_3l."), val) for t, val in cure_2l)
    cure_4l = (("Survival:pfs_cart_4l.family", "weibull"),
               ("Survival:pfs_cart_4l.param_1", "pfs_cart_4l_cure_shape"),
               ("Survival:pfs_cart_4l.param_2", "pfs_cart_4l_cure_scale"),
               ("Survival:pfs_cart_4l.cure_fraction", "cure_fraction_cart"))
    mult = {"cost_admin", "cost_monitoring", "cost_apheresis", "ae_parkinsonism_cost",
            "ae_cnp_cost", "ae_iec_cost", "ae_infection_cost", "ae_cytopenia_cost", "ae_ivig_cost",
            "ae_spm_cost", "ae_soc_infection_cost"}
    return {
        "mixture cure (CARTITUDE-1 plateau)": cure_2l + cure_3l + cure_4l,
        "cilta-cel 3L = 2L efficacy (CARTITUDE-4)": (("attenuation_3l", 0.0),),
        "never infused: real-world at every line": tuple(
            (f"Regimens:{r}.p_not_infused", "p_not_infused_rw")
            for r in ("cilta-cel", "cilta-cel 3L", "cilta-cel 4L+")),
        "IEC incidence x0.5": (times("ae_iec_incidence", 0.5),),
        "IEC incidence x3": (times("ae_iec_incidence", 3),),
        "CAR T price -25%": (times("cilta_cel_price", 0.75),),
        "CAR T price +15%": (times("cilta_cel_price", 1.15),),
        "ide-cel instead of cilta-cel": (
            ("Regimens:cilta-cel.pfs", "pfs_idecel"), ("Regimens:cilta-cel 3L.pfs", "pfs_idecel"),
            ("Regimens:cilta-cel 4L+.pfs", "pfs_idecel_4l"),
            ("Regimens:cilta-cel.p_not_infused", v("karmma3_not_infused")),
            ("Regimens:cilta-cel 3L.p_not_infused", v("karmma3_not_infused")),
            ("Regimens:cilta-cel 4L+.p_not_infused", v("karmma3_not_infused")),
            ("Regimens:cilta-cel.os", None), ("Regimens:cilta-cel 4L+.os", None),
            ("cilta_cel_price", usd("price_idecel")),
            ("ae_crs12_incidence", v("tox_idecel_crs_any") - v("tox_idecel_crs_g3")),
            ("ae_crs3_incidence", v("tox_idecel_crs_g3")),
            ("ae_icans12_incidence", v("tox_idecel_icans_any") - v("tox_idecel_icans_g3")),
            ("ae_icans3_incidence", v("tox_idecel_icans_g3"))),
        "no treatment-free utility gain": (("tf_utility_gain", 0.0),),
        "recovery 3 months": (("tf_recovery_months", 3.0),),
        "4L+: bispecific (teclistamab)": (
            ("Regimens:SOC 4L+.pfs", "pfs_bispecific_4l"),
            ("cost_bridging_4l", "=cost_soc_4l"),  # bridging stays the 4L+ base-case regimen
            ("cost_soc_4l", "=cost_bispecific_month")),
        "later infusions: label safety population": (
            ("p_later_infusion", v("c4_later_infused_label") / (v("c4_not_infused") *
                                                                 v("c4_n_cart"))),),
        "budget: Medicare Advantage plan": (
            ("Settings:budget_plan", "Medicare Advantage, 1M members"),),
        "budget: faster 2L uptake": (
            ("Settings:budget_plan", "US commercial, 1M members, faster 2L uptake"),),
        "10-year horizon": (("Settings:horizon_years", 10.0),),
        "discount 0%": (("Settings:discount_costs", 0.0), ("Settings:discount_outcomes", 0.0)),
        "discount 5%": (("Settings:discount_costs", 0.05), ("Settings:discount_outcomes", 0.05)),
        "high tumour burden": (
            times("ae_crs3_incidence", 2),
            ("excess_death_high_burden", v("tox_nrm_rw") - v("c4_trd"))),
        "real-world SOC (Flatiron rwPFS 6.5 mo)": (
            ("Regimens:SOC 2L (DPd).pfs", "pfs_soc_2l_rw"),
            ("Regimens:SOC 2L (DPd).ttd", "ttd_soc_2l_rw"),
            ("Regimens:SOC 2L (DPd).os", None)),
        # scenarios covering the labelled assumptions
        "palliative survival MAMMOTH": (("os_palliative_rate", "=os_palliative_rate_mammoth"),),
        "utility assumptions low": (
            ("u_pf_3l", 0.62), ("u_pf_4l", 0.55), ("u_palliative", 0.45), ("u_bridging", 0.60),
            *(times(k, 1.5) for k in sorted(p) if k.startswith("ae_") and
              k.endswith(("_disutility", "_days")) and params[k].source.startswith("assumption")
              and p[k] > 0),
            ("ae_ivig_disutility", 0.05), ("ae_ivig_days", 30.0)),
        "non-drug cost assumptions x2": (*(times(k, 2) for k in sorted(mult)),
                                         ("ae_crs12_cost", usd("cost_neurotox_g1"))),
        "daratumumab price x1.5": (times("price_dara_dose", 1.5),),  # DPd costs are formulas
        "no generic pomalidomide": (("pom_generic_year", 100.0),),  # beyond the horizon
        "death shares high": tuple((f"death_share_{k}", f"=death_share_{k}+0.1")
                                   for k in ("2l", "3l", "4l", "cart")),
        "attrition non-transplant registry": (
            ("p_next_after_2l", "=p_next_after_2l_nontx"),
            ("p_next_after_3l", "=p_next_after_3l_nontx")),
        "male share 50%": (("Settings:male_share", 0.5),),
    }


# ---------------------------------------------------------------------------------------------
# the workbook
# ---------------------------------------------------------------------------------------------
#: how the default model's costs are dated
COST_BASIS = (f"{PRICE_YEAR} USD: US list prices and costs as found, inflated from the price "
              "year of each source with the US medical-care CPI (BLS CUUR0000SAM)")
SETTING_NOTES = {
    "price_year": f"every cost in {PRICE_YEAR} USD: each source's amount x CPI-U medical care "
                  f"{PRICE_YEAR} / CPI-U medical care of its price year (inputs/evidence/"
                  "cpi_medical_care.csv; the factor is in each parameter's source)",
    "male_share": "assumption: 57% male ('about 55-60%' in CARTITUDE-4 reports, not verified); "
                  "scenario 'male share 50%'",
    "age": "CARTITUDE-4 median age 61-61.5 (Transplant Cell Ther 2023 review table)",
    "coarse_days": "time grid (speed, not evidence): weekly cycles for the first year (CAR T "
                   "pathway, early toxicity), 28-day cycles to 10 years, then 112-day cycles; "
                   "within 0.03% of the all-weekly model on every strategy's costs, LYs and QALYs "
                   "in the base case, and PSA draws within 0.15% (largest seen 0.10%; "
                   "tests/test_grid.py); blank for weekly throughout",
    "utility_norms": "US EQ-5D-5L norms 0.815 (55-64), 0.824 (65-74), 0.811 (75+) (Jiang et al., "
                     "QoL Res 2021;30:803)",
}


def write_workbook(model: Model, tox_sources: dict[int, str], path: Path) -> Path:
    """Write the input workbook with each adverse event's source and the Settings sources."""
    events = tuple(replace(ae, source=tox_sources[i]) for i, ae in enumerate(model.adverse_events))
    return write_input_workbook(replace(model, adverse_events=events), path, force=True,
                                setting_notes=SETTING_NOTES)


def build(path: Path = OUT) -> Path:
    """Build the model from the evidence and write it to ``path``."""
    model, tox_sources, _ = build_model()
    return write_workbook(model, tox_sources, path)


if __name__ == "__main__":
    model, tox, diag = build_model()
    out = write_workbook(model, tox, Path(sys.argv[1]) if len(sys.argv) > 1 else OUT)
    for name, val in diag.items():
        print(f"{name}: {val}")
    print(f"wrote {out}")
