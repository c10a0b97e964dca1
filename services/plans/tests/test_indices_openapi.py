"""Acceptance 4: the `GET` endpoints of `/api/v1/indices` are documented in the app's OpenAPI
document, each with a summary and a description in Vietnamese and in English."""

from __future__ import annotations

import re

from httpx import ASGITransport, AsyncClient

from cchc_plans.main import create_app
from cchc_shared.settings import PlansSettings

# Letters only Vietnamese writes (with diacritics): a text holding none is not Vietnamese.
VIETNAMESE = re.compile(r"[àáảãạăằắẳẵặâầấẩẫậđèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵ]")
WORD = re.compile(r"[A-Za-z]{2,}")


def english(text: str) -> bool:
    """Several words, none with a Vietnamese letter."""
    return not VIETNAMESE.search(text) and len(WORD.findall(text)) >= 3


def bilingual_summary(text: str) -> bool:
    """`English (Tiếng Việt)`."""
    first, _, rest = text.partition(" (")
    return english(first) and bool(VIETNAMESE.search(rest)) and rest.endswith(")")


def bilingual_description(text: str) -> bool:
    """An English paragraph and a Vietnamese one."""
    paragraphs = [p for p in text.split("\n\n") if p.strip()]
    return any(english(p) for p in paragraphs) and any(VIETNAMESE.search(p) for p in paragraphs)


EXPECTED_GETS = {
    "/api/v1/indices/frameworks",
    "/api/v1/indices/frameworks/{framework_id}",
    "/api/v1/indices/results",
    "/api/v1/indices/results/{result_id}",
    "/api/v1/indices/rankings",
    "/api/v1/indices/analysis",
    "/api/v1/indices/components/{framework_code}/{component}",
    "/api/v1/indices/links",
}


async def test_get_endpoints_are_documented_in_vietnamese_and_english() -> None:
    app = create_app(PlansSettings(auth_required=False, demo_data=False))
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://plans") as client:
        document = (await client.get("/openapi.json")).json()
    gets = {
        path: item["get"]
        for path, item in document["paths"].items()
        if path.startswith("/api/v1/indices") and "get" in item
    }
    assert set(gets) == EXPECTED_GETS
    for path, operation in gets.items():
        summary, description = operation.get("summary", ""), operation.get("description", "")
        assert bilingual_summary(summary), f"{path}: summary {summary!r}"
        assert bilingual_description(description), f"{path}: description {description!r}"
        assert "indices" in operation["tags"]
        assert "200" in operation["responses"]
        for parameter in operation.get("parameters", []):
            if parameter["in"] == "query" and parameter["name"] not in ("limit", "cursor"):
                assert parameter.get("description"), f"{path}: {parameter['name']} undescribed"
    # The documents a client sends are described too.
    schemas = document["components"]["schemas"]
    assert {"FrameworkDocument", "ResultsDocument", "LinkIn"} <= set(schemas)
