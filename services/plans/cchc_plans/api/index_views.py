"""Index rows to response bodies."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from cchc_plans.api.index_schemas import (
    AnalysisOut,
    ChangeOut,
    FigureBrief,
    FrameworkDetail,
    FrameworkOut,
    LinkedTargetOut,
    LinkedTaskOut,
    LinkOut,
    LossOut,
    NodeOut,
    PreviousOut,
    RankOut,
    ResultDetail,
    ResultOut,
    ScoreOut,
    UnitOut,
    ViaOut,
)
from cchc_plans.domain.index_analysis import Rank, changes, weakest
from cchc_plans.domain.tasks import is_overdue
from cchc_plans.service.index_analysis import Standing
from cchc_plans.service.index_links import LinkedItem
from cchc_plans.store.models import (
    IndexFramework,
    IndexLink,
    OrgUnit,
    ReportedFigure,
    Target,
    Task,
)


def num(value: Decimal | None) -> float | None:
    return float(value) if value is not None else None


def framework_out(fw: IndexFramework) -> FrameworkOut:
    doc = fw.document
    return FrameworkOut(
        id=fw.id,
        code=fw.code,
        version=fw.version,
        name=fw.name,
        name_en=doc.get("name_en"),
        issuer=doc.get("issuer"),
        basis=doc.get("basis"),
        source_url=doc.get("source_url"),
        valid_from_year=fw.valid_from_year,
        valid_to_year=fw.valid_to_year,
        unit_levels=fw.unit_levels,
        max_score=num(fw.max_score),
        note=doc.get("note"),
        source=fw.source,
        revision=fw.revision,
        created_at=fw.created_at,
        updated_at=fw.updated_at,
    )


def framework_detail(fw: IndexFramework) -> FrameworkDetail:
    nodes = [NodeOut.model_validate(n) for n in fw.document["nodes"]]
    return FrameworkDetail(**framework_out(fw).model_dump(), nodes=nodes)


def unit_out(unit: OrgUnit) -> UnitOut:
    return UnitOut(
        id=unit.id,
        code=unit.code,
        name=unit.name,
        level=unit.level,
        province=unit.province,
    )


def rank_out(rank: Rank | None) -> RankOut | None:
    return RankOut(rank=rank.rank, of=rank.of, basis=rank.basis) if rank else None


def result_out(s: Standing, fw: IndexFramework, unit: OrgUnit) -> ResultOut:
    r = s.result
    return ResultOut(
        id=r.id,
        framework_code=fw.code,
        framework_version=fw.version,
        framework_id=fw.id,
        year=r.year,
        org_unit=unit_out(unit),
        level=r.level,
        total=num(s.total.value),
        total_basis=s.total.basis,
        total_provisional=s.total.provisional,
        max_total=num(fw.max_score),
        published_total=num(r.published_total),
        published_rank=r.published_rank,
        rank_of=r.rank_of,
        note=r.note,
        revision=r.revision,
        loaded_by=r.loaded_by,
        updated_at=r.updated_at,
    )


def result_detail(s: Standing, fw: IndexFramework, unit: OrgUnit) -> ResultDetail:
    by_code = {c.code: c for c in s.components}
    scores = []
    for stored in s.scores:
        component = by_code.get(stored.component)
        effective = s.effective.get(stored.component)
        scores.append(
            ScoreOut(
                component=stored.component,
                name=component.name if component else None,
                depth=component.depth if component else None,
                max_score=num(component.max_score) if component else None,
                self_assessed=num(stored.self_assessed),
                appraised=num(stored.appraised),
                survey=num(stored.survey),
                published_score=num(stored.score),
                score=num(effective.value) if effective else None,
                score_basis=effective.basis if effective else None,
                provisional=effective.provisional if effective else False,
                evidence=list(stored.evidence),
                note=stored.note,
            )
        )
    return ResultDetail(
        **result_out(s, fw, unit).model_dump(), rank=rank_out(s.rank), scores=scores
    )


def analysis_out(
    now: Standing,
    fw: IndexFramework,
    unit: OrgUnit,
    before: tuple[Standing, IndexFramework] | None,
    depth: int | None,
    limit: int,
) -> AnalysisOut:
    losses = weakest(now.components, now.effective, depth)
    known = {loss.component.code for loss in losses}
    unknown_max = [
        c.code
        for c in now.components
        if (depth is None or c.depth == depth)
        and c.code not in known
        and now.effective[c.code].value is not None
    ]
    moved = changes(now.components, now.effective, before[0].effective, depth) if before else []
    previous = before[0] if before else None
    total_change = (
        num(now.total.value - previous.total.value)
        if previous and now.total.value is not None and previous.total.value is not None
        else None
    )
    rank_change = (
        previous.rank.rank - now.rank.rank if previous and previous.rank and now.rank else None
    )
    return AnalysisOut(
        framework_code=fw.code,
        framework_version=fw.version,
        year=now.result.year,
        result_id=now.result.id,
        org_unit=unit_out(unit),
        total=num(now.total.value),
        total_basis=now.total.basis,
        total_provisional=now.total.provisional,
        max_total=num(fw.max_score),
        rank=rank_out(now.rank),
        previous=_previous(before),
        total_change=total_change,
        rank_change=rank_change,
        depth=depth,
        weakest=[
            LossOut(
                code=x.component.code,
                name=x.component.name,
                depth=x.component.depth,
                max_score=float(x.component.max_score or 0),
                score=float(x.score),
                lost=float(x.lost),
                lost_share=round(float(x.lost_share), 4),
            )
            for x in losses[:limit]
        ],
        changes=[
            ChangeOut(
                code=x.component.code,
                name=x.component.name,
                depth=x.component.depth,
                score=float(x.score),
                previous_score=float(x.previous),
                change=float(x.change),
            )
            for x in moved[:limit]
        ],
        without_maximum=unknown_max,
    )


def _previous(before: tuple[Standing, IndexFramework] | None) -> PreviousOut | None:
    if before is None:
        return None
    s, fw = before
    return PreviousOut(
        year=s.result.year,
        result_id=s.result.id,
        framework_version=fw.version,
        total=num(s.total.value),
        rank=rank_out(s.rank),
    )


def _via(item: LinkedItem) -> list[ViaOut]:
    return [
        ViaOut(source=v.source, component=v.component, link_id=v.link_id, note=v.note)
        for v in item.via
    ]


def linked_task_out(item: LinkedItem, today: date) -> LinkedTaskOut:
    task, plan = item.item, item.plan
    assert isinstance(task, Task)
    return LinkedTaskOut(
        id=task.id,
        plan_id=plan.id,
        plan_code=plan.code,
        province=plan.province,
        key=task.key,
        title=task.title,
        lead=task.lead,
        lead_org_unit_id=task.lead_org_unit_id,
        due=task.due,
        recurring=task.recurring,
        status=task.status,
        percent_complete=task.percent_complete,
        overdue=is_overdue(
            due=task.due,
            status=task.status,
            withdrawn=task.withdrawn,
            plan_status=plan.status,
            today=today,
        ),
        via=_via(item),
    )


def linked_target_out(item: LinkedItem, figure: ReportedFigure | None) -> LinkedTargetOut:
    target, plan = item.item, item.plan
    assert isinstance(target, Target)
    reported = target.measure == "reported"
    status = None
    if reported:
        status = "no_figure" if figure is None else "met" if _meets(target, figure) else "not_met"
    return LinkedTargetOut(
        id=target.id,
        plan_id=plan.id,
        plan_code=plan.code,
        province=plan.province,
        key=target.key,
        text=target.text,
        measure=target.measure,
        op=target.op,
        value=float(target.value),
        unit=target.unit,
        effective_due=target.due or plan.period_to,
        plan_status=plan.status,
        status=status,
        latest_figure=(
            FigureBrief(
                period=figure.period, value=float(figure.value), reported_at=figure.reported_at
            )
            if figure
            else None
        ),
        via=_via(item),
    )


def _meets(target: Target, figure: ReportedFigure) -> bool:
    return figure.value >= target.value if target.op == ">=" else figure.value <= target.value


def link_out(link: IndexLink, items: dict[tuple[str, str, str, str], Task | Target]) -> LinkOut:
    item = items.get((link.item_kind, link.plan_province, link.plan_code, link.item_key))
    return LinkOut(
        id=link.id,
        framework_code=link.framework_code,
        component=link.component,
        item_kind=link.item_kind,
        task_id=item.id if item is not None and link.item_kind == "task" else None,
        target_id=item.id if item is not None and link.item_kind == "target" else None,
        plan_province=link.plan_province,
        plan_code=link.plan_code,
        item_key=link.item_key,
        note=link.note,
        source=link.source,
        created_by=link.created_by,
        created_at=link.created_at,
    )
