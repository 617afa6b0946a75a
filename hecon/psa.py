"""Probabilistic sensitivity analysis in batches: sampled parameter sets run through the same
engine as the deterministic model, chunked over draws, run side by side on threads (one per
core) or on a Dask cluster.

Reproducibility. Draws are sampled in fixed blocks of :data:`BLOCK` draws, block ``b`` from the
``b``-th child of ``SeedSequence(seed).spawn``; a chunk is a run of whole blocks. Every number
is computed per draw without reductions across draws, so results are bit-identical whatever the
chunk size (a multiple of ``BLOCK``) and wherever the chunks run (any number of threads or
workers). Draw 0 is the base case.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from .evaluate import STARTED, evaluate
from .grid import grid_points
from .memory import keep_freed_memory
from .model import ENGINE_ARRAYS, Model, ParameterSet
from .sampling import DirichletGroup, Group, MvnGroup, sample
from .units import draws_out_of_bounds

BLOCK = 100  # draws per seed block (chunk sizes are whole blocks)
MEMORY_BUDGET = 512 * 2**20  # bytes of engine arrays per chunk


def groups(model: Model) -> list[Group]:
    """Joint-sampling groups of a model: Dirichlet shares and multivariate-normal sets."""
    out: list[Group] = []
    dirichlet: dict[str, list] = {}
    for p in model.parameters.values():
        if p.distribution == "dirichlet":
            dirichlet.setdefault(p.group, []).append(p)
    for name, members in dirichlet.items():
        out.append(DirichletGroup(name, tuple(p.name for p in members), members[0].dist_params[0]))
    for name, (joint, given) in model.covariance.items():
        cov = np.asarray(given, dtype=float)
        if model.parameters[joint[0]].distribution == "mvlognormal":
            # delta method: Cov(log X_i, log X_j) ≈ Cov(X_i, X_j) / (x_i x_j)
            base = np.array([model.parameters[m].value for m in joint])
            cov = cov / np.outer(base, base)
        out.append(MvnGroup(name, tuple(joint), tuple(tuple(row) for row in cov.tolist())))
    return out


def auto_chunk(model: Model) -> int:
    """Draws per chunk keeping the engine's working set near :data:`MEMORY_BUDGET`."""
    st = model.settings
    cells = len(model.strategies) * max(len(s.lines) for s in model.strategies) * grid_points(st)
    draws = MEMORY_BUDGET // (cells * 8 * ENGINE_ARRAYS)
    return max(BLOCK, draws // BLOCK * BLOCK)


def _log_scale(model: Model) -> tuple[dict, list[str]]:
    """Parameters with 'mvlognormal' members moved to the log scale (sampled there as a
    multivariate normal, then exponentiated), and the names of those members."""
    logged = [n for n, p in model.parameters.items() if p.distribution == "mvlognormal"]
    params = dict(model.parameters)
    for n in logged:
        params[n] = replace(params[n], value=float(np.log(params[n].value)))
    return params, logged


def sample_blocks(model: Model, seeds: list[np.random.SeedSequence], first_block: int
                  ) -> ParameterSet:
    """Parameter draws of the blocks ``first_block, first_block + 1, ...`` (one seed each),
    checked against the bounds of each parameter's kind (its unit)."""
    grp = groups(model)
    params, logged = _log_scale(model)
    blocks = [sample(params, BLOCK, seq, grp, include_base=(first_block + i == 0))
              for i, seq in enumerate(seeds)]
    values = {name: np.concatenate([b[name] for b in blocks]) for name in model.parameters}
    for name in logged:
        values[name] = np.exp(values[name])
    problem = draws_out_of_bounds(model.parameters, values, first_block * BLOCK)
    if problem:
        raise ValueError(problem)
    return ParameterSet.of(model, values, BLOCK * len(seeds))


def run_chunk(model: Model, seeds: list[np.random.SeedSequence], first_block: int,
              ) -> dict[str, np.ndarray]:
    """Sample and evaluate the blocks ``first_block, first_block + 1, ...`` (one seed each)."""
    ps = sample_blocks(model, seeds, first_block)
    ev = evaluate(model, ps)
    return {"costs": ev.costs.to_numpy(), "effects": ev.effects.to_numpy(),
            "clinical": ev.clinical.to_numpy(), "clipped": ev.clipping.to_numpy(),
            "parameters": np.column_stack([ps[n] for n in model.parameters])}


def chunk_spans(n_blocks: int, chunk_blocks: int) -> list[tuple[int, int]]:
    """Runs of ``chunk_blocks`` seed blocks (the last may be shorter) as (first, end)."""
    return [(a, min(n_blocks, a + chunk_blocks)) for a in range(0, n_blocks, chunk_blocks)]


def available_cores() -> int:
    """CPU cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def psa(model: Model, draws: int, seed: int | None = None, client=None,
        chunk_size: int | None = None, progress: bool | None = None,
        threads: int | None = None,
        on_progress: Callable[[int, int], None] | None = None) -> PSAResults:
    """Run a PSA of ``draws`` draws (draw 0 = base case).

    ``seed`` defaults to the model's Settings seed; ``client`` is a ``dask.distributed.Client``
    to run chunks on (else in this process, on ``threads`` threads, default one per available
    core: numpy and the FFTs release the GIL, so chunks run side by side; each thread holds one
    chunk's working set, ~200 MiB for the default model); ``chunk_size`` (a multiple of
    :data:`BLOCK`) defaults to what fits the memory budget; ``progress`` shows a bar (default:
    on a terminal); ``on_progress(done, draws)`` is called as each chunk finishes (e.g. by the
    app's progress bar).
    """
    draws = int(draws)
    if draws < 1:
        raise ValueError(f"draws must be >= 1, got {draws}")
    seed = model.settings.seed if seed is None else int(seed)
    chunk_size = auto_chunk(model) if chunk_size is None else int(chunk_size)
    if chunk_size < BLOCK or chunk_size % BLOCK:
        raise ValueError(f"chunk_size must be a positive multiple of {BLOCK}, got {chunk_size}")
    n_blocks = math.ceil(draws / BLOCK)
    seeds = np.random.SeedSequence(seed).spawn(n_blocks)
    spans = chunk_spans(n_blocks, chunk_size // BLOCK)
    show = sys.stderr.isatty() if progress is None else progress
    bar = progress_bar(draws, show)
    finished = [0]

    def done(a: int, b: int) -> None:
        n = min(b * BLOCK, draws) - min(a * BLOCK, draws)
        finished[0] += n
        bar.update(n)
        if on_progress is not None:
            on_progress(finished[0], draws)

    parts = run_chunks(run_chunk, model, seeds, spans, threads, client, done=done)
    bar.close()
    merged = {k: np.concatenate([parts[a][k] for a, _ in spans])[:draws] for k in parts[0]}
    return PSAResults(model, _dataset(model, merged, seed))


def run_chunks(fn, shared, seeds: list, spans: list[tuple[int, int]], threads: int | None = None,
               client=None, done=None) -> dict[int, dict[str, np.ndarray]]:
    """``fn(shared, seeds[a:b], a)`` for each span (a, b) of seed blocks, keyed by ``a``: on a
    Dask ``client`` (``shared`` scattered once), else in a pool of ``threads`` threads (default:
    one per available core; glibc is then asked to keep freed memory for reuse, see
    :mod:`hecon.memory`). ``done(a, b)`` is called as each span finishes."""
    pool, parts = None, {}
    with ExitStack() as stack:
        try:  # an interrupt while submitting or waiting cancels the chunks not yet started
            if client is not None:
                from dask.distributed import as_completed as dask_completed

                remote = client.scatter(shared, broadcast=True, hash=False)  # a fresh key
                futures = {client.submit(fn, remote, seeds[a:b], a, pure=False): (a, b)
                           for a, b in spans}
                completed: Iterable = dask_completed(futures)
            else:
                threads = available_cores() if threads is None else int(threads)
                if threads < 1:
                    raise ValueError(f"threads must be >= 1, got {threads}")
                keep_freed_memory()
                deliver = stack.enter_context(_deferred_signals())  # before any submission
                pool = ThreadPoolExecutor(max_workers=min(threads, len(spans)))
                futures = {pool.submit(fn, shared, seeds[a:b], a): (a, b) for a, b in spans}
                completed = _as_completed_interruptible(futures, deliver)
            for fut in completed:
                a, b = futures[fut]
                parts[a] = fut.result()
                if done is not None:
                    done(a, b)
        finally:
            if pool is not None:
                pool.shutdown(cancel_futures=True)
    return parts


@contextmanager
def _deferred_signals() -> Iterator[Callable[[], None]]:
    """Hold Ctrl-C (SIGINT) and SIGTERM while the block runs (in the main thread; elsewhere
    signals cannot be handled anyway) and yield ``deliver``, which acts on those caught so far
    as their previous handlers would have (:func:`_deliver`: KeyboardInterrupt; the CLI's exit
    143 on SIGTERM). A signal is then never raised inside a pool's locks (an exception raised
    there can leave a lock half-released) nor in a ``__del__`` run by the garbage collector
    (Python drops an exception raised there, and the command would run on). Those caught after
    the last ``deliver`` are acted on at the end of the block."""
    import signal
    import threading

    caught: list[int] = []
    main = threading.current_thread() is threading.main_thread()
    previous = {sig: signal.signal(sig, lambda signum, _frame: caught.append(signum))
                for sig in (signal.SIGINT, signal.SIGTERM)} if main else {}

    def deliver() -> None:
        while caught:
            _deliver(caught.pop(0), previous)

    try:
        yield deliver
        deliver()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _as_completed_interruptible(futures, deliver: Callable[[], None] | None = None):
    """Futures as they complete, with signals deferred (:func:`_deferred_signals`, or the
    caller's ``deliver``) and acted on between waits."""
    from concurrent.futures import FIRST_COMPLETED, wait

    if deliver is None:
        with _deferred_signals() as own:
            yield from _as_completed_interruptible(futures, own)
        return
    pending = set(futures)
    while pending:
        done, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
        deliver()
        yield from done
    deliver()  # a signal while the last results were taken


def _deliver(signum: int, previous: dict) -> None:
    """Act on a deferred signal as its previous handler would have: call it (Python's SIGINT
    handler raises KeyboardInterrupt), or for the default action restore it and re-raise the
    signal; an ignored signal is dropped."""
    import signal

    handler = previous[signum]
    if callable(handler):
        handler(signum, None)
    elif handler == signal.SIG_DFL:
        signal.signal(signum, signal.SIG_DFL)
        signal.raise_signal(signum)


def progress_bar(total: int, show: bool, desc: str = "PSA", unit: str = "draw"):
    """The progress bar on standard error of the PSA (and of the report's sections)."""
    from tqdm import tqdm

    return tqdm(total=total, unit=unit, desc=desc, disable=not show, leave=False)


def _dataset(model: Model, arrays: dict[str, np.ndarray], seed: int) -> xr.Dataset:
    from .evaluate import COST_CATEGORIES, EFFECTS

    ev = evaluate(model, ParameterSet.base(model))  # labels of the clinical items
    n = arrays["costs"].shape[0]
    coords = {"draw": np.arange(n), "strategy": model.strategy_names,
              "category": list(COST_CATEGORIES), "measure": list(EFFECTS),
              "item": list(ev.clinical["item"].to_numpy()),
              "line": np.arange(1, arrays["clipped"].shape[2] + 1),
              "parameter": list(model.parameters)}
    return xr.Dataset(
        {"costs": (("draw", "strategy", "category"), arrays["costs"]),
         "effects": (("draw", "strategy", "measure"), arrays["effects"]),
         "clinical": (("draw", "strategy", "item"), arrays["clinical"]),
         "ttd_clipped": (("draw", "strategy", "line"), arrays["clipped"]),
         "parameters": (("draw", "parameter"), arrays["parameters"])},
        coords=coords, attrs={"model": model.name, "seed": seed})


@dataclass
class PSAResults:
    """PSA draws: ``data`` is an xarray Dataset with costs (draw, strategy, category), effects
    (draw, strategy, measure), clinical counts, TTD clipping and the sampled parameters."""

    model: Model
    data: xr.Dataset

    @property
    def cost(self) -> xr.DataArray:
        """Total discounted cost per draw and strategy."""
        return self.data["costs"].sum("category")

    def effect(self, measure: str = "qaly") -> xr.DataArray:
        return self.data["effects"].sel(measure=measure, drop=True)

    def wtp_grid(self) -> np.ndarray:
        """The willingness-to-pay grid of ``hecon psa``'s CEAC, CEAF and EVPI: 0 to 3x the
        largest Settings WTP in 61 steps."""
        return np.linspace(0.0, 3 * max(self.model.settings.wtp), 61)

    def _ce(self, measure: str) -> tuple[np.ndarray, np.ndarray]:
        return self.cost.to_numpy(), self.effect(measure).to_numpy()

    def ceac(self, wtp=None, measure: str = "qaly") -> pd.DataFrame:
        """Cost-effectiveness acceptability curves (:func:`hecon.cea.ceac`) at ``wtp`` (default
        :meth:`wtp_grid`): rows WTP, columns strategies, each row summing to 1."""
        from .cea import ceac

        wtp = self.wtp_grid() if wtp is None else wtp
        return ceac(*self._ce(measure), wtp, self.model.strategy_names)

    def ceaf(self, wtp=None, measure: str = "qaly") -> pd.DataFrame:
        """The cost-effectiveness acceptability frontier (:func:`hecon.cea.ceaf`)."""
        from .cea import ceaf

        wtp = self.wtp_grid() if wtp is None else wtp
        return ceaf(*self._ce(measure), wtp, self.model.strategy_names)

    def evpi(self, wtp=None, measure: str = "qaly") -> pd.Series:
        """Per-patient EVPI (:func:`hecon.cea.evpi`) by willingness to pay."""
        from .cea import evpi

        wtp = np.atleast_1d(self.wtp_grid() if wtp is None else wtp)
        return pd.Series(evpi(*self._ce(measure), wtp), index=pd.Index(wtp, name="wtp"),
                         name="evpi")

    def evppi(self, parameters: str | list[str], wtp: float, measure: str = "qaly") -> float:
        """Per-patient EVPPI of one parameter or a group (:func:`hecon.cea.evppi`, Strong et
        al. 2014) at one willingness to pay."""
        from .cea import evppi

        names = [parameters] if isinstance(parameters, str) else list(parameters)
        unknown = sorted(set(names) - set(self.model.parameters))
        if unknown:
            raise KeyError(f"not parameters of the model: {', '.join(unknown)}")
        inputs = self.data["parameters"].sel(parameter=names).to_numpy()
        return evppi(*self._ce(measure), inputs, wtp)

    def to_netcdf(self, path: str | Path) -> Path:
        """Save the draws (NetCDF); written to a temporary file and renamed into place. A seed
        beyond netCDF-3's 32-bit integer attributes is stored as text (read back as a number)."""
        from .io.outputs import atomic_path

        data = self.data
        seed = data.attrs.get("seed")
        if isinstance(seed, int | np.integer) and not -(2**31) <= seed < 2**31:
            data = data.copy()
            data.attrs["seed"] = str(seed)
        with atomic_path(path, force=True) as tmp:
            data.to_netcdf(tmp)
        return Path(path)

    def reached_line(self, strategy: str) -> xr.DataArray:
        """Share of the cohort starting each line, per draw (draw, line)."""
        clinical = self.data["clinical"].sel(strategy=strategy, drop=True)
        items = [str(i) for i in clinical["item"].to_numpy() if str(i).startswith(STARTED)]
        out = clinical.sel(item=items)
        return out.assign_coords(item=[i.removeprefix(STARTED) for i in items]).rename(
            item="line")

    def survival(self, strategy: str, measure: str = "os", times=(1.0,),
                 line: int | str | None = None) -> xr.DataArray:
        """Model-predicted OS or PFS per draw at ``times`` (draw, time), as
        :meth:`hecon.Results.survival`; the draws are run again (in blocks) with their traces,
        from the sampled parameters."""
        from .predicted import interpolate, line_index, survival

        model = self.model
        if line is not None and line_index(model.settings, line) > 0:
            model = model.starting_at_line(line)
        s = model.strategy_names.index(strategy)

        def values(ev):
            curve = survival(ev, model.settings, measure)[:, s]
            return interpolate(curve, ev.trace["years"].to_numpy(), times)

        return xr.DataArray(self._replay(model, values), dims=("draw", "time"),
                            coords={"draw": self.data["draw"], "time": np.atleast_1d(times)})

    def cumulative_cost(self, strategy: str, time: float) -> xr.DataArray:
        """Undiscounted cost per patient up to ``time`` years per draw (draw, category)."""
        from .evaluate import COST_CATEGORIES
        from .predicted import cumulative_cost

        s = self.model.strategy_names.index(strategy)
        data = self._replay(self.model, lambda ev: cumulative_cost(ev, [time])[:, s, :, 0])
        return xr.DataArray(data, dims=("draw", "category"),
                            coords={"draw": self.data["draw"],
                                    "category": list(COST_CATEGORIES)})

    def _replay(self, model: Model, fn) -> np.ndarray:
        """``fn(evaluation)`` for the stored draws, evaluated again with traces in blocks of
        :data:`BLOCK` draws (bounded memory)."""
        params = self.data["parameters"]
        names = [str(n) for n in params["parameter"].to_numpy()]
        table = params.to_numpy()
        parts = []
        for a in range(0, table.shape[0], BLOCK):
            block = table[a:a + BLOCK]
            ps = ParameterSet({n: block[:, j] for j, n in enumerate(names)}, len(block))
            parts.append(fn(evaluate(model, ps, keep_trace=True)))
        return np.concatenate(parts)

    @classmethod
    def from_netcdf(cls, model: Model, path: str | Path) -> PSAResults:
        with xr.open_dataset(path) as ds:
            data = ds.load()
        if isinstance(data.attrs.get("seed"), str):
            data.attrs["seed"] = int(data.attrs["seed"])
        return cls(model, data)
