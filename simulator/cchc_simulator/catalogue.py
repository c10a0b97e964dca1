"""The procedure catalogue (LayDanhSachTTHC), shaped like Kon Tum's as reported for 2020.

The make-up is exact, not approximate, so that catalogue indicators computed downstream can be
checked against the report (kontum-2020-results.yaml): 1,904 procedures; 1,545 provincial only,
237 district only, 102 commune only, 20 at all three levels; 972 at legacy level 2, 298 at 3 and
634 at 4; 1,344 accepting public post. Exact counts come from assigning each property to the
top-N procedures of a random score (nudged by the field), rather than from coin flips.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from typing import Any, NamedTuple

from cchc_simulator.fields import FIELDS, Field
from cchc_simulator.randomness import largest_remainder

LEVEL_GROUPS: dict[str, int] = {"TINH": 1545, "HUYEN": 237, "XA": 102, "ALL": 20}
ONLINE_LEVEL_COUNTS: dict[int, int] = {4: 634, 3: 298, 2: 972}
POSTAL_COUNT = 1344
CATALOGUE_SIZE = sum(LEVEL_GROUPS.values())
MUC_DO_NAMES = {4: "TOAN_TRINH", 3: "MOT_PHAN", 2: "THONG_TIN"}
# Dossier volume of one procedure by where it is done: a commune procedure is done in a hundred
# communes, so each draws far more dossiers than one of 1,545 provincial procedures.
_VOLUME_BY_GROUP = {"TINH": 1.0, "HUYEN": 12.0, "XA": 40.0, "ALL": 30.0}
_NAME_VARIANTS = (
    "",
    " - trường hợp cấp lại",
    " - trường hợp điều chỉnh, bổ sung",
    " đối với tổ chức",
    " đối với cá nhân",
    " - thủ tục liên thông",
    " - trường hợp bị mất, hư hỏng",
    " - trường hợp gia hạn",
    " đối với doanh nghiệp",
    " - trường hợp có yếu tố nước ngoài",
    " đối với đơn vị sự nghiệp công lập",
    " - trường hợp thay đổi thông tin",
    " đối với hộ gia đình",
    " - trường hợp thực hiện trên địa bàn nhiều huyện",
    " - thủ tục rút gọn",
)
_FEE_AMOUNTS = (10_000, 20_000, 30_000, 50_000, 100_000, 150_000, 200_000, 500_000, 1_000_000)


class Fee(NamedTuple):
    name: str
    code: str
    amount: int  # VND
    kind: str  # LoaiPhiLePhi: "1" phí, "2" lệ phí


@dataclass(frozen=True, slots=True)
class Procedure:
    code: str
    name: str
    field: Field
    levels: tuple[str, ...]  # CapThucHien
    online_level: int  # legacy mức độ: 4 toàn trình, 3 một phần, 2 thông tin
    sends_number: bool  # an older system: MucDo goes out as 2/3/4
    eligible_full_online: bool
    on_national_portal: bool
    has_fee: bool
    online_payment: bool
    postal: bool
    published: bool
    days: int
    valid_from: date
    fees: tuple[Fee, ...]
    volume: float  # relative number of dossiers it draws

    @property
    def online_capable(self) -> bool:
        return self.online_level >= 3

    def to_record(self) -> dict[str, Any]:
        return {
            "MaTTHC": self.code,
            "TenTTHC": self.name,
            "MaLinhVuc": self.field.code,
            "TenLinhVuc": self.field.name,
            "CapThucHien": list(self.levels),
            "MucDo": self.online_level if self.sends_number else MUC_DO_NAMES[self.online_level],
            "DuDieuKienToanTrinh": _flag(self.eligible_full_online),
            "TichHopDVCQG": _flag(self.on_national_portal),
            "CoPhiLePhi": _flag(self.has_fee),
            "ThanhToanTrucTuyen": _flag(self.online_payment),
            "BuuChinhCongIch": _flag(self.postal),
            "CongKhai": _flag(self.published),
            "ThoiHanGiaiQuyet": self.days,
            "HieuLucTu": self.valid_from.strftime("%Y%m%d"),
            "HieuLucDen": None,
        }


def _flag(value: bool) -> str:
    return "1" if value else "0"


class _Draft(NamedTuple):
    field: Field
    group: str
    name: str


@cache
def build_catalogue(seed: int) -> tuple[Procedure, ...]:
    """The whole catalogue for a seed, ordered by ``MaTTHC`` (immutable, so built once)."""
    rng = random.Random(f"catalogue:{seed}")
    drafts = _drafts(rng)
    online = _top_n_assignment(
        drafts, rng, ONLINE_LEVEL_COUNTS, lambda d: d.field.online_bias * 0.6
    )
    postal = _top_n_assignment(
        drafts,
        rng,
        {1: POSTAL_COUNT, 0: CATALOGUE_SIZE - POSTAL_COUNT},
        lambda d: -0.5 if d.field.code == "THANH_TRA" else 0.0,
    )
    codes = _procedure_codes(rng, len(drafts))
    procedures = [
        _procedure(rng, draft, code, online[i], postal[i] == 1)
        for i, (draft, code) in enumerate(zip(drafts, codes, strict=True))
    ]
    return tuple(sorted(procedures, key=lambda p: p.code))


def _drafts(rng: random.Random) -> list[_Draft]:
    drafts: list[_Draft] = []
    uses: dict[tuple[str, str], int] = {}
    for group, count in LEVEL_GROUPS.items():
        fields = [f for f in FIELDS if group in f.levels]
        shares = largest_remainder([f.levels[group] for f in fields], count)
        for field, share in zip(fields, shares, strict=True):
            first = rng.randrange(len(field.procedures))
            for i in range(share):
                base = field.procedures[(first + i) % len(field.procedures)]
                n = uses.get((field.code, base), 0)
                uses[(field.code, base)] = n + 1
                drafts.append(_Draft(field, group, base + _variant(n)))
    return drafts


def _variant(n: int) -> str:
    return _NAME_VARIANTS[n] if n < len(_NAME_VARIANTS) else f" (mẫu {n + 1})"


def _top_n_assignment(
    drafts: Sequence[_Draft],
    rng: random.Random,
    counts: dict[int, int],
    bias: Callable[[_Draft], float],
) -> list[int]:
    """Give value k to exactly counts[k] drafts, highest scores first, in the order of counts."""
    scores = [rng.random() + bias(d) for d in drafts]
    ranked = sorted(range(len(drafts)), key=lambda i: scores[i], reverse=True)
    values = [0] * len(drafts)
    start = 0
    for value, count in counts.items():
        for i in ranked[start : start + count]:
            values[i] = value
        start += count
    return values


def _procedure_codes(rng: random.Random, count: int) -> list[str]:
    codes: set[str] = set()
    ordered: list[str] = []
    while len(ordered) < count:
        code = f"{rng.choice((1, 1, 2))}.{rng.randrange(100, 13_000):06d}"
        if code not in codes:
            codes.add(code)
            ordered.append(code)
    return ordered


def _procedure(
    rng: random.Random, draft: _Draft, code: str, online_level: int, postal: bool
) -> Procedure:
    field = draft.field
    has_fee = rng.random() < field.fee_share
    eligible = online_level == 4 or (online_level == 3 and rng.random() < 0.35)
    portal_share = {4: 0.9, 3: 0.7, 2: 0.15}[online_level]
    return Procedure(
        code=code,
        name=draft.name,
        field=field,
        levels=("TINH", "HUYEN", "XA") if draft.group == "ALL" else (draft.group,),
        online_level=online_level,
        sends_number=rng.random() < 0.35,
        eligible_full_online=eligible,
        on_national_portal=rng.random() < portal_share,
        has_fee=has_fee,
        online_payment=has_fee and rng.random() < (0.8 if online_level >= 3 else 0.1),
        postal=postal,
        published=rng.random() < 0.97,
        days=rng.randint(*field.days),
        valid_from=date(2018, 1, 1) + timedelta(days=rng.randrange(4 * 365)),
        fees=_fees(rng, code, field) if has_fee else (),
        volume=field.popularity * _VOLUME_BY_GROUP[draft.group] * rng.lognormvariate(0, 1),
    )


def _fees(rng: random.Random, code: str, field: Field) -> tuple[Fee, ...]:
    fees = [Fee(f"Lệ phí {field.name.lower()}", f"{code}-LP", rng.choice(_FEE_AMOUNTS), "2")]
    if rng.random() < 0.4:
        fees.append(Fee("Phí thẩm định hồ sơ", f"{code}-PTD", rng.choice(_FEE_AMOUNTS), "1"))
    return tuple(fees)
