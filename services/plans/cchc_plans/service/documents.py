"""Plans as documents: import a plan file, or change a stored plan through its document form.

One path applies every change of a plan's content, whether it comes from a file or from an API
edit: validate the whole document (all faults at once, with paths), compare it with what is
stored, and write only what differs, each change with its audit entry and its event. Nothing
differing means nothing written: a re-import changes nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from cchc_plans.domain.catalogue import GROUP_LEADS, RECURRING
from cchc_plans.domain.documents import (
    Fault,
    Loc,
    PlanDocument,
    TargetDoc,
    TaskDoc,
    document_faults,
    normalize_text,
)
from cchc_plans.domain.lifecycle import LifecycleError, check_content_change, check_transition
from cchc_plans.events import publish as ev
from cchc_plans.service.resolve import Resolution, resolve_units
from cchc_plans.store import audit, org_units, plans
from cchc_plans.store.models import Plan, Target, Task
from cchc_plans.store.snapshots import (
    plan_content,
    plan_state,
    target_content,
    target_state,
    task_content,
    task_state,
)
from cchc_shared.errors import Conflict, FieldError, NotFound, ValidationFailed, field_path
from cchc_shared.events.envelope import CloudEvent

Result = Literal["created", "updated", "issued", "amended", "unchanged"]
Relocate = Callable[[Loc], tuple[Loc, str | None]]
"""Maps a fault's path in the document to the path in the request (and a note if it moved)."""

_TARGET_FIELDS = (
    "key", "position", "text", "area", "measure", "op", "value", "unit", "filter", "due",
    "scope_org_unit_id", "baseline", "index_components", "withdrawn",
)  # fmt: skip
_TASK_FIELDS = (
    "key", "position", "area", "title", "lead", "lead_org_unit_id", "lead_group", "support",
    "support_org_unit_ids", "due", "recurring", "expected_output", "index_components",
    "withdrawn",
)  # fmt: skip
_HEADER_FIELDS = (
    "code", "kind", "title", "issuer", "province", "issued_on", "period_from", "period_to",
    "parent_code", "areas", "indices", "source", "declared_counts",
)  # fmt: skip


@dataclass
class Outcome:
    plan: Plan
    result: Result
    targets_changed: int = 0
    tasks_changed: int = 0


def in_body(loc: Loc) -> tuple[Loc, str | None]:
    return ("body", *loc), None


def conflict(exc: LifecycleError) -> Conflict:
    return Conflict(str(exc))


async def import_document(
    session: AsyncSession,
    raw: object,
    *,
    actor: str,
    reason: str | None,
    default_status: Literal["draft", "issued"] = "issued",
    create_only: bool = False,
) -> Outcome:
    """Create the plan a document describes, or bring the stored one to it."""
    doc, resolution = await validated(session, raw, in_body)
    await plans.lock_plan_code(session, doc.province, doc.code)
    existing = await plans.by_code(session, doc.province, doc.code)
    if existing is None:
        return await _create(session, doc, resolution, actor, doc.status or default_status)
    if create_only:
        raise Conflict(f"plan {doc.code} of {doc.province} exists already (id {existing.id})")
    return await apply_document(session, existing, doc, resolution, actor=actor, reason=reason)


async def change_plan(
    session: AsyncSession,
    plan_id: uuid.UUID,
    edit: Callable[[dict[str, Any]], dict[str, Any]],
    *,
    actor: str,
    reason: str | None,
    relocate: Relocate,
) -> Outcome:
    """Apply an edit of a stored plan's document form (an API PATCH or POST of one part)."""
    plan = await plans.get(session, plan_id, for_update=True)
    if plan is None:
        raise NotFound("plan", plan_id)
    raw = edit(await document_of(session, plan))
    doc, resolution = await validated(session, raw, relocate)
    return await apply_document(session, plan, doc, resolution, actor=actor, reason=reason)


