"""The simulator's settings: the shared SimulatorSettings plus what only the simulator reads.

Each is read from ``CCHC_<NAME>``: ``CCHC_SIMULATOR_DOSSIERS=300000``,
``CCHC_SIMULATOR_END=20251031``, ``CCHC_SIMULATOR_FAULTS='{"duplicate_rate": 0.01}'``.
"""

from __future__ import annotations

import time

from pydantic import Field, field_validator

from cchc_shared.settings import SimulatorSettings
from cchc_simulator.faults import FaultSettings
from cchc_simulator.timeutil import DAY, parse_end, vn_seconds_from_unix


class SimulatorServerSettings(SimulatorSettings):
    simulator_dossiers: int = Field(
        300_000, ge=0, le=4_000_000, description="Dossiers submitted within the history window."
    )
    simulator_history_days: int = Field(
        365, ge=1, le=1500, description="Length of the history window, in days."
    )
    simulator_end: str | None = Field(
        None,
        description="End of the history window, local time, yyyyMMdd (end of that day) or "
        "yyyyMMddHHmmss; unset: now. A later end than now is cut to now.",
    )
    simulator_live_rate: float = Field(
        1.0, ge=0, description="Live changes per second after the history (0: none)."
    )
    simulator_live_new_share: float = Field(
        0.3, ge=0, le=1, description="Share of live changes that are new dossiers."
    )
    simulator_token_ttl: int = Field(
        3600, ge=1, description="Lifetime of an access token, announced in expires_in (seconds)."
    )
    simulator_faults: FaultSettings = Field(
        default_factory=FaultSettings,
        description="Faults at start, as JSON (see POST /_sim/faults).",
    )

    @field_validator("simulator_end")
    @classmethod
    def _parseable_end(cls, value: str | None) -> str | None:
        if value is not None:
            parse_end(value)
        return value

    def history_window(self, unix_now: float | None = None) -> tuple[int, int]:
        """(start, end) of the history in VN seconds; the end is never later than now."""
        now = vn_seconds_from_unix(time.time() if unix_now is None else unix_now)
        end = min(now, parse_end(self.simulator_end)) if self.simulator_end else now
        return end - self.simulator_history_days * DAY + 1, end
