"""Names and colours shown to readers: cost categories, survival curves by the regimen and
measure they describe, and the strategy palette (Okabe & Ito's colour-blind-safe colours).
Code names stay in the inputs; outputs show these labels and list both in a lookup table."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .model import Model

#: Okabe & Ito (2008) colour-blind-safe palette without yellow (too pale on white)
COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#7F7F7F")
COST_LABELS = {"car_t": "CAR T pathway (apheresis, bridging, product, admission)",
               "drugs": "Drugs, first line", "subsequent_drugs": "Subsequent therapy (drugs)",
               "administration": "Administration", "monitoring": "Monitoring",
               "toxicity": "Toxicity management", "palliative_care": "Palliative care",
               "terminal_care": "Terminal care", "total": "Total"}
MEASURES = {"pfs": "progression-free survival", "ttd": "time to discontinuation",
            "os": "overall survival"}


def cost_label(category: str) -> str:
    """The reader's name of a cost category (the code name if it has none)."""
    return COST_LABELS.get(category, category)


def curve_labels(model: Model) -> dict[str, str]:
    """Each curve the regimens and palliative care use, named by regimen and measure
    ("cilta-cel: overall survival"); a curve shared by regimens names them all."""
    users: dict[str, list[str]] = {}
    for reg in model.regimens.values():
        for key, measure in MEASURES.items():
            name = getattr(reg, key)
            if name:
                users.setdefault(name, []).append(f"{reg.name}: {measure}")
    users.setdefault(model.palliative.survival, []).append("Palliative care: overall survival")
    return {name: "; ".join(labels) for name, labels in users.items()}
