"""Probabilistic sensitivity analysis (PSA): seeded sampling of parameter draws.

Each :class:`~hecon.model.Parameter` names a distribution from :data:`DISTRIBUTIONS`. Its base
value ``Parameter.value`` is the mean (or, for uniform and triangular, the base-case value inside
the range); ``Parameter.dist_params`` holds the rest, as in an input workbook:

==============  ======================  =====================================================
distribution    ``dist_params``         draws
==============  ======================  =====================================================
fixed           ``()``                  the base value (no uncertainty)
beta            ``(se,)``               Beta(α, β) by method of moments, mean in (0, 1)
gamma           ``(se,)``               Gamma(shape k, scale θ) by method of moments, mean > 0
lognormal       ``(se,)``               exp(N(μ, σ²)); mean and se on the natural scale
lognormal_sdlog ``(sdlog,)``            exp(N(ln value, sdlog²)): the base value is the median
                                        and sdlog the SD of log X (a ratio's 95% CI gives
                                        sdlog = (ln upper − ln lower)/3.92)
normal          ``(se,)``               N(mean, se²)
truncnormal     ``(se, low, high)``     N(mean, se²) truncated to [low, high]; mean and se are
                                        those of the *untruncated* normal
uniform         ``(low, high)``         U(low, high); base value in [low, high]
triangular      ``(low, mode, high)``   Triangular(low, mode, high); base value in [low, high]
==============  ======================  =====================================================

Method of moments (Briggs, Claxton & Sculpher 2006, *Decision Modelling for Health Economic
Evaluation*, ch. 4), with mean m and standard error s:

* beta: α + β = m(1 − m)/s² − 1, α = m(α + β), β = (1 − m)(α + β); needs 0 < m < 1 and
  s² < m(1 − m);
* gamma: k = m²/s², θ = s²/m; needs m > 0;
* lognormal: σ² = ln(1 + s²/m²), μ = ln m − σ²/2 (so that E[X] = m and SD[X] = s); needs m > 0.

SE = 0 is degenerate: every draw equals the mean exactly. Correlated parameters are drawn
jointly in groups that override their members' own distributions: :class:`DirichletGroup`
(multinomial splits) and :class:`MvnGroup` (regression coefficients with a covariance matrix).

Reproducibility: :func:`sample` drives everything from one ``numpy.random.Generator(PCG64(seed))``
in a fixed order — ungrouped parameters sorted by name (Python string order), then the groups in
the order given. Fixed and degenerate (SE 0) parameters consume no random numbers. Draw 0 is the
base case unless ``include_base=False``, so a caller can sample draws [a, b) of a PSA chunk by
chunk from per-chunk ``SeedSequence.spawn`` children (the base case only in the first chunk).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from .model import Parameter

Sampler = Callable[[np.random.Generator, int], np.ndarray]
Seed = int | np.random.SeedSequence | np.random.Generator

SUM_TOL = 1e-9  # Dirichlet base shares must sum to 1 within this


# -- univariate distributions -----------------------------------------------------------------

@dataclass(frozen=True)
class Distribution:
    """A registry entry: what ``Parameter.dist_params`` means and how to draw.

    ``prepare(name, mean, dist_params)`` validates the inputs (ValueError naming the parameter,
    the values found and what would be valid) and returns a sampler ``(rng, size) -> draws``,
    or ``None`` when the distribution is degenerate (every draw equals the base value).
    """

    name: str
    params: tuple[str, ...]
    prepare: Callable[[str, float, tuple[float, ...]], Sampler | None]
    doc: str = ""


DISTRIBUTIONS: dict[str, Distribution] = {}


def _register(name: str, params: tuple[str, ...], doc: str):
    def deco(fn: Callable[[str, float, tuple[float, ...]], Sampler | None]):
        DISTRIBUTIONS[name] = Distribution(name, params, fn, doc)
        return fn
    return deco


def _fmt(**values: float) -> str:
    return ", ".join(f"{k}={v:g}" for k, v in values.items())


def _check_se(dist: str, name: str, mean: float, se: float) -> None:
    if not np.isfinite(mean):
        raise ValueError(f"{dist} distribution for parameter {name}: mean must be finite; "
                         f"got mean={mean}")
    if not (np.isfinite(se) and se >= 0):
        raise ValueError(f"{dist} distribution for parameter {name}: SE must be finite and "
                         f">= 0; got {_fmt(mean=mean, se=se)}")


def within(value: float, low: float, high: float) -> bool:
    """low <= value <= high up to rounding (=0.1*1.5 is 0.15000000000000002)."""
    tol = 1e-12 * max(abs(low), abs(high), 1.0)
    return low - tol <= value <= high + tol


def _check_base_in(dist: str, name: str, value: float, low: float, high: float) -> None:
    if not within(value, low, high):
        raise ValueError(f"{dist} distribution for parameter {name}: base value must lie in "
                         f"[low, high]; got {_fmt(value=value, low=low, high=high)}")


def _check_beta(name: str, mean: float, se: float) -> None:
    _check_se("beta", name, mean, se)
    if not (0 < mean < 1 and se**2 < mean * (1 - mean)):
        bound = f" = {mean * (1 - mean):g}" if 0 < mean < 1 else ""
        raise ValueError(f"beta distribution for parameter {name}: needs 0 < mean < 1 and "
                         f"SE² < mean·(1 − mean){bound}; got {_fmt(mean=mean, se=se)}")


def _check_positive(dist: str, name: str, mean: float, se: float) -> None:
    _check_se(dist, name, mean, se)
    if not mean > 0:
        raise ValueError(f"{dist} distribution for parameter {name}: needs mean > 0; "
                         f"got {_fmt(mean=mean, se=se)}")


def _check_nonzero_se(dist: str, name: str, se: float) -> None:
    if se == 0:
        raise ValueError(f"{dist} distribution for parameter {name}: SE 0 is degenerate (every "
                         f"draw is the mean) and has no {dist} parameters; needs SE > 0")


def beta_params(mean: float, se: float, name: str = "?") -> tuple[float, float]:
    """Beta (α, β) with the given mean and SE (method of moments, Briggs et al. 2006, ch. 4):
    α + β = m(1 − m)/s² − 1, α = m(α + β), β = (1 − m)(α + β). Needs 0 < m < 1, 0 < s² < m(1 − m).
    """
    _check_beta(name, mean, se)
    _check_nonzero_se("beta", name, se)
    total = mean * (1 - mean) / se**2 - 1
    return mean * total, (1 - mean) * total


def gamma_params(mean: float, se: float, name: str = "?") -> tuple[float, float]:
    """Gamma (shape k, scale θ) with the given mean and SE (method of moments, Briggs et al.
    2006, ch. 4): k = m²/s², θ = s²/m. Needs m > 0, s > 0."""
    _check_positive("gamma", name, mean, se)
    _check_nonzero_se("gamma", name, se)
    return mean**2 / se**2, se**2 / mean


def lognormal_params(mean: float, se: float, name: str = "?") -> tuple[float, float]:
    """(μ, σ) of log X for a lognormal X with the given natural-scale mean and SE (Briggs et al.
    2006, ch. 4): σ² = ln(1 + s²/m²), μ = ln m − σ²/2. Needs m > 0, s ≥ 0."""
    _check_positive("lognormal", name, mean, se)
    sigma2 = np.log1p((se / mean) ** 2)
    return float(np.log(mean) - sigma2 / 2), float(np.sqrt(sigma2))


@_register("fixed", (), "no uncertainty: every draw is the base value")
def _fixed(name: str, mean: float, args: tuple[float, ...]) -> Sampler | None:
    return None


@_register("beta", ("se",), "Beta by method of moments from mean and SE; mean in (0, 1)")
def _beta(name: str, mean: float, args: tuple[float, ...]) -> Sampler | None:
    (se,) = args
    _check_beta(name, mean, se)
    if se == 0:
        return None
    a, b = beta_params(mean, se, name)
    return lambda rng, size: rng.beta(a, b, size)


@_register("gamma", ("se",), "Gamma by method of moments from mean and SE; mean > 0")
def _gamma(name: str, mean: float, args: tuple[float, ...]) -> Sampler | None:
    (se,) = args
    _check_positive("gamma", name, mean, se)
    if se == 0:
        return None
    k, theta = gamma_params(mean, se, name)
    return lambda rng, size: rng.gamma(k, theta, size)


@_register("lognormal", ("se",), "lognormal from natural-scale mean and SE; mean > 0")
def _lognormal(name: str, mean: float, args: tuple[float, ...]) -> Sampler | None:
    (se,) = args
    mu, sigma = lognormal_params(mean, se, name)
    if se == 0:
        return None
    return lambda rng, size: rng.lognormal(mu, sigma, size)


@_register("lognormal_sdlog", ("sdlog",),
           "lognormal centred on the base value: log X ~ N(ln value, sdlog²); sdlog is the SD "
           "of log X (e.g. (ln upper − ln lower) / (2 × 1.96) from a 95% CI)")
def _lognormal_sdlog(name: str, median: float, args: tuple[float, ...]) -> Sampler | None:
    (sdlog,) = args
    _check_positive("lognormal_sdlog", name, median, sdlog)
    if sdlog == 0:
        return None
    mu = float(np.log(median))
    return lambda rng, size: rng.lognormal(mu, sdlog, size)


@_register("normal", ("se",), "normal with mean and SE")
def _normal(name: str, mean: float, args: tuple[float, ...]) -> Sampler | None:
    (se,) = args
    _check_se("normal", name, mean, se)
    if se == 0:
        return None
    return lambda rng, size: rng.normal(mean, se, size)


@_register("truncnormal", ("se", "low", "high"),
           "normal (mean, SE of the untruncated normal) truncated to [low, high]")
def _truncnormal(name: str, mean: float, args: tuple[float, ...]) -> Sampler | None:
    se, low, high = args
    _check_se("truncnormal", name, mean, se)
    if np.isnan(low) or np.isnan(high) or not low < high:
        raise ValueError(f"truncnormal distribution for parameter {name}: needs low < high; "
                         f"got {_fmt(low=low, high=high)}")
    _check_base_in("truncnormal", name, mean, low, high)
    if se == 0:
        return None
    a, b = (low - mean) / se, (high - mean) / se

    def sampler(rng: np.random.Generator, size: int) -> np.ndarray:
        from scipy import stats  # here: importing it costs ~0.2 s at every start

        # inverse CDF; u in (0, 1) so that an infinite bound is never returned
        u = np.clip(rng.random(size), np.finfo(float).tiny, None)
        return np.clip(stats.truncnorm.ppf(u, a, b, loc=mean, scale=se), low, high)
    return sampler


def _check_range(dist: str, name: str, low: float, high: float) -> None:
    if not (np.isfinite(low) and np.isfinite(high) and low <= high):
        raise ValueError(f"{dist} distribution for parameter {name}: needs finite low <= high; "
                         f"got {_fmt(low=low, high=high)}")


@_register("uniform", ("low", "high"), "uniform on [low, high]")
def _uniform(name: str, mean: float, args: tuple[float, ...]) -> Sampler | None:
    low, high = args
    _check_range("uniform", name, low, high)
    _check_base_in("uniform", name, mean, low, high)
    if low == high:
        return None
    return lambda rng, size: np.clip(rng.uniform(low, high, size), low, high)


@_register("triangular", ("low", "mode", "high"), "triangular on [low, high] with a mode")
def _triangular(name: str, mean: float, args: tuple[float, ...]) -> Sampler | None:
    low, mode, high = args
    _check_range("triangular", name, low, high)
    if not low <= mode <= high:
        raise ValueError(f"triangular distribution for parameter {name}: mode must lie in "
                         f"[low, high]; got {_fmt(low=low, mode=mode, high=high)}")
    _check_base_in("triangular", name, mean, low, high)
    if low == high:
        return None
    return lambda rng, size: np.clip(rng.triangular(low, mode, high, size), low, high)


def _prepare(p: Parameter) -> Sampler | None:
    key = p.distribution.strip().lower()
    dist = DISTRIBUTIONS.get(key)
    if dist is None:
        raise ValueError(f"unknown distribution {p.distribution!r} for parameter {p.name}; "
                         f"valid: {', '.join(sorted(DISTRIBUTIONS))}")
    try:
        args = tuple(float(x) for x in p.dist_params)
    except (TypeError, ValueError):
        args = None
    if args is None or len(args) != len(dist.params):
        want = ", ".join(dist.params) + ("," if len(dist.params) == 1 else "")
        raise ValueError(f"{key} distribution for parameter {p.name}: dist_params must be "
                         f"({want}); got {p.dist_params!r}")
    return dist.prepare(p.name, float(p.value), args)


def validate(parameter: Parameter) -> None:
    """Raise ValueError if ``parameter``'s distribution cannot be sampled."""
    _prepare(parameter)