async def validated(
    session: AsyncSession, raw: object, relocate: Relocate
) -> tuple[PlanDocument, Resolution]:
    """The document and its org units, or ValidationFailed listing every fault."""
    raw = normalize_text(raw)
    if not isinstance(raw, dict):
        raise ValidationFailed([FieldError(field="body", message="expected a plan document")])
    doc: PlanDocument | None = None
    faults: list[Fault] = []
    try:
        doc = PlanDocument.model_validate(raw)
    except ValidationError as exc:
        faults.extend(_pydantic_faults(exc))
    period = (doc.period.from_, doc.period.to) if doc else None
    if doc is not None:
        faults.extend(document_faults(doc))
    resolution, unit_faults = await resolve_units(session, raw, period)
    faults.extend(unit_faults)
    if faults or doc is None or resolution is None:
        raise ValidationFailed(_field_errors(faults, relocate))
    return doc, resolution


def _pydantic_faults(exc: ValidationError) -> list[Fault]:
    faults: list[Fault] = []
    for err in exc.errors():
        loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
        faults.append((loc, err["msg"]))
    return faults


def _field_errors(faults: list[Fault], relocate: Relocate) -> list[FieldError]:
    errors = []
    for loc, message in faults:
        where, note = relocate(loc)
        errors.append(
            FieldError(field=field_path(where), message=f"{note}: {message}" if note else message)
        )
    return errors


async def _create(
    session: AsyncSession, doc: PlanDocument, res: Resolution, actor: str, status: str
) -> Outcome:
    plan = Plan(id=uuid.uuid4(), status=status, version=1, **_header(doc))
    session.add(plan)
    await session.flush()
    _audit(session, plan, plan.id, "plan", "created", actor, None, plan_state(plan))
    events: list[CloudEvent] = [ev.plan_issued(plan)] if status == "issued" else []
    for i, item in enumerate(doc.targets):
        target = _target_row(item, i, plan.id, res)
        target.id, target.version = uuid.uuid4(), 1
        session.add(target)
        _audit(session, plan, target.id, "target", "created", actor, None, target_state(target))
        events.append(ev.target_upserted(target, plan))
    for i, task_doc in enumerate(doc.tasks):
        task = _task_row(task_doc, i, plan.id, res)
        task.id, task.version, task.status, task.percent_complete = (
            uuid.uuid4(),
            1,
            "not_started",
            0,
        )
        session.add(task)
        _audit(session, plan, task.id, "task", "created", actor, None, task_state(task))
        events.append(ev.task_assigned(task, plan, res.unit(task_doc.lead).code))
    await session.flush()
    await ev.publish(session, *events)
    return Outcome(plan, "created", len(doc.targets), len(doc.tasks))


async def apply_document(
    session: AsyncSession,
    plan: Plan,
    doc: PlanDocument,
    res: Resolution,
    *,
    actor: str,
    reason: str | None,
) -> Outcome:
    requested = doc.status or plan.status
    try:
        check_transition(plan.status, requested)
    except LifecycleError as exc:
        raise conflict(exc) from exc
    target_changes = _target_changes(await plans.targets_of(session, plan.id), doc, plan.id, res)
    task_changes = _task_changes(await plans.tasks_of(session, plan.id), doc, plan.id, res)
    header_changed = plan_content(Plan(**_header(doc))) != plan_content(plan)
    content_changed = header_changed or bool(target_changes) or bool(task_changes)
    if not content_changed and requested == plan.status:
        return Outcome(plan, "unchanged")
    if content_changed:
        try:
            check_content_change(plan.status, reason)
        except LifecycleError as exc:
            raise conflict(exc) from exc
    amending = plan.status == "issued"
    issuing = requested != plan.status
    before = plan_state(plan)
    for name, value in _header(doc).items():
        setattr(plan, name, value)
    plan.status = requested
    plan.version += 1
    result: Result = "amended" if amending else "issued" if issuing else "updated"
    _audit(session, plan, plan.id, "plan", result, actor, before, plan_state(plan), reason)
    events: list[CloudEvent] = []
    if amending:
        events.append(ev.plan_amended(plan, reason or ""))
    if issuing:
        events.append(ev.plan_issued(plan))
    events.extend(_apply_targets(session, plan, target_changes, actor, reason))
    events.extend(await _apply_tasks(session, plan, task_changes, actor, reason))
    await session.flush()
    await ev.publish(session, *events)
    return Outcome(plan, result, len(target_changes), len(task_changes))


