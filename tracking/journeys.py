"""In-process map of journeys and their stages, read on every ingest request.

Journeys change rarely (an admin edit); reloading them per request would cost a query each
time. The map is rebuilt when this process saves a journey or stage, and at most
JOURNEY_CACHE_SECONDS after another process did.
"""

import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta

from django.db.models.signals import post_delete, post_save

JOURNEY_CACHE_SECONDS = 15.0


@dataclass(frozen=True)
class StageInfo:
    id: int
    slug: str
    position: int
    expected_duration: timedelta | None


@dataclass(frozen=True)
class JourneyInfo:
    id: int
    slug: str
    stages: tuple[StageInfo, ...]
    by_slug: dict[str, StageInfo] = field(compare=False, hash=False)
    by_stage_id: dict[int, StageInfo] = field(default_factory=dict, compare=False, hash=False)

    def __post_init__(self) -> None:
        # Read per transaction on hot paths (the reconciliation of thousands at a time).
        self.by_stage_id.update({s.id: s for s in self.stages})

    @property
    def last_position(self) -> int:
        return len(self.stages) - 1

    def stage_by_id(self, stage_id: int | None) -> StageInfo | None:
        return self.by_stage_id.get(stage_id) if stage_id is not None else None


_lock = threading.Lock()
_cache: dict[str, object] = {"loaded_at": 0.0, "by_slug": {}, "by_id": {}}


def _load() -> None:
    from .models import Journey, Stage

    stages: dict[int, list[StageInfo]] = {}
    for stage in Stage.objects.order_by("journey_id", "position"):
        stages.setdefault(stage.journey_id, []).append(
            StageInfo(stage.id, stage.slug, 0, stage.expected_duration)
        )
    by_slug: dict[str, JourneyInfo] = {}
    for journey in Journey.objects.all():
        # Positions are re-numbered 0..n-1 so gaps left by admin edits do not matter.
        ordered = tuple(
            StageInfo(s.id, s.slug, index, s.expected_duration)
            for index, s in enumerate(stages.get(journey.id, []))
        )
        by_slug[journey.slug] = JourneyInfo(
            journey.id, journey.slug, ordered, {s.slug: s for s in ordered}
        )
    _cache["by_slug"] = by_slug
    _cache["by_id"] = {j.id: j for j in by_slug.values()}
    _cache["loaded_at"] = time.monotonic()


def _fresh() -> None:
    if time.monotonic() - float(_cache["loaded_at"]) > JOURNEY_CACHE_SECONDS:
        with _lock:
            if time.monotonic() - float(_cache["loaded_at"]) > JOURNEY_CACHE_SECONDS:
                _load()


def by_slug(slug: str) -> JourneyInfo | None:
    _fresh()
    return _cache["by_slug"].get(slug)  # type: ignore[union-attr]


def by_id(journey_id: int) -> JourneyInfo | None:
    _fresh()
    return _cache["by_id"].get(journey_id)  # type: ignore[union-attr]


def invalidate(**_: object) -> None:
    _cache["loaded_at"] = 0.0


def connect_cache_invalidation() -> None:
    from .models import Journey, Stage

    for model in (Journey, Stage):
        post_save.connect(invalidate, sender=model, dispatch_uid=f"journeys-{model.__name__}-save")
        post_delete.connect(
            invalidate, sender=model, dispatch_uid=f"journeys-{model.__name__}-delete"
        )