def draw(parameter: Parameter, rng: np.random.Generator, size: int) -> np.ndarray:
    """``size`` random draws of one parameter from its own distribution (no base case)."""
    sampler = _prepare(parameter)
    if sampler is None:
        return np.full(size, float(parameter.value))
    return np.asarray(sampler(rng, size), dtype=float)


# -- joint distributions ----------------------------------------------------------------------

@dataclass(frozen=True)
class DirichletGroup:
    """Members' base values are shares summing to 1; drawn jointly as Dirichlet(n·p).

    ``n`` is the concentration, read as an effective sample size: α_i = n·p_i, so that
    E[X_i] = p_i and Var[X_i] = p_i(1 − p_i)/(n + 1) (Briggs et al. 2006, ch. 4).
    """

    name: str
    members: tuple[str, ...]
    n: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "members", tuple(self.members))


@dataclass(frozen=True)
class MvnGroup:
    """Members (e.g. a survival fit's coefficients) drawn jointly from N(base values, cov);
    ``cov`` is symmetric positive semi-definite, in the order of ``members`` (stored as tuples
    so that the group stays hashable; :attr:`cov_matrix` gives the array)."""

    name: str
    members: tuple[str, ...]
    cov: tuple[tuple[float, ...], ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "members", tuple(self.members))
        cov = np.atleast_2d(np.asarray(self.cov, dtype=float))
        object.__setattr__(self, "cov", tuple(tuple(float(x) for x in row) for row in cov))

    @property
    def cov_matrix(self) -> np.ndarray:
        return np.array(self.cov, dtype=float).reshape(len(self.cov), -1)


