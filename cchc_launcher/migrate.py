"""Apply every service's migrations."""

from __future__ import annotations

from cchc_launcher.services import DATABASE_SERVICES
from cchc_shared.migrations import upgrade


def migrate_all(database_url: str) -> None:
    for service in DATABASE_SERVICES:
        upgrade(service.migrations_dir, database_url)
