"""Which parameters the results depend on: the structure a strategy runs through (its regimens'
curves, costs, utilities, toxicity, the palliative phase) and, transitively, the formulas of
derived parameters. A parameter outside that set is dead: editing it moves no result."""

from __future__ import annotations

from dataclasses import fields, is_dataclass

from .formula import compile_formula, is_formula, names
from .model import Curve, Model


def _refs(obj) -> set[str]:
    """Parameter names and formulas among the Ref fields of a dataclass (and the Refs of a
    drug-cost schedule)."""
    out: set[str] = set()
    for f in fields(obj):
        value = getattr(obj, f.name)
        if "Ref" not in str(f.type):
            if is_dataclass(value) and not isinstance(value, type):
                out |= _refs(value)
            continue
        items = value.values() if isinstance(value, dict) else \
            [v for _, v in value] if isinstance(value, tuple) else [value]
        out |= {v for v in items if isinstance(v, str)}
    return out


def _names(refs: set[str]) -> set[str]:
    out: set[str] = set()
    for ref in refs:
        out |= names(compile_formula(ref)) if is_formula(ref) else {ref}
    return out


def _curve_refs(model: Model, name: str | None, seen: set[str]) -> set[str]:
    out: set[str] = set()
    while name is not None and name not in seen and name in model.curves:
        seen.add(name)
        curve: Curve = model.curves[name]
        out |= _refs(curve)
        name = curve.reference
    return out


def used_parameters(model: Model) -> set[str]:
    """Parameters some result depends on (directly or through derived parameters' formulas)."""
    regimens = {ln.regimen for s in model.strategies for ln in s.lines}
    given = {model.terminal_care_cost, model.tf_utility_gain, model.tf_recovery,
             *(ln.p_next for s in model.strategies for ln in s.lines)}
    refs = _refs(model.palliative) | {r for r in given if isinstance(r, str)}
    seen: set[str] = set()
    refs |= _curve_refs(model, model.palliative.survival, seen)
    for name in regimens:
        reg = model.regimens[name]
        refs |= _refs(reg)
        for curve in (reg.pfs, reg.ttd, reg.os):
            refs |= _curve_refs(model, curve, seen)
    refs |= {r for ae in model.adverse_events if ae.regimen in regimens for r in _refs(ae)}
    used: set[str] = set()
    todo = _names(refs)
    priced = _names(refs)
    for step in model.prices:  # a price path moves results when its cost parameter does
        if step.parameter in priced:
            todo |= _names({r for r in (step.from_year, step.factor) if isinstance(r, str)})
    while todo:
        name = todo.pop()
        if name in used or name not in model.parameters:
            continue
        used.add(name)
        if model.parameters[name].formula:
            todo |= names(compile_formula(model.parameters[name].formula))
    return used


def scenario_uses(model: Model) -> dict[str, list[str]]:
    """Parameter → the scenarios that refer to it (as a target's new value or in a formula)."""
    out: dict[str, list[str]] = {}
    for scenario, overrides in model.scenarios.items():
        refs = {v for _, v in overrides if isinstance(v, str)}
        for curve in refs & set(model.curves):  # a scenario that switches to another curve
            refs |= _curve_refs(model, curve, set())
        for name in _names(refs) & set(model.parameters):
            out.setdefault(name, []).append(scenario)
    return out


__all__ = ["scenario_uses", "used_parameters"]
