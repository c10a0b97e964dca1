"""The closed vocabularies of plans (shared/domain/glossary.md, indicators.md, plans/README.md)."""

from __future__ import annotations

from typing import Final, Literal, get_args

Area = Literal[
    "the_che",
    "tthc",
    "to_chuc_bo_may",
    "cong_vu",
    "tai_chinh_cong",
    "chinh_quyen_so",
    "chi_dao_dieu_hanh",
]
AREAS: Final = frozenset(get_args(Area))

REPORTED: Final = "reported"
"""`measure` of a target judged on figures agencies report, not on one-stop data."""

IndicatorCode = Literal[
    "DOSSIER_RECEIVED",
    "DOSSIER_ONLINE_RATE",
    "DOSSIER_POSTAL_RATE",
    "DOSSIER_ONLINE_PAYMENT_RATE",
    "DOSSIER_DIGITIZED_RATE",
    "DOSSIER_E_CERTIFIED_RATE",
    "DOSSIER_SYNCED_RATE",
    "DOSSIER_ON_TIME_RATE",
    "DOSSIER_LATE_RATE",
    "DOSSIER_OVERDUE_OPEN",
    "DOSSIER_AVG_PROCESSING_DAYS",
    "DOSSIER_SATISFACTION_RATE",
    "CATALOG_PUBLISHED_RATE",
    "CATALOG_ONLINE_RATE",
    "CATALOG_FULL_ONLINE_RATE",
    "CATALOG_NATIONAL_PORTAL_RATE",
    "CATALOG_FEE_ONLINE_PAYMENT_RATE",
    "CATALOG_POSTAL_RATE",
    "CATALOG_PROCEDURES",
]
INDICATOR_CODES: Final = frozenset(get_args(IndicatorCode))
Measure = Literal["reported", IndicatorCode]
"""What a target is measured on: an indicator code of indicators.md, or `reported`."""

Kind = Literal["programme", "annual_plan", "improvement_plan"]
Op = Literal[">=", "<="]
Unit = Literal["percent", "count", "percent_change", "days"]
Level = Literal["province", "department", "district", "commune"]
PlanStatus = Literal["draft", "issued", "closed"]
TaskStatus = Literal["not_started", "in_progress", "done", "cancelled"]
Index = Literal["PAR_INDEX", "SIPAS", "PAPI", "PCI"]

LEVELS: Final[tuple[Level, ...]] = ("province", "department", "district", "commune")
TASK_STATUSES: Final[tuple[TaskStatus, ...]] = ("not_started", "in_progress", "done", "cancelled")
CLOSED_TASK_STATUSES: Final = frozenset({"done", "cancelled"})

GROUP_LEADS: Final[dict[str, Level]] = {
    "all-departments": "department",
    "all-districts": "district",
}
"""`lead` codes that name every unit of a level of the plan's province (glossary.md)."""

RECURRING: Final = "recurring"
"""`due: recurring` in a plan file: a standing duty without a deadline."""


def is_known_measure(measure: str) -> bool:
    return measure == REPORTED or measure in INDICATOR_CODES
