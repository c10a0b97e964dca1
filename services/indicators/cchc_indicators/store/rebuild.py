# ruff: noqa: S608  # SQL text holds only our own table/column names; there are no values
"""The rebuild's arithmetic, set-wise in PostgreSQL: every aggregate from ``dossier_state``.

The incremental path turns each dossier version into contributions with ``domain/aggregates.py``
(``contributions``/``diff``), in Python. Doing that for a province's million dossiers costs
minutes of Python per rebuild, so the rebuild says the same rules once more as one
``INSERT … SELECT … GROUP BY`` over the stored facts: each dossier yields at most nine rows
(receipt, finish, rating, open start/stop, two overdue runs' start/stop), summed per bucket.
The rules are those of ``domain/aggregates.py`` and ``domain/facts.py`` line by line (the
comments name the Python function each part mirrors); the property tests check that a rebuild
gives exactly the totals of the incremental path and of the brute force.

Local days: Vietnam keeps UTC+07:00 without DST, so a local date is the UTC wall time plus seven
hours, cut to a date (the same fixed offset as ``periods.VN_TZ``, for every year).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from cchc_indicators.domain.aggregates import Measure
from cchc_indicators.store.models import (
    AggAgencyDay,
    AggAgencyMonth,
    AggDetailDay,
    AggDetailMonth,
    DossierState,
)

MEASURES: tuple[Measure, ...] = tuple(Measure)
_M = ", ".join(m.value for m in MEASURES)


def _name(model: Any) -> str:
    return str(model.__table__.fullname)


def _local_day(instant: str) -> str:
    return f"(({instant} AT TIME ZONE 'UTC') + interval '7 hours')::date"


def _ts(field: str) -> str:
    return f"(facts->>'{field}')::timestamptz"


# One row per received dossier with the instants and flags the rules need (facts.py).
_FACTS = f"""
SELECT
  facts->>'agency_code' AS agency_code,
  facts->>'procedure_code' AS procedure_code,
  COALESCE(facts->>'field_code', '') AS field_code,
  facts->>'channel' AS channel,
  {_ts("received_at")} AS rec,
  CASE WHEN (facts->>'finished')::boolean
       THEN GREATEST(COALESCE({_ts("finished_at")}, {_ts("updated_at")}), {_ts("received_at")})
  END AS fin,                                                -- finished_instant
  {_ts("due_at")} AS due,
  NOT (facts->>'withdrawn')::boolean AS in_scope,            -- in_timeliness_scope
  COALESCE((facts->>'supplement_rounds')::int, 0) AS rounds,
  {_ts("supplement_requested_at")} AS requested,
  {_ts("supplement_completed_at")} AS completed,
  (facts->>'has_fee')::boolean AS has_fee,
  (facts->>'paid_online')::boolean AS paid_online,
  (facts->>'digitized')::boolean AS digitized,
  (facts->>'e_certified')::boolean AS e_certified,
  (facts->>'synced')::boolean AS synced,
  (facts->>'rating')::int AS rating,
  {_ts("rated_at")} AS rated_at
FROM {_name(DossierState)}
WHERE facts IS NOT NULL
  AND (facts->>'received')::boolean
  AND facts->>'received_at' IS NOT NULL                      -- is_received
OFFSET 0  -- computed once per dossier: without it the planner inlines every use below
"""

# Local days of each instant; NULL stop days mean "never" (DayRun.stop None).
_DAYS = f"""
SELECT f.*,
  {_local_day("rec")} AS rday,
  {_local_day("fin")} AS fday,
  {_local_day("due")} AS dday,
  {_local_day("requested")} AS qday,
  {_local_day("completed")} AS cday,
  CASE                                                       -- timeliness
    WHEN fin IS NULL OR NOT in_scope THEN NULL
    WHEN rounds >= 2 THEN 'late'
    WHEN due IS NULL THEN 'on_time'
    WHEN {_local_day("fin")} < {_local_day("due")} THEN 'early'
    WHEN fin <= due THEN 'on_time'
    ELSE 'late'
  END AS verdict
FROM ({_FACTS}) AS f
OFFSET 0
"""

# The overdue runs (_overdue_runs, _minus): at most a head and a tail around the wait.
_RUNS = f"""
SELECT d.*,
  CASE
    WHEN NOT in_scope THEN NULL
    WHEN rounds >= 2 THEN rday
    WHEN due IS NULL OR NOT (fday IS NULL OR past_due < fday) THEN NULL
    WHEN NOT waiting THEN past_due
    WHEN past_due < head_stop THEN past_due
  END AS run1_first,
  CASE
    WHEN NOT in_scope THEN NULL
    WHEN rounds >= 2 THEN fday
    WHEN due IS NULL OR NOT (fday IS NULL OR past_due < fday) THEN NULL
    WHEN NOT waiting THEN fday
    WHEN past_due < head_stop THEN head_stop
  END AS run1_stop,
  CASE
    WHEN NOT in_scope OR rounds >= 2 OR due IS NULL THEN NULL
    WHEN NOT (fday IS NULL OR past_due < fday) OR NOT waiting OR cday IS NULL THEN NULL
    WHEN fday IS NULL OR GREATEST(past_due, cday) < fday THEN GREATEST(past_due, cday)
  END AS run2_first,
  CASE
    WHEN NOT in_scope OR rounds >= 2 OR due IS NULL THEN NULL
    WHEN NOT (fday IS NULL OR past_due < fday) OR NOT waiting OR cday IS NULL THEN NULL
    WHEN fday IS NULL OR GREATEST(past_due, cday) < fday THEN fday
  END AS run2_stop
