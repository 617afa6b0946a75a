"""The CHEERS 2022 checklist of the report: where the report or the results workbook answers
each of the 28 items (Husereau D, Drummond M, Augustovski F, et al. Consolidated Health Economic
Evaluation Reporting Standards 2022 (CHEERS 2022) statement. Value Health 2022;25:3-9)."""

from __future__ import annotations

__all__ = ["cheers_items"]


_PART = "partly: author to complete"
_AUTHOR = "author to write"
#: (part, topic, guidance, where answered, status); where and status None: answered by the
#: uncertainty section when the report ran a PSA (see :func:`cheers_items`)
_ITEMS: tuple[tuple[str, str, str, list | None, str | None], ...] = (
    ("Title", "Title", "Identify the study as an economic evaluation and specify the "
     "interventions being compared.", [], _AUTHOR),
    ("Abstract", "Abstract", "Provide a structured summary that highlights context, key "
     "methods, results, and alternative analyses.", [], _AUTHOR),
    ("Introduction", "Background and objectives", "Give the context for the study, the "
     "study question, and its practical relevance for decision making in policy or "
     "practice.", [], _AUTHOR),
    ("Methods", "Health economic analysis plan", "Indicate whether a health economic "
     "analysis plan was developed and where available.", [], _AUTHOR),
    ("Methods", "Study population", "Describe characteristics of the study population "
     "(such as age range, demographics, socioeconomic, or clinical characteristics).",
     ["methods", "overview"], _PART),
    ("Methods", "Setting and location", "Provide relevant contextual information that "
     "may influence findings.", ["methods"], _PART),
    ("Methods", "Comparators", "Describe the interventions or strategies being compared "
     "and why chosen.", ["overview"], _PART),
    ("Methods", "Perspective", "State the perspective(s) adopted by the study and why "
     "chosen.", ["methods"], _PART),
    ("Methods", "Time horizon", "State the time horizon for the study and why "
     "appropriate.", ["methods"], _PART),
    ("Methods", "Discount rate", "Report the discount rate(s) and reason chosen.",
     ["methods"], _PART),
    ("Methods", "Selection of outcomes", "Describe what outcomes were used as the "
     "measure(s) of benefit(s) and harm(s).", ["results", "methods"], "reported"),
    ("Methods", "Measurement of outcomes", "Describe how outcomes used to capture "
     "benefit(s) and harm(s) were measured.", ["survival", "inputs"], "reported"),
    ("Methods", "Valuation of outcomes", "Describe the population and methods used to "
     "measure and value outcomes.", ["inputs"], _PART),
    ("Methods", "Measurement and valuation of resources and costs", "Describe how costs "
     "were valued.", ["inputs", "costs", "Results workbook: Costs sheet"], "reported"),
    ("Methods", "Currency, price date, and conversion", "Report the dates of the "
     "estimated resource quantities and unit costs, plus the currency and year of "
     "conversion.", ["methods", "costs"], _PART),
    ("Methods", "Rationale and description of model", "If modelling is used, describe in "
     "detail and why used. Report if the model is publicly available and where it can be "
     "accessed.", ["overview", "methods"], _PART),
    ("Methods", "Analytics and assumptions", "Describe any methods for analysing or "
     "statistically transforming data, any extrapolation methods, and approaches for "
     "validating any model used.", ["methods", "survival", "traces"], _PART),
    ("Methods", "Characterising heterogeneity", "Describe any methods used for estimating "
     "how the results of the study vary for subgroups.", [], _AUTHOR),
    ("Methods", "Characterising distributional effects", "Describe how impacts are "
     "distributed across different individuals or adjustments made to reflect priority "
     "populations.", [], _AUTHOR),
    ("Methods", "Characterising uncertainty", "Describe methods to characterise any "
     "sources of uncertainty in the analysis.", None, None),
    ("Methods", "Approach to engagement with patients and others affected by the study",
     "Describe any approaches to engage patients or service recipients, the general "
     "public, communities, or stakeholders (such as clinicians or payers) in the design "
     "of the study.", [], _AUTHOR),
    ("Results", "Study parameters", "Report all analytic inputs (such as values, ranges, "
     "references) including uncertainty or distributional assumptions.",
     ["inputs", "survival", "Results workbook: Inputs sheet"], "reported"),
    ("Results", "Summary of main results", "Report the mean values for the main "
     "categories of costs and outcomes of interest and summarise them in the most "
     "appropriate overall measure.", ["results", "costs"], "reported"),
    ("Results", "Effect of uncertainty", "Describe how uncertainty about analytic "
     "judgments, inputs, or projections affect findings. Report the effect of choice of "
     "discount rate and time horizon, if applicable.", None, None),
    ("Results", "Effect of engagement with patients and others affected by the study",
     "Report on any difference patients/service recipients, general public, communities, "
     "or stakeholders made to the approach or findings of the study.", [], _AUTHOR),
    ("Discussion", "Study findings, limitations, generalisability, and current knowledge",
     "Report key findings, limitations, ethical or equity considerations not captured, "
     "and how these could affect patients, policy, or practice.", [], _AUTHOR),
    ("Other relevant information", "Source of funding", "Describe how the study was "
     "funded and any role of the funder in the identification, design, conduct, and "
     "reporting of the analysis.", [], _AUTHOR),
    ("Other relevant information", "Conflicts of interest", "Report authors conflicts of "
     "interest according to journal or International Committee of Medical Journal "
     "Editors requirements.", [], _AUTHOR),
)


def cheers_items(psa_run: bool) -> list[tuple[int, str, str, str, list, str]]:
    """The 28 CHEERS 2022 items: (number, part, topic, guidance, where answered, status).
    "Where" lists report sections (ids) and results-workbook sheets; status is "reported",
    "partly: author to complete" or "author to write"."""
    by_psa = {
        "Characterising uncertainty": (["uncertainty", "methods"], "reported") if psa_run else
        (["Results workbook: PSA and Tornado sheets (hecon psa, hecon dsa)"], _AUTHOR),
        "Effect of uncertainty": (["uncertainty", "thresholds"], "reported") if psa_run else
        (["thresholds", "Results workbook: PSA and Tornado sheets"], _AUTHOR),
    }
    return [(i, part, topic, guidance,
             *(by_psa[topic] if where is None else (list(where), status)))
            for i, (part, topic, guidance, where, status) in enumerate(_ITEMS, start=1)]
