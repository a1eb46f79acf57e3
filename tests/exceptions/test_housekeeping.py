"""What beat does every few seconds: snoozes end, unconfirmed replays fail, due ones resend."""

from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from audit.models import AuditEntry
from exceptions import actions, replay
from exceptions.actors import Actor
from exceptions.models import ReplayStatus

from ..receiver import Receiver
from .helpers import failed_case

pytestmark = pytest.mark.django_db


def test_a_snooze_ends_and_the_case_comes_back(ingest_client, flow, operator):
    case = failed_case(ingest_client, "SOW-1")
    actions.snooze(Actor.of(operator), case.pk, timezone.now() + timedelta(hours=1))
    assert actions.wake_snoozed() == 0
    assert actions.wake_snoozed(timezone.now() + timedelta(hours=2)) == 1
    case.refresh_from_db()
    assert (case.status, case.snoozed_until) == ("open", None)
    assert AuditEntry.objects.filter(case_id=case.pk, action="wake").exists()


@override_settings(REPLAY_CONFIRM_SECONDS=3600)
def test_a_sent_replay_the_flow_never_confirms_fails_in_the_end(ingest_client, flow, operator):
    with Receiver("s") as rx:
        flow.replay_url, flow.replay_secret = rx.url, "s"
        flow.save()
        case = failed_case(ingest_client, "SOW-1")
        made = replay.request(Actor.of(operator), case.pk, "retry")
        replay.send(made.pk)
    assert replay.expire_unconfirmed() == 0
    assert replay.expire_unconfirmed(timezone.now() + timedelta(hours=2)) == 1
    made.refresh_from_db()
    assert made.status == ReplayStatus.FAILED and "did not report" in made.last_error
    # The stage can be replayed again now.
    assert replay.judge(case).allowed


@override_settings(REPLAY_RETRY_SECONDS=60)
def test_due_lists_retries_once_their_time_comes(ingest_client, flow, operator):
    with Receiver("s", statuses=[503]) as rx:
        flow.replay_url, flow.replay_secret = rx.url, "s"
        flow.save()
        case = failed_case(ingest_client, "SOW-1")
        made = replay.request(Actor.of(operator), case.pk, "retry")
        assert replay.due() == [str(made.pk)]  # never sent: its enqueue may have been lost
        assert replay.send(made.pk).outcome == "retry"
        assert replay.due() == []
        assert replay.due(timezone.now() + timedelta(minutes=2)) == [str(made.pk)]
