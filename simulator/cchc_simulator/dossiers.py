"""Dossiers kept compact: a few typed arrays instead of an object per dossier.

A dossier is its procedure, receiving agency, channel, appointment instant and a list of events
(each event is one change, so event k is version k+1). Everything else in a record (applicant,
documents, fees, flags) is drawn at render time from a per-dossier seed, so a year of 300,000
dossiers and ~1.7 million versions fits in some tens of megabytes.

``released`` says how many of a dossier's planned events have happened: the history releases
those up to its end instant, and the live producer releases the rest, one at a time, at real
"now" (re-timing the event to that instant).
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass
from enum import IntEnum

from cchc_simulator.timeutil import format_day


class Event(IntEnum):
    SUBMIT = 1  # online or postal submission, waiting to be received
    RECEIVE = 2
    REFUSE = 3
    PROCESS = 4
    ASK_SUPPLEMENT = 5
    SUPPLEMENT_DONE = 6
    ASK_PAYMENT = 7  # financial obligation (nghĩa vụ tài chính)
    PAYMENT_DONE = 8
    WITHDRAW = 9
    STOP = 10
    FINISH = 11
    RETURN = 12
    RATE = 13
    SYNC = 14  # synced to the national portal; changes no status


# TrangThaiHoSo after each event; None keeps the previous status.
STATUS_AFTER: dict[int, str | None] = {
    Event.SUBMIT: "1",
    Event.RECEIVE: "2",
    Event.REFUSE: "3",
    Event.PROCESS: "4",
    Event.ASK_SUPPLEMENT: "5",
    Event.SUPPLEMENT_DONE: "4",
    Event.ASK_PAYMENT: "6",
    Event.PAYMENT_DONE: "4",
    Event.WITHDRAW: "7",
    Event.STOP: "8",
    Event.FINISH: "9",
    Event.RETURN: "10",
    Event.RATE: None,
    Event.SYNC: None,
}

CHANNEL_IN_PERSON, CHANNEL_ONLINE, CHANNEL_POSTAL = 1, 2, 3
MAX_EVENTS = 63  # the feed index packs the version into 6 bits


@dataclass(slots=True)
class DossierPlan:
    procedure: int  # index in the catalogue
    agency: int  # index in the agency tree
    channel: int
    due: int  # appointment (NgayHenTra), VN seconds; 0 while not received
    events: list[tuple[int, int]]  # (Event, VN seconds), strictly increasing in time


class DossierTable:
    """Column store of all dossiers, history and live, indexed by a dense dossier number."""

    def __init__(self) -> None:
        self.codes: list[str] = []
        self.index_by_code: dict[str, int] = {}
        self.procedure = array("H")
        self.agency = array("H")
        self.channel = array("b")
        self.due = array("q")
        self.first_event = array("q")
        self.event_count = array("b")
        self.released = array("b")
        self.event_time = array("q")
        self.event_kind = array("b")
        self._last_sequence: dict[tuple[str, int], int] = {}

    def __len__(self) -> int:
        return len(self.codes)

    def add(self, plan: DossierPlan, agency_code: str, released: int) -> int:
        """Store a planned dossier and return its number; its code counts the agency's day."""
        if not 1 <= len(plan.events) <= MAX_EVENTS:
            raise ValueError(f"a dossier needs 1..{MAX_EVENTS} events, got {len(plan.events)}")
        number = len(self.codes)
        code = self._next_code(agency_code, plan.events[0][1] // 86_400)
        self.codes.append(code)
        self.index_by_code[code] = number
        self.procedure.append(plan.procedure)
        self.agency.append(plan.agency)
        self.channel.append(plan.channel)
        self.due.append(plan.due)
        self.first_event.append(len(self.event_time))
        self.event_count.append(len(plan.events))
        self.released.append(released)
        self.event_kind.extend([kind for kind, _ in plan.events])
        self.event_time.extend([at for _, at in plan.events])
        return number

    def _next_code(self, agency_code: str, day: int) -> str:
        """``{MaDonVi}-{yyMMdd}-{NNNNN}``: the agency's running number of the day."""
        sequence = self._last_sequence.get((agency_code, day), 0) + 1
        self._last_sequence[(agency_code, day)] = sequence
        return f"{agency_code}-{format_day(day)[2:]}-{sequence:05d}"

    def version_time(self, dossier: int, version: int) -> int:
        return self.event_time[self.first_event[dossier] + version - 1]

    def is_open(self, dossier: int) -> bool:
        """Whether planned events remain to be released."""
        return self.released[dossier] < self.event_count[dossier]

    def release_next(self, dossier: int, at: int) -> tuple[int, int]:
        """Release the next planned event at instant ``at``; returns (event kind, new version)."""
        index = self.first_event[dossier] + self.released[dossier]
        self.event_time[index] = at
        self.released[dossier] += 1
        return self.event_kind[index], self.released[dossier]

    def received_at(self, dossier: int, versions: int) -> int | None:
        """NgayTiepNhan as of a version, if it was received by then."""
        start = self.first_event[dossier]
        for i in range(start, start + versions):
            if self.event_kind[i] == Event.RECEIVE:
                return self.event_time[i]
        return None
