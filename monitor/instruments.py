"""The clinical scales the nurse scores at the bedside: MOAA/S (0–5), CADSS (23 items) with its
6-item short form, RASS (−5..+4) and the adverse-event checklist (clinical.md §3).

Scores are always computed here from the item answers, never typed. Item labels are short
paraphrases in our own words: the full CADSS wording is copyrighted and is not embedded.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

#: Named explicitly: 1–6 variants of "MOAA/S" exist (clinical.md §3.2).
MOAAS_NAME: Final = "MOAA/S (0–5)"

#: Level -> definition (clinical.md §3.2).
MOAAS_LEVELS: Final[Mapping[int, str]] = {
    5: "Responds readily to name spoken in normal tone (alert)",
    4: "Lethargic response to name spoken in normal tone",
    3: "Responds only after name is called loudly and/or repeatedly",
    2: "Responds only after mild prodding or shaking",
    1: "Responds only after painful trapezius squeeze",
    0: "Does not respond to painful trapezius squeeze",
}

CADSS_NAME: Final = "CADSS (23 items, 0–92)"
#: Short labels of the 23 items, paraphrased in our own words (clinical.md §3.1). Items 20–23 are
#: observer items; their exact wording is not confirmed, so the labels only say what is watched.
CADSS_ITEMS: Final[tuple[str, ...]] = (
    "Things seem to move in slow motion",
    "Surroundings feel unreal, like a dream",
    "Feels apart from what is happening (as in a film)",
    "Sees self as if from outside the body",
    "Watches events as a bystander",
    "Feels cut off from own body",
    "Body feels altered in size or shape",
    "People seem still, lifeless or mechanical",
    "Objects look different than usual",
    "Colours seem duller",
    "Vision narrowed, as through a tunnel",
    "Time seems to drag",
    "Time seems to rush",
    "Things happen that cannot be accounted for",
    "Drifts off or loses track of what is going on",
    "Sounds fade away or get louder",
    "Things feel unusually vivid or real",
    "World looks hazy, as through a fog",
    "Colours seem more intense",
    "Observer: seems strange or odd",
    "Observer: seems detached or withdrawn",
    "Observer: seems spaced out or inattentive",
    "Observer: other sign of dissociation",
)
CADSS_ANCHORS: Final[Mapping[int, str]] = {0: "not at all", 1: "slightly", 2: "moderately", 3: "considerably", 4: "extremely"}
#: CADSS-6 (Rodrigues et al. 2021): items 1, 2, 6, 7, 15, 22 of the full scale, 0–24; not validated prospectively.
CADSS6_ITEMS: Final[tuple[int, ...]] = (1, 2, 6, 7, 15, 22)
#: "Dissociation present" = total > 4 and above the pre-dose baseline (clinical.md §1.3, §3.1).
CADSS_DISSOCIATION_TOTAL: Final = 4

RASS_NAME: Final = "RASS (−5..+4)"
RASS_LEVELS: Final[Mapping[int, str]] = {
    4: "Combative",
    3: "Very agitated",
    2: "Agitated",
    1: "Restless",
    0: "Alert and calm",
    -1: "Drowsy: eye contact to voice for more than 10 s",
    -2: "Light sedation: eye contact to voice for less than 10 s",
    -3: "Moderate sedation: moves or opens eyes to voice, no eye contact",
    -4: "Deep sedation: no response to voice, moves to touch",
    -5: "Unarousable",
}

#: Adverse-event checklist (clinical.md §3.4, requirement 11); "other" needs a free-text description.
AE_ITEMS: Final[Mapping[str, str]] = {
    "nausea": "Nausea",
    "vomiting": "Vomiting",
    "dizziness": "Dizziness",
    "vertigo": "Vertigo",
    "anxiety": "Anxiety",
    "headache": "Headache",
    "feeling_drunk": "Feeling drunk",
    "emergence": "Emergence reaction",
    "other": "Other",
}


class ScoreError(ValueError):
    """An answer outside what the scale allows; the message says what is allowed."""


def check_moaas(score: int) -> int:
    if isinstance(score, bool) or not isinstance(score, int) or score not in MOAAS_LEVELS:
        raise ScoreError(f"{MOAAS_NAME}: score {score!r} is not allowed; choose a whole number from 0 to 5")
    return score


def check_rass(score: int) -> int:
    if isinstance(score, bool) or not isinstance(score, int) or score not in RASS_LEVELS:
        raise ScoreError(f"{RASS_NAME}: score {score!r} is not allowed; choose a whole number from -5 to +4")
    return score


@dataclass(frozen=True, slots=True)
class CadssScore:
    items: tuple[int, ...]  # 23 answers, 0–4 each
    total: int  # 0–92
    short6: int  # CADSS-6, 0–24

    def dissociation_present(self, baseline_total: int | None) -> bool:
        """Total > 4 and above the pre-dose baseline (no baseline: above 0)."""
        return self.total > CADSS_DISSOCIATION_TOTAL and self.total > (baseline_total or 0)


def score_cadss(items: Sequence[int]) -> CadssScore:
    """All 23 items must be answered 0–4; the totals are computed from them."""
    if len(items) != len(CADSS_ITEMS):
        raise ScoreError(f"CADSS needs all {len(CADSS_ITEMS)} items answered, got {len(items)}")
    for i, v in enumerate(items, start=1):
        if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= 4:
            raise ScoreError(f"CADSS item {i}: {v!r} is not allowed; each item is scored 0 (not at all) to 4 (extremely)")
    answers = tuple(items)
    return CadssScore(answers, sum(answers), sum(answers[i - 1] for i in CADSS6_ITEMS))