Group = DirichletGroup | MvnGroup


def draw_dirichlet(group: str, members: Sequence[Parameter], n: float,
                   rng: np.random.Generator, size: int) -> dict[str, np.ndarray]:
    """``size`` joint draws of shares whose base values (``Parameter.value``) sum to 1 within
    1e-9, from Dirichlet(α) with α_i = n·p_i. A zero share stays exactly 0."""
    names = [p.name for p in members]
    p = np.array([float(m.value) for m in members])
    if len(p) < 2:
        raise ValueError(f"Dirichlet group {group}: needs at least 2 members; got {names}")
    if not (np.isfinite(n) and n > 0):
        raise ValueError(f"Dirichlet group {group}: concentration n must be finite and > 0; "
                         f"got n={n:g}")
    if not (np.all(np.isfinite(p)) and np.all(p >= 0)):
        raise ValueError(f"Dirichlet group {group}: base shares must be finite and >= 0; got "
                         + _fmt(**dict(zip(names, p, strict=True))))
    total = float(p.sum())
    if abs(total - 1) > SUM_TOL:
        raise ValueError(f"Dirichlet group {group}: base shares must sum to 1 (within "
                         f"{SUM_TOL:g}); found sum {total:.12g} ("
                         + _fmt(**dict(zip(names, p, strict=True))) + ")")
    out = np.zeros((size, len(p)))
    pos = p > 0
    if pos.sum() == 1:
        out[:, pos] = 1.0
    else:
        out[:, pos] = rng.dirichlet(n * p[pos] / total, size)
    return {name: out[:, i].copy() for i, name in enumerate(names)}


