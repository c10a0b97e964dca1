"""The combined OpenAPI document: one schema namespace across services, and what the gateway
itself may answer documented on every operation."""

from __future__ import annotations

from typing import Any

from cchc_gateway.openapi import merge, with_gateway_responses


def service_doc(title: str, page_fields: list[str], path: str) -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": "1"},
        "paths": {
            path: {
                "post": {
                    "security": [{"bearer": []}],
                    "requestBody": {"content": {"application/json": {}}},
                    "responses": {
                        "200": {
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/Page"}
                                }
                            }
                        }
                    },
                }
            }
        },
        "components": {
            "schemas": {"Page": {"type": "object", "required": page_fields}},
        },
    }


def test_same_named_schemas_of_two_services_stay_apart() -> None:
    gateway = {"openapi": "3.1.0", "info": {"title": "CCHC API", "version": "1"}, "paths": {}}
    merged = merge(
        [
            ("gateway", gateway),
            ("plans", service_doc("plans", ["plan_id"], "/api/v1/plans")),
            ("ingest", service_doc("ingest", ["job_id"], "/api/v1/ingest/jobs")),
        ]
    )
    schemas = merged["components"]["schemas"]
    assert schemas["Page"]["required"] == ["plan_id"]
    assert schemas["ingest_Page"]["required"] == ["job_id"]
    ingest_ref = merged["paths"]["/api/v1/ingest/jobs"]["post"]["responses"]["200"]["content"]
    assert ingest_ref["application/json"]["schema"]["$ref"] == "#/components/schemas/ingest_Page"


def test_gateway_answers_are_documented_on_every_operation() -> None:
    merged = with_gateway_responses(
        merge([("plans", service_doc("plans", ["plan_id"], "/api/v1/plans"))])
    )
    responses = merged["paths"]["/api/v1/plans"]["post"]["responses"]
    assert {"400", "401", "413", "429", "502", "503", "504"} <= set(responses)
    assert "Problem" in merged["components"]["schemas"]
