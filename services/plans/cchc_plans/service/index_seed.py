"""What the indices sub-domain loads at start: the shipped frameworks (always: they are public
reference data) and, with demo data, the demo links of plan tasks to index components."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from cchc_plans.service.index_frameworks import seed_frameworks
from cchc_plans.service.index_links import seed_demo_links


async def seed_indices(session: AsyncSession, *, demo: bool) -> None:
    await seed_frameworks(session)
    if demo:
        await seed_demo_links(session)
