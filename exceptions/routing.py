"""Who owns a new case: the first matching ownership rule, else the flow's owner team."""

from dataclasses import dataclass

from django.conf import settings

from .models import ExceptionCase, OwnershipRule


@dataclass(frozen=True)
class Route:
    team: str
    owner_id: int | None
    rule: OwnershipRule | None

    @property
    def why(self) -> str:
        if self.rule is None:
            return "no ownership rule matched: the flow's owner team"
        return f"ownership rule {self.rule.position}. {self.rule.name}"


class Router:
    """Rules loaded once, applied to many new cases (intake opens them in batches)."""

    def __init__(self) -> None:
        self.rules = list(OwnershipRule.objects.filter(enabled=True).select_related("owner"))

    def route(self, case: ExceptionCase, flow_team: str, stage_slug: str) -> Route:
        for rule in self.rules:
            if matches(rule, case, stage_slug):
                return Route(rule.team, rule.owner_id, rule)
        return Route(flow_team or settings.EXCEPTIONS_DEFAULT_TEAM, None, None)


def matches(rule: OwnershipRule, case: ExceptionCase, stage_slug: str) -> bool:
    if rule.journey_id is not None and rule.journey_id != case.journey_id:
        return False
    if rule.flow_id is not None and rule.flow_id != case.flow_id:
        return False
    checks = (
        (rule.stage, stage_slug),
        (rule.region, case.region),
        (rule.business_unit, case.business_unit),
        (rule.error_code, case.error_code),
    )
    if any(want and want != have for want, have in checks):
        return False
    if rule.min_amount is not None:
        return case.amount is not None and case.amount >= rule.min_amount
    return True
