"""Reference data shared by the demo (simulator) and the plans service's demo import."""

from __future__ import annotations

from importlib import resources
from typing import Any

import yaml


def kontum_org_units() -> dict[str, Any]:
    """The Kon Tum org-unit tree of the demo (see kontum_org_units.yaml)."""
    text = (
        resources.files(__package__).joinpath("kontum_org_units.yaml").read_text(encoding="utf-8")
    )
    data: dict[str, Any] = yaml.safe_load(text)
    return data