FROM (
  SELECT d.*,
    GREATEST(rday, dday) AS past_due,                        -- _from_day(open_run, due day)
    -- a single round, requested, with a non-empty wait (_waiting_run; _minus's empty gap)
    COALESCE(rounds = 1 AND qday IS NOT NULL AND (cday IS NULL OR qday < cday), false)
      AS waiting,
    CASE WHEN fday IS NULL THEN qday ELSE LEAST(fday, qday) END AS head_stop
  FROM ({_DAYS}) AS d
  OFFSET 0
) AS d
OFFSET 0
"""


def _edge(day: str, **measures: str) -> str:
    values = [measures.get(m.value, "0") for m in MEASURES]
    return f"({day}, {', '.join(values)})"


# The rows each dossier adds (_receipt_rows, _finish_rows, _rating_rows, _stock_rows).
_EDGES = ",\n    ".join(
    [
        _edge(
            "rday",
            received="1",
            online="(channel = 'online')::int",
            postal="(channel = 'postal')::int",
            has_fee="has_fee::int",
            has_fee_paid_online="(has_fee AND paid_online)::int",
            digitized="digitized::int",
            e_certified="e_certified::int",
            synced="synced::int",
        ),
        _edge(
            "CASE WHEN in_scope THEN fday END",
            finished="1",
            finished_early="(verdict = 'early')::int",
            finished_on_time="(verdict = 'on_time')::int",
            # whole seconds, floored, as ``duration // timedelta(seconds=1)``
            processing_seconds="floor(extract(epoch FROM fin) - extract(epoch FROM rec))::bigint",
        ),
        _edge(
            "CASE WHEN rating IS NOT NULL THEN {} END".format(_local_day("rated_at")),
            rated="1",
            satisfied="(rating >= 4)::int",
            rated_1_2="(rating <= 2)::int",
        ),
        _edge("CASE WHEN in_scope THEN rday END", open="1"),
        _edge("CASE WHEN in_scope THEN fday END", open="-1"),
        _edge("run1_first", open_overdue="1"),
        _edge("run1_stop", open_overdue="-1"),
        _edge("run2_first", open_overdue="1"),
        _edge("run2_stop", open_overdue="-1"),
    ]
)

_SUMS = ", ".join(f"SUM(e.{m.value})" for m in MEASURES)

DETAIL_DAY = f"""
INSERT INTO {_name(AggDetailDay)} (agency_code, day, procedure_code, field_code, channel, {_M})
SELECT agency_code, e.day, procedure_code, field_code, channel, {_SUMS}
FROM ({_RUNS}) AS r
CROSS JOIN LATERAL (VALUES
    {_EDGES}
) AS e(day, {_M})
WHERE e.day IS NOT NULL
GROUP BY agency_code, e.day, procedure_code, field_code, channel
"""


def _roll_up(target: Any, source: Any, keys: str, time: str, source_time: str) -> str:
    sums = ", ".join(f"SUM({m.value})" for m in MEASURES)
    return (
        f"INSERT INTO {_name(target)} ({keys}, {time}, {_M}) "
        f"SELECT {keys}, {source_time}, {sums} FROM {_name(source)} "
        f"GROUP BY {keys}, {source_time}"
    )


MONTH_OF_DAY = "day - (extract(day FROM day)::int - 1)"  # the month's first day, no time zone
ROLL_UPS = (
    _roll_up(
        AggDetailMonth,
        AggDetailDay,
        "agency_code, procedure_code, field_code, channel",
        "month",
        MONTH_OF_DAY,
    ),
    _roll_up(AggAgencyDay, AggDetailDay, "agency_code, channel", "day", "day"),
    _roll_up(AggAgencyMonth, AggAgencyDay, "agency_code, channel", "month", MONTH_OF_DAY),
)


async def fill_aggregates(session: AsyncSession) -> None:
    """Fill the (emptied) aggregate tables from ``dossier_state``, in the caller's transaction."""
    # The GROUP BY of a million dossiers' rows spills to disk with the default 4 MB.
    await session.execute(text("SET LOCAL work_mem = '256MB'"))
    await session.execute(text(DETAIL_DAY))
    for statement in ROLL_UPS:
        await session.execute(text(statement))
