"""Partitioned survival: PFS, OS and TTD curves → PF-on-treatment, PF-treatment-free,
progressed, dead (Woods et al., NICE DSU TSD 19, 2017)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

STATES = ("pf_on", "pf_off", "progressed", "dead")


@dataclass
class Clipping:
    """Where curves crossed and were clipped: counts of affected curves (all leading axes, e.g.
    draw × strategy) and the largest gap removed."""

    pfs_above_os: int
    max_pfs_gap: float
    ttd_above_pfs: int
    max_ttd_gap: float

    @property
    def any(self) -> bool:
        return bool(self.pfs_above_os or self.ttd_above_pfs)

    def __str__(self) -> str:
        return (f"PFS above OS in {self.pfs_above_os} curve(s) (largest gap "
                f"{self.max_pfs_gap:.4g}); TTD above PFS in {self.ttd_above_pfs} curve(s) "
                f"(largest gap {self.max_ttd_gap:.4g}); both clipped")


def partitioned_survival(pfs, os, ttd=None, *, tol: float = 1e-12) -> tuple[np.ndarray, Clipping]:
    """State occupancy from survival curves evaluated on a common time grid (last axis).

    OS ≥ PFS and TTD ≤ PFS are enforced by clipping PFS to OS and TTD to PFS, and the clipping
    is returned (never silent). ``ttd=None`` means treatment until progression. Returns the trace
    of shape (..., T, 4) with states :data:`STATES`, and a :class:`Clipping` report.
    """
    os = np.asarray(os, dtype=float)
    pfs = np.asarray(pfs, dtype=float)
    ttd = pfs if ttd is None else np.asarray(ttd, dtype=float)
    for name, curve in (("pfs", pfs), ("os", os), ("ttd", ttd)):
        if np.isnan(curve).any() or (curve < 0).any() or (curve > 1).any():
            raise ValueError(f"{name} must be survival probabilities in [0, 1]")
    pfs, os, ttd = np.broadcast_arrays(pfs, os, ttd)
    pfs_gap = np.max(pfs - os, axis=-1, initial=0.0)
    pfs_c = np.minimum(pfs, os)
    ttd_gap = np.max(ttd - pfs_c, axis=-1, initial=0.0)
    ttd_c = np.minimum(ttd, pfs_c)
    report = Clipping(int((pfs_gap > tol).sum()), float(pfs_gap.max(initial=0.0)),
                      int((ttd_gap > tol).sum()), float(ttd_gap.max(initial=0.0)))
    trace = np.stack([ttd_c, pfs_c - ttd_c, os - pfs_c, 1.0 - os], axis=-1)
    return trace, report