def _mvn_factor(group: str, cov: np.ndarray) -> np.ndarray:
    """A matrix L with L Lᵀ = cov: Cholesky, or from the eigendecomposition when ``cov`` is
    positive semi-definite but singular. ValueError naming ``group`` if not symmetric PSD."""
    scale = max(float(np.max(np.abs(cov), initial=0.0)), np.finfo(float).tiny)
    if not np.all(np.isfinite(cov)):
        raise ValueError(f"MVN group {group}: covariance must be finite")
    asym = float(np.max(np.abs(cov - cov.T), initial=0.0))
    if asym > 1e-10 * scale:
        raise ValueError(f"MVN group {group}: covariance must be symmetric; largest |C − Cᵀ| "
                         f"is {asym:g}")
    cov = (cov + cov.T) / 2
    w, v = np.linalg.eigh(cov)
    if w.size and w[0] < -1e-10 * scale:
        raise ValueError(f"MVN group {group}: covariance must be positive semi-definite; "
                         f"smallest eigenvalue is {w[0]:g} (must be >= 0)")
    try:
        return np.linalg.cholesky(cov)
    except np.linalg.LinAlgError:
        return v * np.sqrt(np.clip(w, 0.0, None))


def draw_mvn(group: str, members: Sequence[Parameter], cov: ArrayLike,
             rng: np.random.Generator, size: int) -> dict[str, np.ndarray]:
    """``size`` joint draws from N(μ, cov), μ = the members' base values: μ + L z with z standard
    normal and L the Cholesky factor of ``cov`` (eigendecomposition if singular PSD)."""
    names = [p.name for p in members]
    mu = np.array([float(m.value) for m in members])
    c = np.asarray(cov, dtype=float)
    if c.shape != (len(mu), len(mu)):
        raise ValueError(f"MVN group {group}: covariance must be {len(mu)}×{len(mu)} for "
                         f"members {names}; got shape {c.shape}")
    if not np.all(np.isfinite(mu)):
        raise ValueError(f"MVN group {group}: means must be finite; got "
                         + _fmt(**dict(zip(names, mu, strict=True))))
    factor = _mvn_factor(group, c)
    x = mu + rng.standard_normal((size, len(mu))) @ factor.T
    return {name: x[:, i].copy() for i, name in enumerate(names)}


