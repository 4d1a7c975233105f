"""C-01 population path: which interpretation (WHO T-score or ISCD Z-score) applies to this patient."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from .facts import MenopauseStatus, PatientFacts, Sex
from .thresholds import THRESHOLDS


class Population(StrEnum):
    ADULT50 = "ADULT50"  # postmenopausal women, men >= 50: WHO T-score categories
    YOUNG = "YOUNG"  # premenopausal women, men < 50: Z-scores
    OUT_OF_SCOPE = "OUT_OF_SCOPE"  # age < 18: no cards
    UNKNOWN = "UNKNOWN"  # no birth date: only rules that do not depend on age run


@dataclass(frozen=True, slots=True)
class PopulationPath:
    population: Population
    age: int | None
    menopause_assumed: bool  # female >= 50 with no documented status: assumed postmenopausal (stated in DX-01)
    sex: Sex


def population_path(facts: PatientFacts, age: int | None) -> PopulationPath:
    th = THRESHOLDS
    if age is None:
        return PopulationPath(Population.UNKNOWN, None, False, facts.sex)
    if age < th.min_age_in_scope:
        return PopulationPath(Population.OUT_OF_SCOPE, age, False, facts.sex)
    menopause = facts.menopause
    if facts.sex == Sex.MALE:
        # Menopause status is meaningless for males; an erroneous value must not change the path.
        population = Population.ADULT50 if age >= th.adult_age else Population.YOUNG
        return PopulationPath(population, age, False, facts.sex)
    # Females, and other/unknown sex (both sexes share the >= 50 cut-off, so age decides for them too).
    if menopause == MenopauseStatus.POSTMENOPAUSAL:
        return PopulationPath(Population.ADULT50, age, False, facts.sex)
    if age >= th.adult_age:
        if menopause == MenopauseStatus.PREMENOPAUSAL:
            return PopulationPath(Population.YOUNG, age, False, facts.sex)
        # Perimenopausal at >= 50: ISCD allows WHO criteria in the menopausal transition (RULES.md D-C01).
        assumed = menopause == MenopauseStatus.UNKNOWN and facts.sex == Sex.FEMALE
        return PopulationPath(Population.ADULT50, age, assumed, facts.sex)
    return PopulationPath(Population.YOUNG, age, False, facts.sex)
