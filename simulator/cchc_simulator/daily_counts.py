"""The source's own daily counts (/hoso/thongke), kept up to date as versions are released.

Per local day and receiving agency, from each dossier's latest *valid* released version (what a
correct reader holds, see truth.py):

- ``SoHoSoTiepNhan``: dossiers received that day (``NgayTiepNhan`` present, which also means
  the status is neither 1 nor 3);
- ``SoHoSoCapNhat``: dossiers whose latest valid version was written that day.

Counting all dossiers takes a second or two for a year's history, far too long to do per
request (a reconciliation asks day after day), so the counts are built once, with the history,
then moved dossier by dossier as live changes come; a change of the malformed rate rebuilds them
at the next request.
"""

from __future__ import annotations

from array import array
from typing import Any

from cchc_simulator.agencies import AgencyTree
from cchc_simulator.dossiers import DossierTable
from cchc_simulator.faults import FaultInjector
from cchc_simulator.timeutil import day_of, format_day

_RECEIVED, _UPDATED = 0, 1


class DailyCounts:
    def __init__(self, table: DossierTable, faults: FaultInjector, agencies: AgencyTree) -> None:
        self._table = table
        self._faults = faults
        self._agencies = agencies
        self._by_day: dict[int, dict[int, list[int]]] = {}
        self._counted = array("b")  # the version of each dossier the counts hold (0: none)
        self._built_for_rate: float | None = None

    def rows(self, first_day: int, last_day: int) -> list[dict[str, Any]]:
        """Rows of /hoso/thongke for local days in [first_day, last_day], by day then agency."""
        if self._built_for_rate != self._faults.settings.malformed_rate:
            self.rebuild()
        rows: list[dict[str, Any]] = []
        for day in sorted(d for d in self._by_day if first_day <= d <= last_day):
            by_agency = self._by_day[day]
            codes = sorted((self._agencies.agencies[a].code, a) for a in by_agency)
            rows.extend(
                {
                    "Ngay": format_day(day),
                    "MaDonVi": code,
                    "SoHoSoTiepNhan": received,
                    "SoHoSoCapNhat": updated,
                }
                for code, agency in codes
                for received, updated in [by_agency[agency]]
                if received or updated
            )
        return rows

    def refresh(self, dossier: int) -> None:
        """Follow a dossier's newly released version (nothing to do before the first build)."""
        if self._built_for_rate is not None:
            self._recount(dossier)

    def rebuild(self) -> None:
        self._by_day.clear()
        self._counted = array("b", bytes(len(self._table)))
        self._built_for_rate = self._faults.settings.malformed_rate
        for dossier in range(len(self._table)):
            self._recount(dossier)

    def _recount(self, dossier: int) -> None:
        while len(self._counted) <= dossier:
            self._counted.append(0)
        counted = self._counted[dossier]
        latest = self._faults.latest_valid_version(dossier, self._table.released[dossier])
        if latest == counted:
            return
        if counted:
            self._add(dossier, counted, -1)
        if latest:
            self._add(dossier, latest, 1)
        self._counted[dossier] = latest

    def _add(self, dossier: int, version: int, sign: int) -> None:
        table = self._table
        agency = table.agency[dossier]
        received = table.received_at(dossier, version)
        if received is not None:
            self._bump(day_of(received), agency, _RECEIVED, sign)
        self._bump(day_of(table.version_time(dossier, version)), agency, _UPDATED, sign)

    def _bump(self, day: int, agency: int, column: int, sign: int) -> None:
        self._by_day.setdefault(day, {}).setdefault(agency, [0, 0])[column] += sign
