"""Field groups (``dat_dai``, ``xay_dung``, ``dau_tu``…) from a field's code and Vietnamese name.

Plans filter targets by field group (``filter: {field_group: [dat_dai, xay_dung, dau_tu]}``) while
dossiers carry the one-stop system's field code (``MaLinhVuc``). indicators.md names the groups
but not the mapping, so we chose: the three groups plans name are recognised anywhere in the
field's name (``Lĩnh vực Đất đai``, ``Quy hoạch xây dựng, kiến trúc``); any other field is its own
group, named by its name without diacritics (``Hộ tịch`` → ``ho_tich``).
"""

from __future__ import annotations

import re
import unicodedata

KNOWN_GROUPS = ("dat_dai", "xay_dung", "dau_tu")
_NON_WORD = re.compile(r"[^a-z0-9]+")


def ascii_slug(text: str) -> str:
    """``Đất đai`` → ``dat_dai``."""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _NON_WORD.sub("_", bare.lower()).strip("_")


def field_group(code: str, name: str | None) -> str:
    slug = ascii_slug(name or "")
    words = f"_{slug}_{ascii_slug(code)}_"
    for group in KNOWN_GROUPS:
        if f"_{group}_" in words:
            return group
    slug = slug.removeprefix("linh_vuc_")
    return slug or ascii_slug(code) or code