def _header(doc: PlanDocument) -> dict[str, Any]:
    return {
        "code": doc.code,
        "kind": doc.kind,
        "title": doc.title,
        "issuer": doc.issuer,
        "province": doc.province,
        "issued_on": doc.issued_on,
        "period_from": doc.period.from_,
        "period_to": doc.period.to,
        "parent_code": doc.parent,
        "areas": list(doc.areas),
        "indices": list(doc.indices) if doc.indices is not None else None,
        "source": doc.source,
        "declared_counts": doc.declared_counts,
    }


def _target_row(item: TargetDoc, position: int, plan_id: uuid.UUID, res: Resolution) -> Target:
    return Target(
        plan_id=plan_id,
        key=item.key,
        position=position,
        text=item.text,
        area=item.area,
        measure=item.measure,
        op=item.op,
        value=item.value,
        unit=item.unit,
        filter=item.filter,
        due=item.due,
        scope_org_unit_id=res.unit(item.scope).id,
        baseline=item.baseline.model_dump(mode="json") if item.baseline else None,
        index_components=item.index_components,
        withdrawn=False,
    )


def _task_row(item: TaskDoc, position: int, plan_id: uuid.UUID, res: Resolution) -> Task:
    return Task(
        plan_id=plan_id,
        key=item.key,
        position=position,
        area=item.area,
        title=item.title,
        lead=item.lead,
        lead_org_unit_id=res.unit(item.lead).id,
        lead_group=GROUP_LEADS.get(item.lead),
        support=list(item.support),
        support_org_unit_ids=[str(res.unit(ref).id) for ref in item.support],
        due=item.due_date,
        recurring=item.recurring,
        expected_output=item.expected_output,
        index_components=item.index_components,
        withdrawn=False,
    )


Change = tuple[Any, Any]  # (stored row or None, desired transient row)


def _differs(content: Callable[[Any], dict[str, Any]], stored: Any, desired: Any) -> bool:
    # Order is presentation: moving an item is not a change of the plan.
    a, b = content(stored), content(desired)
    a.pop("position")
    b.pop("position")
    return a != b


def _target_changes(
    stored: list[Target], doc: PlanDocument, plan_id: uuid.UUID, res: Resolution
) -> list[Change]:
    desired = [_target_row(t, i, plan_id, res) for i, t in enumerate(doc.targets)]
    return _changes(stored, desired, target_content)


def _task_changes(
    stored: list[Task], doc: PlanDocument, plan_id: uuid.UUID, res: Resolution
) -> list[Change]:
    desired = [_task_row(t, i, plan_id, res) for i, t in enumerate(doc.tasks)]
    return _changes(stored, desired, task_content)


def _changes(
    stored: list[Any], desired: list[Any], content: Callable[[Any], dict[str, Any]]
) -> list[Change]:
    by_key = {row.key: row for row in stored}
    changes: list[Change] = []
    for row in desired:
        old = by_key.pop(row.key, None)
        if old is None or _differs(content, old, row):
            changes.append((old, row))
        elif old.position != row.position:
            old.position = row.position
    for old in by_key.values():  # in the store, gone from the document: withdrawn
        if not old.withdrawn:
            gone = type(old)(**{f: getattr(old, f) for f in _fields_of(old)})
            gone.withdrawn = True
            changes.append((old, gone))
    return changes


def _fields_of(row: Any) -> tuple[str, ...]:
    return _TARGET_FIELDS if isinstance(row, Target) else _TASK_FIELDS


def _apply_targets(
    session: AsyncSession, plan: Plan, changes: list[Change], actor: str, reason: str | None
) -> list[CloudEvent]:
    events = []
    for old, new in changes:
        before = target_state(old) if old is not None else None
        row = _write(session, old, new, _TARGET_FIELDS)
        _audit(
            session,
            plan,
            row.id,
            "target",
            _action(old, new),
            actor,
            before,
            target_state(row),
            reason,
        )
        events.append(ev.target_upserted(row, plan))
    return events


