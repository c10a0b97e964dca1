"""The indicator catalogue: every code of ``shared/domain/indicators.md`` with its display data.

Served as ``GET /api/v1/indicators``. Names are Vietnamese (``name``) with an English
``name_en``; ``definition`` restates indicators.md in one sentence. ``higher_is_better`` is None
for plain counts, which are neither good nor bad in themselves (more dossiers received is not
better; fewer procedures in force is the reform's aim only sometimes).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

Unit = Literal["percent", "count", "days"]
Source = Literal["dossiers", "catalog", "reported"]


class IndicatorCode(StrEnum):
    DOSSIER_RECEIVED = "DOSSIER_RECEIVED"
    DOSSIER_ONLINE_RATE = "DOSSIER_ONLINE_RATE"
    DOSSIER_POSTAL_RATE = "DOSSIER_POSTAL_RATE"
    DOSSIER_ONLINE_PAYMENT_RATE = "DOSSIER_ONLINE_PAYMENT_RATE"
    DOSSIER_DIGITIZED_RATE = "DOSSIER_DIGITIZED_RATE"
    DOSSIER_E_CERTIFIED_RATE = "DOSSIER_E_CERTIFIED_RATE"
    DOSSIER_SYNCED_RATE = "DOSSIER_SYNCED_RATE"
    DOSSIER_ON_TIME_RATE = "DOSSIER_ON_TIME_RATE"
    DOSSIER_LATE_RATE = "DOSSIER_LATE_RATE"
    DOSSIER_OVERDUE_OPEN = "DOSSIER_OVERDUE_OPEN"
    DOSSIER_AVG_PROCESSING_DAYS = "DOSSIER_AVG_PROCESSING_DAYS"
    DOSSIER_SATISFACTION_RATE = "DOSSIER_SATISFACTION_RATE"
    CATALOG_PUBLISHED_RATE = "CATALOG_PUBLISHED_RATE"
    CATALOG_ONLINE_RATE = "CATALOG_ONLINE_RATE"
    CATALOG_FULL_ONLINE_RATE = "CATALOG_FULL_ONLINE_RATE"
    CATALOG_NATIONAL_PORTAL_RATE = "CATALOG_NATIONAL_PORTAL_RATE"
    CATALOG_FEE_ONLINE_PAYMENT_RATE = "CATALOG_FEE_ONLINE_PAYMENT_RATE"
    CATALOG_POSTAL_RATE = "CATALOG_POSTAL_RATE"
    CATALOG_PROCEDURES = "CATALOG_PROCEDURES"


@dataclass(frozen=True, slots=True)
class IndicatorDefinition:
    code: IndicatorCode
    name: str
    name_en: str
    unit: Unit
    definition: str
    source: Source
    higher_is_better: bool | None


CATALOGUE: tuple[IndicatorDefinition, ...] = (
    IndicatorDefinition(
        code=IndicatorCode.DOSSIER_RECEIVED,
        name="Số hồ sơ tiếp nhận",
        name_en="Dossiers received",
        unit="count",
        source="dossiers",
        definition="Dossiers received in the period (receipt date in the period, local time).",
        higher_is_better=None,
    ),
    IndicatorDefinition(
        code=IndicatorCode.DOSSIER_ONLINE_RATE,
        name="Tỷ lệ hồ sơ tiếp nhận trực tuyến",
        name_en="Share of dossiers received online",
        unit="percent",
        source="dossiers",
        definition="Dossiers received online / all dossiers received in the period.",
        higher_is_better=True,
    ),
    IndicatorDefinition(
        code=IndicatorCode.DOSSIER_POSTAL_RATE,
        name="Tỷ lệ hồ sơ tiếp nhận qua dịch vụ bưu chính công ích",
        name_en="Share of dossiers received by post",
        unit="percent",
        source="dossiers",
        definition=(
            "Dossiers received by public postal service / all dossiers received in the period."
        ),
        higher_is_better=True,
    ),
    IndicatorDefinition(
        code=IndicatorCode.DOSSIER_ONLINE_PAYMENT_RATE,
        name="Tỷ lệ hồ sơ có phí, lệ phí được thanh toán trực tuyến",
        name_en="Share of fee-bearing dossiers paid online",
        unit="percent",
        source="dossiers",
        definition="Dossiers with a fee paid online / dossiers with a fee, received in the period.",
        higher_is_better=True,
    ),
    IndicatorDefinition(
        code=IndicatorCode.DOSSIER_DIGITIZED_RATE,
        name="Tỷ lệ hồ sơ được số hóa",
        name_en="Share of dossiers digitised",
        unit="percent",
        source="dossiers",
        definition="Digitised dossiers / all dossiers received in the period.",
        higher_is_better=True,
    ),
    IndicatorDefinition(
        code=IndicatorCode.DOSSIER_E_CERTIFIED_RATE,
        name="Tỷ lệ hồ sơ được chứng thực điện tử",
        name_en="Share of dossiers e-certified",
        unit="percent",
        source="dossiers",
        definition="E-certified dossiers / all dossiers received in the period.",
        higher_is_better=True,
    ),
    IndicatorDefinition(
        code=IndicatorCode.DOSSIER_SYNCED_RATE,
        name="Tỷ lệ hồ sơ đồng bộ lên Cổng Dịch vụ công quốc gia",
        name_en="Share of dossiers synced to the national portal",
        unit="percent",
        source="dossiers",
        definition=(
            "Dossiers synced to the national public-service portal / all dossiers received in the "
            "period."
        ),
        higher_is_better=True,
    ),
    IndicatorDefinition(
        code=IndicatorCode.DOSSIER_ON_TIME_RATE,
        name="Tỷ lệ hồ sơ giải quyết trước hạn, đúng hạn",
        name_en="On-time rate",
        unit="percent",
        source="dossiers",
        definition=(
            "(Dossiers finished in the period early or on time + dossiers open at the period end "
            "and in time) / (dossiers finished in the period + dossiers open at the period end); "
            "withdrawn dossiers excluded."
        ),
        higher_is_better=True,
    ),
    IndicatorDefinition(
        code=IndicatorCode.DOSSIER_LATE_RATE,
        name="Tỷ lệ hồ sơ trễ hạn",
        name_en="Late rate",
        unit="percent",
        source="dossiers",
        definition="100 − the on-time rate, over the same dossiers.",
        higher_is_better=False,
    ),
    IndicatorDefinition(
        code=IndicatorCode.DOSSIER_OVERDUE_OPEN,
        name="Số hồ sơ đang giải quyết quá hạn",
        name_en="Open dossiers overdue",
        unit="count",
        source="dossiers",
        definition="Dossiers open and overdue at the period end; withdrawn dossiers excluded.",
        higher_is_better=False,
    ),
    IndicatorDefinition(
        code=IndicatorCode.DOSSIER_AVG_PROCESSING_DAYS,
        name="Thời gian giải quyết hồ sơ bình quân",
        name_en="Average processing time",
        unit="days",
        source="dossiers",
        definition=(
            "Σ (finish − receipt) / number of dossiers finished in the period, in days; withdrawn "
            "dossiers excluded."
        ),
        higher_is_better=False,
    ),
    IndicatorDefinition(
        code=IndicatorCode.DOSSIER_SATISFACTION_RATE,
        name="Tỷ lệ hài lòng về giải quyết thủ tục hành chính",
        name_en="Satisfaction rate",
        unit="percent",
        source="dossiers",
        definition="Ratings of 4 or 5 / all ratings, of ratings given in the period.",
        higher_is_better=True,
    ),
    IndicatorDefinition(
        code=IndicatorCode.CATALOG_PUBLISHED_RATE,
        name="Tỷ lệ thủ tục hành chính được công khai",
        name_en="Share of procedures published",
        unit="percent",
        source="catalog",
        definition="Published procedures / procedures in force, at the period end.",
        higher_is_better=True,
    ),
    IndicatorDefinition(
        code=IndicatorCode.CATALOG_ONLINE_RATE,
        name="Tỷ lệ thủ tục hành chính cung cấp dịch vụ công trực tuyến",
        name_en="Share of procedures offered online",
        unit="percent",
        source="catalog",
        definition=(
            "Procedures offered fully or partly online / procedures in force, at the period end."
        ),
        higher_is_better=True,
    ),
    IndicatorDefinition(
        code=IndicatorCode.CATALOG_FULL_ONLINE_RATE,
        name=(
            "Tỷ lệ thủ tục hành chính đủ điều kiện được cung cấp dịch vụ công trực tuyến toàn trình"
        ),
        name_en="Share of eligible procedures offered fully online",
        unit="percent",
        source="catalog",
        definition=(
            "Eligible procedures offered fully online / procedures eligible for full online "
            "service, at the period end."
        ),
        higher_is_better=True,
    ),
    IndicatorDefinition(
        code=IndicatorCode.CATALOG_NATIONAL_PORTAL_RATE,
        name="Tỷ lệ dịch vụ công trực tuyến toàn trình tích hợp trên Cổng Dịch vụ công quốc gia",
        name_en="Share of fully online procedures on the national portal",
        unit="percent",
        source="catalog",
        definition=(
            "Fully online procedures integrated with the national portal / fully online "
            "procedures, at the period end."
        ),
        higher_is_better=True,
    ),
    IndicatorDefinition(
        code=IndicatorCode.CATALOG_FEE_ONLINE_PAYMENT_RATE,
        name="Tỷ lệ thủ tục hành chính có phí, lệ phí cho phép thanh toán trực tuyến",
        name_en="Share of fee-bearing procedures accepting online payment",
        unit="percent",
        source="catalog",
        definition=(
            "Procedures with a fee that accept online payment / procedures with a fee, at the "
            "period end."
        ),
        higher_is_better=True,
    ),
    IndicatorDefinition(
        code=IndicatorCode.CATALOG_POSTAL_RATE,
        name="Tỷ lệ thủ tục hành chính tiếp nhận qua dịch vụ bưu chính công ích",
        name_en="Share of procedures accepting postal submission",
        unit="percent",
        source="catalog",
        definition=(
            "Procedures accepting public postal service / procedures in force, at the period end."
        ),
        higher_is_better=True,
    ),
    IndicatorDefinition(
        code=IndicatorCode.CATALOG_PROCEDURES,
        name="Số thủ tục hành chính đang có hiệu lực",
        name_en="Procedures in force",
        unit="count",
        source="catalog",
        definition="Procedures in force at the period end.",
        higher_is_better=None,
    ),
)

BY_CODE: dict[IndicatorCode, IndicatorDefinition] = {entry.code: entry for entry in CATALOGUE}

DOSSIER_CODES: tuple[IndicatorCode, ...] = tuple(
    entry.code for entry in CATALOGUE if entry.source == "dossiers"
)


def indicator(code: str) -> IndicatorDefinition:
    """The catalogue entry for a code; ValueError names the known codes when it is unknown."""
    try:
        return BY_CODE[IndicatorCode(code)]
    except ValueError:
        known = ", ".join(entry.code for entry in CATALOGUE)
        raise ValueError(f"unknown indicator {code!r}: expected one of {known}") from None