# -- all parameters ---------------------------------------------------------------------------

def _generator(seed: Seed) -> np.random.Generator:
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None:
        raise TypeError("seed must be an int, SeedSequence or Generator (None is not "
                        "reproducible)")
    return np.random.Generator(np.random.PCG64(seed))


def _members(group: Group, parameters: Mapping[str, Parameter]) -> list[Parameter]:
    missing = [m for m in group.members if m not in parameters]
    if missing:
        raise ValueError(f"group {group.name}: unknown member parameter(s) {', '.join(missing)}")
    if len(set(group.members)) != len(group.members):
        raise ValueError(f"group {group.name}: repeated members {list(group.members)}")
    return [parameters[m] for m in group.members]


def sample(parameters: Mapping[str, Parameter], n_draws: int, seed: Seed,
           groups: Iterable[Group] = (), *, include_base: bool = True) -> dict[str, np.ndarray]:
    """Draws of every parameter: ``{name: array of shape (n_draws,)}`` in ``parameters`` order.

    With ``include_base`` (default) draw 0 is each base value exactly and draws 1..n_draws−1 are
    random; without it all ``n_draws`` are random (for later chunks of a chunked PSA). ``seed``
    is an int or ``SeedSequence`` (→ ``Generator(PCG64(seed))``) or a ``Generator`` used as is.
    Random numbers are consumed in a fixed order: ungrouped parameters sorted by name, then
    ``groups`` in the order given; a group member is drawn only with its group.
    """
    n_draws = int(n_draws)
    if n_draws < (1 if include_base else 0):
        raise ValueError(f"n_draws must be >= {1 if include_base else 0}; got {n_draws}")
    for key, p in parameters.items():
        if key != p.name:
            raise ValueError(f"parameter stored under {key!r} is named {p.name!r}")
    groups = tuple(groups)
    owner: dict[str, str] = {}
    for g in groups:
        for m in _members(g, parameters):
            if m.name in owner:
                raise ValueError(f"parameter {m.name} is in groups {owner[m.name]} and {g.name}")
            owner[m.name] = g.name

    rng = _generator(seed)
    size = n_draws - 1 if include_base else n_draws
    draws: dict[str, np.ndarray] = {}
    for name in sorted(parameters):
        if name not in owner:
            draws[name] = draw(parameters[name], rng, size)
    for g in groups:
        members = _members(g, parameters)
        if isinstance(g, DirichletGroup):
            draws |= draw_dirichlet(g.name, members, g.n, rng, size)
        elif isinstance(g, MvnGroup):
            draws |= draw_mvn(g.name, members, g.cov_matrix, rng, size)
        else:
            raise TypeError(f"unknown group type {type(g).__name__}")
    if not include_base:
        return {name: draws[name] for name in parameters}
    return {name: np.concatenate(([float(p.value)], draws[name]))
            for name, p in parameters.items()}
