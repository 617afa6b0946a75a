"""The typed model: settings, named parameters and the structure that refers to them.

Every number a model uses is either a named :class:`Parameter` (so that it can be sampled in a
PSA, varied in a DSA and shown with its source) or a literal. Structure refers to parameters by
name (a ``Ref`` is a parameter name or a number). A :class:`ParameterSet` holds the values of
all parameters for a batch of draws; draw 0 is the base case.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

Ref = str | float
MAX_CYCLES = 20_000  # daily cycles over 54 years; weekly over 383
MAX_HORIZON_YEARS = 150.0
ENGINE_ARRAYS = 16  # arrays of (draw, strategy, line, cycle) the engine holds at once
MAX_SEED = 2**31 - 1  # seeds are stored in 32-bit integer fields (netCDF-3, Excel)


@dataclass(frozen=True)
class Parameter:
    """One input: base value, unit, PSA distribution, DSA range and source."""

    name: str
    value: float
    unit: str = ""
    distribution: str = "fixed"
    dist_params: tuple[float, ...] = ()
    low: float | None = None
    high: float | None = None
    source: str = ""
    group: str = ""  # Dirichlet group (shares that sum to 1) or correlated set
    #: a derived parameter's Excel formula over other parameters (e.g. "=price*doses"); its
    #: ``value`` is then the formula's base-case value and every draw is recomputed from its
    #: inputs' draws
    formula: str = ""
    #: formulas of the other cells of its row, e.g. (("dsa_low", "=price*0.75"),): evaluated
    #: on the base case whenever base values change, so that ranges stay relative
    cell_formulas: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Curve:
    """A time-to-event curve: a parametric family with coefficients, or a reference curve with a
    hazard ratio or acceleration factor; optionally a KM table before a parametric tail and a
    cure fraction (mixture cure with general-population mortality for the cured).

    Coefficients and KM times are in ``unit``; the engine works in years.
    """

    name: str
    family: str | None = None
    coefficients: dict[str, Ref] = field(default_factory=dict)
    unit: str = "months"
    reference: str | None = None
    hr: Ref | None = None
    af: Ref | None = None
    km_time: tuple[float, ...] = ()
    km_surv: tuple[float, ...] = ()
    cure_fraction: Ref | None = None
    source: str = ""
    km_table: str = ""  # name of the KM table the times/survival came from (workbook)


@dataclass(frozen=True)
class CarTPathway:
    """Apheresis → bridging → infusion. Patients not infused leave the pathway evenly over the
    wait; a share of them die, the rest progress (and may receive the next line)."""

    months_to_infusion: Ref
    p_not_infused: Ref
    p_death_if_not_infused: Ref
    apheresis_cost: Ref = 0.0
    bridging_cost: Ref = 0.0  # per month in the pathway
    product_price: Ref = 0.0  # at infusion
    infusion_cost: Ref = 0.0  # admission, monitoring and management at infusion
    bridging_utility: Ref = 0.0
    #: share of those not infused who receive the product later (after progression): charged
    #: product and infusion at apheresis; their outcomes are those of the next line
    later_infusion: Ref = 0.0


@dataclass(frozen=True)
class Regimen:
    """A treatment at one line: its PFS curve, time on treatment and what it costs.

    ``ttd`` names the time-to-treatment-discontinuation curve; ``None`` means treated to
    progression (TTD = PFS). A one-time therapy (CAR T) has no time on treatment after its
    infusion: its progression-free time is treatment-free. ``drug_cost`` is a schedule of
    (months since start, cost per month on treatment), piecewise constant.
    """

    name: str
    pfs: str
    utility: Ref
    ttd: str | None = None
    one_time: bool = False
    death_share: Ref = 0.0
    drug_cost: tuple[tuple[float, Ref], ...] = ((0.0, 0.0),)
    admin_cost: Ref = 0.0  # per month on treatment
    monitoring_cost: Ref = 0.0  # per month progression-free
    start_cost: Ref = 0.0  # one-off at the start of the line
    car_t: CarTPathway | None = None
    os: str | None = None  # trial OS from line start: input checks and validation only
    source: str = ""


@dataclass(frozen=True)
class AdverseEvent:
    """An adverse event of a regimen, counted per treated patient (at infusion for CAR T, at line
    start otherwise). ``p_death`` is the treatment-related mortality from this event that is
    already inside the regimen's curves (reported only); ``excess_death`` is mortality to add
    on top of the curves (0 in a base case built on trial curves; a scenario lever)."""

    regimen: str
    event: str
    grade: str
    incidence: Ref
    cost: Ref = 0.0
    disutility: Ref = 0.0
    duration_days: Ref = 0.0
    p_death: Ref = 0.0
    excess_death: Ref = 0.0
    source: str = ""


@dataclass(frozen=True)
class PriceStep:
    """A step of a cost parameter's price path: from model year ``from_year`` on, the
    parameter's cost is multiplied by ``factor`` (until the next step; both may be parameter
    names, so they take PSA and DSA)."""

    parameter: str
    from_year: Ref
    factor: Ref
    source: str = ""


@dataclass(frozen=True)
class Line:
    """A line of therapy in a strategy; ``p_next`` is the probability that a patient who
    progresses on it starts the next line (the rest receive palliative care)."""

    regimen: str
    p_next: Ref = 0.0


@dataclass(frozen=True)
class Strategy:
    name: str
    lines: tuple[Line, ...]


@dataclass(frozen=True)
class Palliative:
    """Care after the last active line: overall survival from its start, cost and utility."""

    survival: str
    cost: Ref = 0.0  # per month
    utility: Ref = 0.0


@dataclass(frozen=True)
class BudgetPlan:
    """A health plan for budget impact: its members, how many of them become eligible each year
    (members × incidence × share reaching the model's first line × share eligible), and the
    market shares of the strategies by budget year without (current) and with (new) the change.
    ``shares_current``/``shares_new`` are ((strategy, (share in year 1, 2, ...)), ...)."""

    name: str
    members: float
    incidence_per_100k: float
    share_reaching_line: float
    share_eligible: float
    shares_current: tuple[tuple[str, tuple[float, ...]], ...]
    shares_new: tuple[tuple[str, tuple[float, ...]], ...]
    sources: tuple[tuple[str, str], ...] = ()  # (item, source)

    @property
    def eligible_per_year(self) -> float:
        return (self.members * self.incidence_per_100k / 1e5 * self.share_reaching_line
                * self.share_eligible)

    @property
    def years(self) -> int:
        return len(self.shares_new[0][1]) if self.shares_new else 0


@dataclass(frozen=True)
class Settings:
    """Run settings (DESIGN.md method rules)."""

    age: float = 61.0
    male: float = 0.5
    horizon_years: float | None = None  # None: to age 100
    cycle_days: float = 7.0
    #: non-uniform grid (:mod:`hecon.grid`): cycles of ``coarse_days`` after the first
    #: ``fine_years`` (0: the same cycle throughout), and of ``tail_days`` after ``tail_years``
    #: (0: no tail; not used without coarse cycles)
    fine_years: float = 0.0
    coarse_days: float = 0.0
    tail_years: float = 0.0
    tail_days: float = 0.0
    discount_costs: float = 0.03
    discount_outcomes: float = 0.03
    half_cycle: str = "trapezoid"
    wtp: tuple[float, ...] = (50_000.0, 100_000.0, 150_000.0)
    perspective: str = "US health-care sector"
    currency: str = "USD"
    price_year: int = 2025
    #: how costs are dated when not all in ``price_year`` money, e.g. "nominal list prices as
    #: found, 2015-2025, not inflated"; shown instead of the price year in every output
    cost_basis: str = ""
    seed: int = 20261125
    first_line: int = 2  # the line number of the model's first line (labels only)
    budget_plan: str = ""  # the plan used for budget impact (default: the first plan)
    evpi_population: float = 0.0  # patients per year facing the decision (population EVPI)
    evpi_years: int = 0  # years the decision applies (population EVPI)
    age_adjust_utility: bool = False
    utility_norms: tuple[tuple[float, float], ...] = ()  # (age from, population utility)

    @property
    def price_label(self) -> str:
        """How the outputs describe the costs' money: the cost basis, else the price year."""
        return self.cost_basis or f"price year {self.price_year}"

    @property
    def horizon(self) -> float:
        return 100.0 - self.age if self.horizon_years is None else float(self.horizon_years)

    @property
    def cycle_years(self) -> float:
        return self.cycle_days / 365.25

    @property
    def n_cycles(self) -> int:
        return int(np.ceil(self.horizon / self.cycle_years - 1e-9))

    def line_label(self, index: int) -> str:
        """"2L", "3L", ... for line index 0, 1, ..."""
        return f"{self.first_line + index}L"

    def validate(self) -> None:
        """Refuse settings the engine cannot run: the horizon, the cycle (at most
        :data:`MAX_CYCLES` cycles, with the memory they would need), shares, rates and seed."""
        if not 0 < self.horizon <= MAX_HORIZON_YEARS:
            raise ValueError(f"horizon must be > 0 and <= {MAX_HORIZON_YEARS:g} years, got "
                             f"{self.horizon:g}")
        if not 0 < self.cycle_days < float("inf"):
            raise ValueError(f"cycle_days must be > 0, got {self.cycle_days:g}")
        if self.cycle_years > self.horizon:
            raise ValueError(f"cycle ({self.cycle_days:g} days) is longer than the horizon "
                             f"({self.horizon:g} years)")
        if self.n_cycles > MAX_CYCLES:
            need = (self.n_cycles + 1) * 8 * ENGINE_ARRAYS / 2**20
            shortest = self.horizon * 365.25 / MAX_CYCLES
            raise ValueError(
                f"cycle_days {self.cycle_days:g} over a {self.horizon:g}-year horizon gives "
                f"{self.n_cycles:,} cycles (about {need:,.0f} MiB per strategy and line for "
                f"one draw); at most {MAX_CYCLES:,} cycles are allowed: use cycle_days >= "
                f"{shortest:.3g} (1 = daily, 7 = weekly) or a shorter horizon")
        self._validate_grid()
        if not 0 <= self.male <= 1:
            raise ValueError(f"male share must be in [0, 1], got {self.male:g}")
        for name in ("discount_costs", "discount_outcomes"):
            if not 0 <= getattr(self, name) < 1:
                raise ValueError(f"{name} must be in [0, 1) (0.03 = 3% a year), got "
                                 f"{getattr(self, name):g}")
        if not 0 <= self.seed <= MAX_SEED:
            raise ValueError(f"seed must be a whole number from 0 to {MAX_SEED:,} (2**31 - 1), "
                             f"got {self.seed}")

    def _validate_grid(self) -> None:
        """The non-uniform grid (:func:`grid_problems`)."""
        for name, value, expected in grid_problems(self):
            raise ValueError(f"{name} {expected}; got {value:g}")


def grid_problems(st: Settings) -> list[tuple[str, float, str]]:
    """What is wrong with the non-uniform grid of ``st``, as (setting, value, what would be
    valid): each coarser cycle a whole multiple of the one before and within the horizon, the
    years >= 0, the tail after ``fine_years``. Without coarse cycles the grid is uniform and
    the tail rows are not used."""
    out = [(name, getattr(st, name), "must be >= 0 (0 = not used)")
           for name in ("fine_years", "coarse_days", "tail_years", "tail_days")
           if not 0 <= getattr(st, name) < float("inf")]
    if out:
        return out
    before = ("cycle_days", st.cycle_days)
    for name, days in (("coarse_days", st.coarse_days), ("tail_days", st.tail_days)):
        if not days or not st.coarse_days:
            continue
        ratio = days / before[1]
        if ratio < 1 or abs(ratio - round(ratio)) > 1e-9 * ratio:
            out.append((name, days, f"must be a whole multiple of {before[0]} ({before[1]:g}), "
                                    f"e.g. {4 * before[1]:g}; or blank/0 for no change of "
                                    f"cycle"))
        elif days / 365.25 > st.horizon:
            out.append((name, days, f"must not be longer than the horizon ({st.horizon:g} "
                                    f"years)"))
        before = (name, days)
    if st.coarse_days and st.tail_days and st.tail_years <= st.fine_years:
        out.append(("tail_years", st.tail_years, f"must be later than fine_years "
                                                 f"({st.fine_years:g})"))
    return out


@dataclass(frozen=True)
class Model:
    """A line-of-therapy sequencing model."""

    name: str
    settings: Settings
    parameters: dict[str, Parameter]
    curves: dict[str, Curve]
    regimens: dict[str, Regimen]
    strategies: tuple[Strategy, ...]
    palliative: Palliative
    adverse_events: tuple[AdverseEvent, ...] = ()
    terminal_care_cost: Ref = 0.0
    tf_utility_gain: Ref = 0.0  # added to the on-treatment utility while PF and off treatment
    life_table: pd.DataFrame | None = None  # None: the shipped US table
    #: named scenarios: (target, value) overrides, target "parameter", "Settings:key" or
    #: "Sheet:row.column" (see hecon.io.tables)
    scenarios: dict[str, tuple[tuple[str, object], ...]] = field(default_factory=dict)
    #: correlated parameters drawn jointly (multivariate normal): group → (members, covariance)
    covariance: dict[str, tuple[tuple[str, ...], tuple[tuple[float, ...], ...]]] = field(
        default_factory=dict)
    #: health plans for budget impact (Budget sheet)
    budget: tuple[BudgetPlan, ...] = ()
    #: what the workbook reader noticed but accepted (e.g. inputs no result depends on)
    warnings: tuple[str, ...] = field(default=(), compare=False)
    #: price paths of cost parameters in model (calendar) time (Prices sheet)
    prices: tuple[PriceStep, ...] = ()
    #: months after treatment start (a CAR T infusion) before ``tf_utility_gain`` applies
    tf_recovery: Ref = 0.0

    def with_values(self, **values: float) -> Model:
        """A copy with some parameters' base values replaced (for DSA, scenarios, thresholds)."""
        unknown = set(values) - set(self.parameters)
        if unknown:
            raise KeyError(f"unknown parameter(s): {', '.join(sorted(unknown))}")
        params = dict(self.parameters)
        for name, v in values.items():  # a derived parameter given a value is fixed at it
            params[name] = replace(params[name], value=float(v), formula="")
        return replace(self, parameters=refresh_parameters(params))

    def starting_at_line(self, line: int | str, age: float | None = None) -> Model:
        """The per-treated sub-model starting at ``line`` of every strategy (see
        :func:`hecon.per_treated.starting_at_line`)."""
        from .per_treated import starting_at_line

        return starting_at_line(self, line, age)

    def with_settings(self, **changes) -> Model:
        return replace(self, settings=replace(self.settings, **changes))

    @property
    def strategy_names(self) -> list[str]:
        return [s.name for s in self.strategies]

    def parameter_table(self) -> pd.DataFrame:
        return pd.DataFrame([vars(p) for p in self.parameters.values()]).set_index("name")


class ParameterSet:
    """Values of every parameter for ``n_draws`` draws (arrays of shape (n_draws,)).

    ``values`` holds the sampled (or varied) parameters; a derived parameter (one with a
    formula) and a formula Ref (a string starting with "=") are computed from them when first
    asked for, so that every draw follows the workbook's own arithmetic.
    """

    def __init__(self, values: dict[str, np.ndarray], n_draws: int,
                 formulas: dict[str, str] | None = None):
        self.formulas = formulas or {}
        self.values = {k: v for k, v in values.items() if k not in self.formulas}
        self.n_draws = n_draws
        self._derived: dict[str, np.ndarray] = {}
        self._pending: list[str] = []

    @classmethod
    def of(cls, model: Model, values: dict[str, np.ndarray], n_draws: int) -> ParameterSet:
        """Draws of ``model``'s parameters: its derived parameters are recomputed from
        ``values`` (any value given for them is ignored)."""
        return cls(values, n_draws, derived_formulas(model))

    @classmethod
    def base(cls, model: Model) -> ParameterSet:
        return cls.of(model, {n: np.array([p.value]) for n, p in model.parameters.items()}, 1)

    def __getitem__(self, ref: Ref) -> np.ndarray:
        """The values of a Ref: a parameter's draws, a formula's values, or a literal repeated
        for every draw."""
        if not isinstance(ref, str):
            return np.full(self.n_draws, float(ref))
        if ref in self.values:
            return self.values[ref]
        if ref not in self._derived:
            text = self.formulas.get(ref, ref)
            if not text.startswith("="):
                raise KeyError(f"unknown parameter {ref!r}")
            self._derived[ref] = self._compute(ref, text)
        return self._derived[ref]

    def _compute(self, ref: str, text: str) -> np.ndarray:
        from .formula import compile_formula, evaluate

        if ref in self._pending:
            cycle = " -> ".join(self._pending[self._pending.index(ref):] + [ref])
            raise ValueError(f"formulas refer to each other in a circle: {cycle}")
        self._pending.append(ref)
        try:
            out = evaluate(compile_formula(text), self.__getitem__, self.n_draws)
        finally:
            self._pending.pop()
        if not np.all(np.isfinite(out)):
            bad = int(np.flatnonzero(~np.isfinite(out))[0])
            raise ValueError(f"formula {text} of {ref} gives {out[bad]} in draw {bad} (e.g. a "
                             "division by zero or the log of a number <= 0)")
        return out


#: distribution → the Parameters sheet columns holding ``Parameter.dist_params``, in order
DIST_COLUMNS: dict[str, tuple[str, ...]] = {
    "fixed": (), "beta": ("se",), "gamma": ("se",), "lognormal": ("se",),
    "lognormal_sdlog": ("se",), "normal": ("se",), "truncnormal": ("se", "min", "max"),
    "uniform": ("min", "max"), "triangular": ("min", "mode", "max"), "dirichlet": ("n",),
    "mvnormal": (), "mvlognormal": (),
}
#: DSA range columns of a Parameters row → Parameter field (index into dist_params)
_RANGE_FIELDS = {"dsa_low": "low", "dsa_high": "high"}


def refresh_parameters(params: dict[str, Parameter]) -> dict[str, Parameter]:
    """``params`` with derived values and the formula cells of each row (DSA range, dispersion)
    recomputed from the current base values."""
    from .formula import compile_formula, evaluate

    formulas = {n: p.formula for n, p in params.items() if p.formula}
    ps = ParameterSet({n: np.array([p.value]) for n, p in params.items()}, 1, formulas)
    out = {}
    for name, p in params.items():
        if p.formula:
            p = replace(p, value=float(ps[name][0]))
        if p.cell_formulas:
            args = list(p.dist_params)
            changes: dict = {}
            for column, text in p.cell_formulas:
                value = float(evaluate(compile_formula(text), ps.__getitem__)[0])
                if column in _RANGE_FIELDS:
                    changes[_RANGE_FIELDS[column]] = value
                else:
                    args[DIST_COLUMNS[p.distribution].index(column)] = value
            p = replace(p, dist_params=tuple(args), **changes)
        out[name] = p
    return out


def derived_formulas(model: Model) -> dict[str, str]:
    """Derived parameters of ``model``: name → formula."""
    return {n: p.formula for n, p in model.parameters.items() if p.formula}