async def _apply_tasks(
    session: AsyncSession, plan: Plan, changes: list[Change], actor: str, reason: str | None
) -> list[CloudEvent]:
    codes = await org_units.codes_by_id(session, [new.lead_org_unit_id for _, new in changes])
    events = []
    for old, new in changes:
        before = task_state(old) if old is not None else None
        row = _write(session, old, new, _TASK_FIELDS)
        if old is None:
            row.status, row.percent_complete = "not_started", 0
        _audit(
            session, plan, row.id, "task", _action(old, new), actor, before, task_state(row), reason
        )
        events.append(ev.task_assigned(row, plan, codes.get(row.lead_org_unit_id)))
    return events


def _write(session: AsyncSession, old: Any, new: Any, fields: tuple[str, ...]) -> Any:
    if old is None:
        new.id, new.version = uuid.uuid4(), 1
        session.add(new)
        return new
    for name in fields:
        setattr(old, name, getattr(new, name))
    old.version += 1
    return old


def _action(old: Any, new: Any) -> str:
    if old is None:
        return "created"
    return "withdrawn" if new.withdrawn and not old.withdrawn else "updated"


def _audit(
    session: AsyncSession,
    plan: Plan,
    entity_id: uuid.UUID,
    entity_type: str,
    action: str,
    actor: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    reason: str | None = None,
) -> None:
    audit.record(
        session,
        entity_type=entity_type,
        entity_id=entity_id,
        plan_id=plan.id,
        action=action,
        actor=actor,
        before=before,
        after=after,
        reason=reason,
    )


async def document_of(session: AsyncSession, plan: Plan) -> dict[str, Any]:
    """The stored plan in the document form (withdrawn targets and tasks left out)."""
    targets = [t for t in await plans.targets_of(session, plan.id) if not t.withdrawn]
    tasks = [t for t in await plans.tasks_of(session, plan.id) if not t.withdrawn]
    scope_ids = {t.scope_org_unit_id for t in targets if t.scope_org_unit_id}
    codes = await org_units.codes_by_id(session, scope_ids)
    return {
        "code": plan.code,
        "kind": plan.kind,
        "title": plan.title,
        "issuer": plan.issuer,
        "province": plan.province,
        "issued_on": plan.issued_on,
        "period": {"from": plan.period_from, "to": plan.period_to},
        "source": plan.source,
        "declared_counts": plan.declared_counts,
        "areas": list(plan.areas),
        "parent": plan.parent_code,
        "indices": plan.indices,
        "status": plan.status if plan.status != "closed" else None,
        "targets": [_target_doc(t, codes) for t in targets],
        "tasks": [_task_doc(t) for t in tasks],
    }


def _target_doc(target: Target, codes: dict[uuid.UUID, str]) -> dict[str, Any]:
    return {
        "key": target.key,
        "area": target.area,
        "text": target.text,
        "measure": target.measure,
        "op": target.op,
        "value": target.value,
        "unit": target.unit,
        "filter": target.filter,
        "due": target.due,
        "scope": codes.get(target.scope_org_unit_id) if target.scope_org_unit_id else None,
        "baseline": target.baseline,
        "index_components": target.index_components,
    }


def _task_doc(task: Task) -> dict[str, Any]:
    due: date | str | None = RECURRING if task.recurring else task.due
    return {
        "key": task.key,
        "area": task.area,
        "title": task.title,
        "lead": task.lead,
        "support": list(task.support),
        "due": due,
        "expected_output": task.expected_output,
        "index_components": task.index_components,
    }


async def close_plan(
    session: AsyncSession, plan_id: uuid.UUID, *, actor: str, reason: str | None
) -> Plan:
    plan = await plans.get(session, plan_id, for_update=True)
    if plan is None:
        raise NotFound("plan", plan_id)
    try:
        check_transition(plan.status, "closed")
    except LifecycleError as exc:
        raise conflict(exc) from exc
    if plan.status == "closed":
        return plan
    before = plan_state(plan)
    plan.status = "closed"
    plan.version += 1
    _audit(session, plan, plan.id, "plan", "closed", actor, before, plan_state(plan), reason)
    await session.flush()
    await ev.publish(session, ev.plan_closed(plan, reason))
    return plan
