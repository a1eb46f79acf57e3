"""The exceptions API: the queue for machines, with the same rules as the page."""

from django.db.models import Prefetch
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.response import Response

from tracking.api.auth import CanOperate, CanRead
from tracking.api.pagination import Cursor

from .. import actions, bulk_actions, replay
from ..actors import Actor, NotAllowed
from ..filtersets import CaseFilterSet
from ..inputs import Conflict, Invalid
from ..models import ExceptionCase, Replay
from .serializers import (
    AssignIn,
    BulkIn,
    CaseDetailSerializer,
    CaseSerializer,
    NoteIn,
    ReasonIn,
    ReplaySerializer,
    SnoozeIn,
)


class Conflicted(ValidationError):
    status_code = status.HTTP_409_CONFLICT


def _run(work):
    """Domain errors as HTTP: 400 bad input, 403 not allowed, 404 unknown, 409 wrong state."""
    try:
        return work()
    except Invalid as exc:
        raise ValidationError({"detail": str(exc)}) from exc
    except NotAllowed as exc:
        raise PermissionDenied(str(exc)) from exc
    except Conflict as exc:
        raise Conflicted({"detail": str(exc)}) from exc
    except (ExceptionCase.DoesNotExist, Replay.DoesNotExist) as exc:
        raise NotFound() from exc


def _body(serializer_class, request) -> dict:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class CaseViewSet(viewsets.ReadOnlyModelViewSet):
    """Exception cases, newest first; filter by status, correlation_id, flow, owner, team."""

    filterset_class = CaseFilterSet
    pagination_class = Cursor
    queryset = ExceptionCase.objects.select_related(
        "journey", "stage", "flow", "owner"
    ).prefetch_related(Prefetch("replays", Replay.objects.select_related("stage", "flow")))

    def get_permissions(self):
        return [CanRead()] if self.action in ("list", "retrieve") else [CanOperate()]

    def get_serializer_class(self):
        return CaseSerializer if self.action == "list" else CaseDetailSerializer

    def _answer(self, case_id: int, code: int = status.HTTP_200_OK, **extra) -> Response:
        case = self.get_queryset().get(pk=case_id)
        return Response({**CaseDetailSerializer(case).data, **extra}, status=code)

    def _act(self, request, pk, work) -> Response:
        case_id = _case_id(pk)
        _run(lambda: work(Actor.of(request.user), case_id))
        return self._answer(case_id)

    @extend_schema(request=AssignIn, responses=CaseDetailSerializer)
    @action(detail=True, methods=["post"])
    def assign(self, request, pk=None):
        body = _body(AssignIn, request)
        return self._act(
            request,
            pk,
            lambda a, c: actions.assign(a, c, owner=body.get("owner"), team=body.get("team")),
        )

    @extend_schema(request=None, responses=CaseDetailSerializer)
    @action(detail=True, methods=["post"])
    def acknowledge(self, request, pk=None):
        return self._act(request, pk, actions.acknowledge)

    @extend_schema(request=SnoozeIn, responses=CaseDetailSerializer)
    @action(detail=True, methods=["post"])
    def snooze(self, request, pk=None):
        body = _body(SnoozeIn, request)
        return self._act(request, pk, lambda a, c: actions.snooze(a, c, body["until"]))

    @extend_schema(request=ReasonIn, responses=CaseDetailSerializer)
    @action(detail=True, methods=["post"])
    def resolve(self, request, pk=None):
        body = _body(ReasonIn, request)
        return self._act(request, pk, lambda a, c: actions.resolve(a, c, body["reason"]))

    @extend_schema(request=ReasonIn, responses=CaseDetailSerializer)
    @action(detail=True, methods=["post"])
    def ignore(self, request, pk=None):
        body = _body(ReasonIn, request)
        return self._act(request, pk, lambda a, c: actions.ignore(a, c, body["reason"]))

    @extend_schema(request=None, responses=CaseDetailSerializer)
    @action(detail=True, methods=["post"])
    def reopen(self, request, pk=None):
        return self._act(request, pk, actions.reopen)

    @extend_schema(request=NoteIn, responses=CaseDetailSerializer)
    @action(detail=True, methods=["post"])
    def notes(self, request, pk=None):
        body = _body(NoteIn, request)
        return self._act(request, pk, lambda a, c: actions.add_note(a, c, body["body"]))

    @extend_schema(request=ReasonIn, responses={202: CaseDetailSerializer})
    @action(detail=True, methods=["post"])
    def replay(self, request, pk=None):
        """Ask the flow to run this case's stage again. 409 with the reason when refused."""
        body = _body(ReasonIn, request)
        case_id = _case_id(pk)
        made = _run(lambda: replay.request(Actor.of(request.user), case_id, body["reason"]))
        return self._answer(case_id, status.HTTP_202_ACCEPTED, replay=ReplaySerializer(made).data)

    @extend_schema(request=BulkIn, responses={200: dict})
    @action(detail=False, methods=["post"])
    def bulk(self, request):
        """One action on many cases. With ``dry_run`` (replay only), a preview: nothing runs."""
        body = _body(BulkIn, request)
        if body["action"] == "replay" and body["dry_run"]:
            verdicts = replay.preview(body["ids"])
            return Response(
                {
                    "dry_run": True,
                    "cases": [
                        {
                            "id": v.case.pk,
                            "would_replay": v.allowed,
                            "needs_approval": v.needs_approval,
                            "refusal": v.refusal,
                        }
                        for v in verdicts
                    ],
                }
            )
        params = {k: body[k] for k in ("owner", "team", "until", "reason") if k in body}
        outcomes = _run(
            lambda: bulk_actions.run(Actor.of(request.user), body["action"], body["ids"], **params)
        )
        return Response(
            {"results": [{"id": o.case_id, "ok": o.ok, "detail": o.detail} for o in outcomes]}
        )


def _case_id(pk) -> int:
    try:
        return int(pk)
    except (TypeError, ValueError):
        raise NotFound() from None


class ReplayViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Replays, newest first; approve or reject those awaiting a second operator."""

    serializer_class = ReplaySerializer
    pagination_class = Cursor
    queryset = Replay.objects.select_related("stage", "flow")
    filterset_fields = ["status", "correlation_id"]

    def get_permissions(self):
        return [CanRead()] if self.action in ("list", "retrieve") else [CanOperate()]

    def get_object(self):
        replay_id = _run(lambda: replay.parse_id(self.kwargs["pk"]))
        return _run(lambda: self.get_queryset().get(pk=replay_id))

    @extend_schema(request=None, responses=ReplaySerializer)
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        made = _run(lambda: replay.approve(Actor.of(request.user), replay.parse_id(pk)))
        return Response(ReplaySerializer(made).data)

    @extend_schema(request=ReasonIn, responses=ReplaySerializer)
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        body = _body(ReasonIn, request)
        made = _run(
            lambda: replay.reject(Actor.of(request.user), replay.parse_id(pk), body["reason"])
        )
        return Response(ReplaySerializer(made).data)
