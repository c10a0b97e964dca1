"""The adapter for the one-stop API of ``shared/contracts/one-stop-api.md`` (context ``motcua``,
version ``1.0``), reached through the LGSP."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from cchc_ingest.domain import catalogue
from cchc_ingest.domain.catalogue import Agency, Procedure
from cchc_ingest.domain.dossier import parse_dossier as _parse_dossier
from cchc_ingest.domain.dossier_json import RawRecords
from cchc_ingest.domain.instants import format_compact_day, format_compact_local, parse_day
from cchc_ingest.sources.base import DailyCount, FeedPage
from cchc_ingest.sources.lgsp import LgspClient, SourceUnavailable

API = "/motcua/1.0"
CATALOGUE_PAGE = 1000


class MotCuaSource:
    """The contract's dossier feed, catalogue and daily counts."""

    def __init__(self, client: LgspClient, *, name: str = "lgsp") -> None:
        self._client = client
        self.name = name

    async def aclose(self) -> None:
        await self._client.aclose()

    async def changes(self, since: datetime, cursor: str | None, limit: int) -> FeedPage:
        params: dict[str, str | int] = {"tuThoiDiem": format_compact_local(since), "soLuong": limit}
        if cursor:
            params["conTro"] = cursor
        body = await self._client.get_page(f"{API}/hoso/thaydoi", params)
        data = _field(body, "data", (list, RawRecords))
        next_cursor = body.get("conTroTiep")
        more = body.get("conNua")
        if not (next_cursor is None or isinstance(next_cursor, str)) or not isinstance(more, bool):
            raise SourceUnavailable("unreadable change-feed page: conTroTiep/conNua")
        return FeedPage(records=data, next_cursor=next_cursor or None, more=more)

    async def dossier(self, code: str) -> object | None:
        record: object | None = await self._client.get_json(f"{API}/hoso/{code}")
        return record

    async def daily_counts(self, first: date, last: date) -> Sequence[DailyCount]:
        body = await self._client.get_json(
            f"{API}/hoso/thongke",
            {"tuNgay": format_compact_day(first), "denNgay": format_compact_day(last)},
        )
        counts = []
        for row in _field(body, "data", list):
            try:
                day = parse_day(row["Ngay"])
                assert day is not None
                counts.append(
                    DailyCount(
                        day=day,
                        agency_code=str(row["MaDonVi"]),
                        received=int(row.get("SoHoSoTiepNhan") or 0),
                        updated=int(row.get("SoHoSoCapNhat") or 0),
                    )
                )
            except (KeyError, TypeError, ValueError, AssertionError) as exc:
                raise SourceUnavailable(f"unreadable daily count {row!r}: {exc!r}") from exc
        return counts

    async def procedures(self) -> Sequence[object]:
        return await self._all_pages(f"{API}/thutuc")

    async def agencies(self) -> Sequence[object]:
        return await self._all_pages(f"{API}/coquan")

    async def _all_pages(self, path: str) -> list[object]:
        records: list[object] = []
        page = 1
        while True:
            body = await self._client.get_json(path, {"trang": page, "soLuong": CATALOGUE_PAGE})
            data = _field(body, "data", list)
            records.extend(data)
            total = body.get("tongSo")
            done = len(data) < CATALOGUE_PAGE or (isinstance(total, int) and len(records) >= total)
            if done or not data:
                return records
            page += 1

    # The reference parser itself: pages parsed with it take its fast path (dossier_json).
    parse_dossier = staticmethod(_parse_dossier)

    def parse_procedure(self, raw: object) -> Procedure:
        return catalogue.parse_procedure(raw)

    def parse_agency(self, raw: object) -> Agency:
        return catalogue.parse_agency(raw)


def _field(body: Any, name: str, kind: type | tuple[type, ...]) -> Any:
    if not isinstance(body, dict) or not isinstance(body.get(name), kind):
        kinds = kind if isinstance(kind, tuple) else (kind,)
        raise SourceUnavailable(f"unreadable answer: no {name!r} {kinds[0].__name__}")
    return body[name]
