"""Helpers of the plans service's tests (and of cross-service tests that need its data)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from httpx import AsyncClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from cchc_plans.store.models import Base

# The shared plans as `cchc up` loads them (a copy of shared/domain/plans/ in the repository).
PLANS_DIR = Path(__file__).resolve().parents[3] / "cchc_launcher" / "demo" / "plans"
PLAN_FILES: dict[str, tuple[str, int, int]] = {
    "kontum-2023-4212.yaml": ("4212/KH-UBND", 12, 8),
    "backan-2023.yaml": ("KH-CCHC-2023-BAC-KAN", 21, 2),
    "khanhhoa-2021-2030.yaml": ("CTr-CCHC-2021-2030-KHANH-HOA", 14, 4),
    "kontum-2024-index-improvement.yaml": ("KH-CHISO-2024-KON-TUM", 0, 10),
}
"""File → (code, targets, tasks): acceptance 1 of the plans issue."""
YAML = {"content-type": "application/yaml"}


def plan_yaml(name: str) -> bytes:
    return (PLANS_DIR / name).read_bytes()


async def import_yaml(client: AsyncClient, body: bytes, **params: str) -> Any:
    resp = await client.post("/api/v1/plans/import", content=body, headers=YAML, params=params)
    assert resp.status_code in (200, 201), resp.text
    return resp.json()


async def import_file(client: AsyncClient, name: str, **params: str) -> Any:
    return await import_yaml(client, plan_yaml(name), **params)


async def count_rows(engine: AsyncEngine, model: type[Base]) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(model))).scalar_one())
