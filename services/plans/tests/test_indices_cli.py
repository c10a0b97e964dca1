"""`cchc plans indices load FILE...` posts result and framework files to a running service."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine
from typer.testing import CliRunner

from cchc_plans.cli import app as plans_cli
from cchc_plans.main import create_app
from cchc_plans.store.models import OutboxEvent
from cchc_shared.settings import PlansSettings
from cchc_shared.testing import TestTokens, serving

FRAMEWORK_YAML = """\
# TEST framework (not a real index)
code: TEST_CLI
version: "1"
name: "Bộ chỉ số thử nghiệm"
unit_levels: [district]
nodes:
  - {code: "1", name: "Lĩnh vực 1", max_score: 10, scoring: survey}
"""
RESULTS_CSV = """\
framework,year,province,unit,component,survey
TEST_CLI,2024,kon-tum,dak-glei,1,7.5
TEST_CLI,2024,kon-tum,ngoc-hoi,1,8
"""


async def test_load_files_through_the_cli(
    clean_state: None,
    service_env: dict[str, str],
    test_tokens: TestTokens,
    engine: AsyncEngine,
    tmp_path: Path,
) -> None:
    framework = tmp_path / "khung.yaml"
    framework.write_text(FRAMEWORK_YAML, encoding="utf-8")
    results = tmp_path / "ket-qua-2024.csv"
    results.write_text(RESULTS_CSV, encoding="utf-8")
    faulty = tmp_path / "loi.csv"
    faulty.write_text(RESULTS_CSV.replace("7.5", "12"), encoding="utf-8")  # above the max 10
    runner = CliRunner()
    token = test_tokens.mint("planner")
    async with serving(create_app(PlansSettings())) as base:

        def load(*files: Path) -> tuple[int, str]:
            args = ["indices", "load", *map(str, files), "--url", base, "--token", token]
            outcome = runner.invoke(plans_cli, args)
            return outcome.exit_code, outcome.output

        code, output = await asyncio.to_thread(load, framework, results)
        assert code == 0, output
        assert "created TEST_CLI 1" in output and "TEST_CLI 2024: 2 created" in output
        code, output = await asyncio.to_thread(load, faulty)
        assert code == 1
        assert "refused (422)" in output and "body.rows[0].survey: line 2" in output
        await _wait_published(engine)


async def _wait_published(engine: AsyncEngine) -> None:
    """Stop the server only once its relay is idle (a stop mid-publish stalls the NATS drain)."""
    async with asyncio.timeout(30):
        while True:
            async with engine.connect() as conn:
                unpublished = select(OutboxEvent.seq).where(OutboxEvent.published_at.is_(None))
                if (await conn.execute(unpublished.limit(1))).first() is None:
                    return
            await asyncio.sleep(0.05)
