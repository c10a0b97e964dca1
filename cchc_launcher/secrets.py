"""Secrets of a local installation: random on first start, kept owner-only in the state dir.

There are no default passwords: each installation gets its own. An environment variable of the
same name (upper case, ``CCHC_`` prefix: ``CCHC_ADMIN_PASSWORD``...) overrides the stored value.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

SECRET_NAMES = (
    "lgsp_client_secret",
    "pii_hash_key",
    "admin_password",  # the `admin` user of the gateway
    "ioc_dashboard_secret",  # the `ioc-dashboard` client (viewer)
    "auth_key_secret",  # encrypts the token signing keys at rest
)
SECRETS_FILE = "secrets.json"


def load_or_create(state_dir: Path) -> tuple[dict[str, str], bool]:
    """Answer the secrets and whether some were created just now (to print them once)."""
    stored, created = load_or_create_names(state_dir)
    return stored, bool(created)


def load_or_create_names(state_dir: Path) -> tuple[dict[str, str], list[str]]:
    """Answer the secrets and the names of those created just now."""
    path = state_dir / SECRETS_FILE
    stored: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
    created = [name for name in SECRET_NAMES if name not in stored]
    for name in created:
        stored[name] = secrets.token_urlsafe(32)
    if created:
        _write_owner_only(path, stored)
    path.chmod(0o600)  # also tightens a file someone loosened
    for name in SECRET_NAMES:
        override = os.environ.get(f"CCHC_{name.upper()}")
        if override:
            stored[name] = override
    return stored, created


def _write_owner_only(path: Path, content: dict[str, str]) -> None:
    """Write through a temporary file created 0600, then rename: never readable by others,
    never half-written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.unlink(missing_ok=True)  # left by a crash
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(content, f, indent=2)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
