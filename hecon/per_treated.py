"""Per-treated sub-models: the cohort starts at a later line of every strategy, so that results
can be set beside HTA analyses of patients treated at that line (e.g. ICER 2021 at 4L+)."""

from __future__ import annotations

from dataclasses import replace

from .model import Model


def starting_at_line(model: Model, line: int | str, age: float | None = None) -> Model:
    """``model`` with every strategy's lines from ``line`` on (its number as labelled, e.g. 4
    or "4L"), the cohort aged ``age`` at its start. By default the age is the model's age plus
    the mean time to reach that line in the base case of the reference (first) strategy: one
    cohort for all strategies, as an incremental analysis needs."""
    from .evaluate import evaluate
    from .model import ParameterSet
    from .predicted import line_index, mean_time_to_line

    st = model.settings
    index = line_index(st, line)
    short = [s.name for s in model.strategies if len(s.lines) <= index]
    if short:
        raise ValueError(f"cannot start at line {st.line_label(index)}: strategies "
                         f"{', '.join(short)} have fewer lines")
    if age is None:
        ev = evaluate(model, ParameterSet.base(model), keep_trace=True)
        age = st.age + float(mean_time_to_line(ev)[0, 0, index])
    if not 0 < age < 100:
        raise ValueError(f"age at line {st.line_label(index)} must be in (0, 100), got {age:g}")
    strategies = tuple(replace(s, lines=s.lines[index:]) for s in model.strategies)
    settings = replace(st, age=float(age), first_line=st.first_line + index)
    return replace(model, name=f"{model.name} (from {st.line_label(index)})", settings=settings,
                   strategies=strategies)
