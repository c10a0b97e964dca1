"""Secrets of a local installation: random on first start, kept owner-only in the state dir.

There are no default passwords: each installation gets its own. An environment variable of the
same name (upper case, ``CCHC_`` prefix) overrides the stored value.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

SECRET_NAMES = ("lgsp_client_secret", "pii_hash_key")


def load_or_create(state_dir: Path) -> tuple[dict[str, str], bool]:
    """Answer the secrets and whether they were created just now (to print them once)."""
    path = state_dir / "secrets.json"
    stored: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
    created = False
    for name in SECRET_NAMES:
        if name not in stored:
            stored[name] = secrets.token_urlsafe(32)
            created = True
    if created:
        state_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(stored, f, indent=2)
    path.chmod(0o600)
    for name in SECRET_NAMES:
        override = os.environ.get(f"CCHC_{name.upper()}")
        if override:
            stored[name] = override
    return stored, created
