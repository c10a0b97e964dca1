"""QĐ 766 sub-scores we can compute from dossiers (indicators.md, "QĐ 766 scores").

score = max × min(1, ratio / threshold). indicators.md gives no maximum for 3.3 (online
submission); we report its ratio and attainment and leave its points empty rather than guess.
"""

from __future__ import annotations

from dataclasses import dataclass

from cchc_indicators.domain.aggregates import combine
from cchc_indicators.domain.catalogue import IndicatorCode
from cchc_indicators.domain.evaluate import evaluate_all, rated_1_2_share
from cchc_indicators.domain.periods import Period
from cchc_indicators.service import figures
from cchc_indicators.service.context import ReadContext
from cchc_indicators.service.figures import Scope


@dataclass(frozen=True, slots=True)
class SubScore:
    code: str
    name: str
    group: str
    ratio: float | None
    threshold: float
    max_points: float | None
    attainment: float | None
    points: float | None


def _score(
    code: str, name: str, group: str, ratio: float | None, threshold: float, top: float | None
) -> SubScore:
    if ratio is None:
        return SubScore(code, name, group, None, threshold, top, None, None)
    attainment = max(0.0, min(1.0, ratio / threshold))
    points = None if top is None else top * attainment
    return SubScore(code, name, group, ratio, threshold, top, attainment, points)


async def qd766(ctx: ReadContext, period: Period, scope: Scope) -> list[SubScore]:
    sums = combine((await figures.dossier_sums(ctx, period, scope)).values())
    f = evaluate_all(sums)
    on_time = f[IndicatorCode.DOSSIER_ON_TIME_RATE].value
    online = f[IndicatorCode.DOSSIER_ONLINE_RATE].value
    synced = f[IndicatorCode.DOSSIER_SYNCED_RATE].value
    payment = f[IndicatorCode.DOSSIER_ONLINE_PAYMENT_RATE].value
    late = f[IndicatorCode.DOSSIER_LATE_RATE].value
    poor = rated_1_2_share(sums).value
    submission = None if online is None or synced is None else online * synced / 100
    satisfaction = None if late is None or poor is None else 100 - late - poor
    return [
        _score("2.1", "Tiến độ giải quyết hồ sơ", "progress", on_time, 100, 20),
        _score("3.3", "Hồ sơ nộp trực tuyến", "online_services", submission, 50, None),
        _score("3.6", "Hồ sơ thanh toán trực tuyến", "online_payment", payment, 100, 6),
        _score(
            "5.4", "Mức độ hài lòng trong giải quyết hồ sơ", "satisfaction", satisfaction, 90, 6
        ),
    ]
