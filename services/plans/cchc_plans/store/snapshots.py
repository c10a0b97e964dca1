"""JSON views of rows: what the audit trail stores as before/after and events carry.

Numbers are floats and dates ISO strings, so two snapshots compare equal exactly when the stored
content is the same (that is how a re-import sees that nothing changed).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from cchc_plans.store.models import OrgUnit, Plan, ProgressReport, ReportedFigure, Target, Task


def iso(value: date | datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def num(value: Decimal | None) -> float | None:
    return float(value) if value is not None else None


def org_unit_content(unit: OrgUnit) -> dict[str, Any]:
    return {
        "code": unit.code,
        "slug": unit.slug,
        "province": unit.province,
        "name": unit.name,
        "level": unit.level,
        "parent_code": unit.parent_code,
        "valid_from": iso(unit.valid_from),
        "valid_to": iso(unit.valid_to),
        "successor_codes": list(unit.successor_codes or []),
    }


def plan_content(plan: Plan) -> dict[str, Any]:
    """The plan's header as a document states it (not its status)."""
    return {
        "code": plan.code,
        "kind": plan.kind,
        "title": plan.title,
        "issuer": plan.issuer,
        "province": plan.province,
        "issued_on": iso(plan.issued_on),
        "period_from": iso(plan.period_from),
        "period_to": iso(plan.period_to),
        "parent_code": plan.parent_code,
        "areas": list(plan.areas),
        "indices": plan.indices,
        "source": plan.source,
        "declared_counts": plan.declared_counts,
    }


def plan_state(plan: Plan) -> dict[str, Any]:
    return {**plan_content(plan), "status": plan.status, "version": plan.version}


def target_content(target: Target) -> dict[str, Any]:
    return {
        "key": target.key,
        "position": target.position,
        "text": target.text,
        "area": target.area,
        "measure": target.measure,
        "op": target.op,
        "value": num(target.value),
        "unit": target.unit,
        "filter": target.filter,
        "due": iso(target.due),
        "scope_org_unit_id": str(target.scope_org_unit_id) if target.scope_org_unit_id else None,
        "baseline": target.baseline,
        "index_components": target.index_components,
        "withdrawn": target.withdrawn,
    }


def target_state(target: Target) -> dict[str, Any]:
    return {**target_content(target), "version": target.version}


def task_content(task: Task) -> dict[str, Any]:
    """What a plan states about a task (its progress is reported separately)."""
    return {
        "key": task.key,
        "position": task.position,
        "area": task.area,
        "title": task.title,
        "lead": task.lead,
        "lead_org_unit_id": str(task.lead_org_unit_id),
        "lead_group": task.lead_group,
        "support": list(task.support),
        "support_org_unit_ids": list(task.support_org_unit_ids),
        "due": iso(task.due),
        "recurring": task.recurring,
        "expected_output": task.expected_output,
        "index_components": task.index_components,
        "withdrawn": task.withdrawn,
    }


def task_state(task: Task) -> dict[str, Any]:
    return {
        **task_content(task),
        "status": task.status,
        "percent_complete": task.percent_complete,
        "version": task.version,
    }


def progress_state(report: ProgressReport) -> dict[str, Any]:
    return {
        "id": str(report.id),
        "task_id": str(report.task_id),
        "status": report.status,
        "percent_complete": report.percent_complete,
        "note": report.note,
        "evidence": list(report.evidence),
        "reported_by": report.reported_by,
        "reported_at": iso(report.reported_at),
    }


def figure_state(figure: ReportedFigure) -> dict[str, Any]:
    return {
        "id": str(figure.id),
        "target_id": str(figure.target_id),
        "plan_id": str(figure.plan_id),
        "period": figure.period,
        "period_start": iso(figure.period_start),
        "period_end": iso(figure.period_end),
        "org_unit_id": str(figure.org_unit_id),
        "numerator": num(figure.numerator),
        "denominator": num(figure.denominator),
        "value": num(figure.value),
        "evidence": list(figure.evidence),
        "note": figure.note,
        "reported_by": figure.reported_by,
        "reported_at": iso(figure.reported_at),
        "supersedes_id": str(figure.supersedes_id) if figure.supersedes_id else None,
        "superseded_by_id": str(figure.superseded_by_id) if figure.superseded_by_id else None,
        "version": figure.version,
    }
