"""One action on many cases, each on its own: one refusal does not stop the others."""

from dataclasses import dataclass

from . import actions, replay
from .actors import Actor, NotAllowed
from .inputs import Conflict, Invalid, text
from .models import ExceptionCase

ACTIONS = ("assign", "acknowledge", "snooze", "resolve", "ignore", "replay")
MAX_CASES = 500


@dataclass(frozen=True)
class Outcome:
    case_id: int
    ok: bool
    detail: str


def run(actor: Actor, action: str, case_ids: list[int], **params) -> list[Outcome]:
    """Apply ``action`` to each case; invalid input for all raises Invalid before any runs."""
    actor.require("operate")
    if action not in ACTIONS:
        raise Invalid(f"Unknown action {action!r}; use one of {', '.join(ACTIONS)}.")
    ids = list(dict.fromkeys(case_ids))
    if not ids:
        raise Invalid("Select at least one case.")
    if len(ids) > MAX_CASES:
        raise Invalid(f"At most {MAX_CASES} cases at a time.")
    if action in ("resolve", "ignore", "replay"):
        text(params.get("reason"), "reason")
    outcomes = []
    for case_id in ids:
        try:
            detail = _one(actor, action, case_id, params)
            outcomes.append(Outcome(case_id, True, detail))
        except (Conflict, Invalid, NotAllowed) as exc:
            outcomes.append(Outcome(case_id, False, str(exc)))
        except ExceptionCase.DoesNotExist:
            outcomes.append(Outcome(case_id, False, f"There is no case {case_id}."))
    return outcomes


def _one(actor: Actor, action: str, case_id: int, params: dict) -> str:
    if action == "assign":
        case = actions.assign(actor, case_id, owner=params.get("owner"), team=params.get("team"))
        return f"owner {case.owner.get_username() if case.owner_id else 'nobody'}, team {case.team}"
    if action == "acknowledge":
        return actions.acknowledge(actor, case_id).status
    if action == "snooze":
        return actions.snooze(actor, case_id, params.get("until")).status
    if action == "resolve":
        return actions.resolve(actor, case_id, params.get("reason")).status
    if action == "ignore":
        return actions.ignore(actor, case_id, params.get("reason")).status
    made = replay.request(actor, case_id, params.get("reason"))
    return f"replay {made.pk} {made.status}"
