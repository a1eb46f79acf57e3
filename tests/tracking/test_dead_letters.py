from datetime import timedelta

import pytest

from tests.tracking.factories import event
from tracking.models import DeadLetter, Journey, Stage, Transaction
from tracking.reprocess import reprocess

pytestmark = pytest.mark.django_db


def test_letters_are_recorded_once_their_journey_exists(ingest_client):
    ingest_client.post(
        "/api/v1/events",
        [
            event("kickoff", journey="onboarding", correlation_id="ONB-1", amount="75.00"),
            event("welcome_sent", journey="onboarding", correlation_id="ONB-1", hours=1),
        ],
        format="json",
    )
    assert DeadLetter.objects.filter(resolved_at__isnull=True).count() == 2

    report = reprocess(DeadLetter.objects.all())
    assert (report.recorded, report.still_waiting) == (0, 2)
    assert list(DeadLetter.objects.values_list("attempts", flat=True)) == [1, 1]

    journey = Journey.objects.create(slug="onboarding", name="Onboarding")
    Stage.objects.create(
        journey=journey, slug="kickoff", position=0, expected_duration=timedelta(hours=2)
    )
    Stage.objects.create(journey=journey, slug="welcome_sent", position=1)
    report = reprocess(DeadLetter.objects.all())
    assert (report.recorded, report.still_waiting) == (2, 0)
    assert not DeadLetter.objects.filter(resolved_at__isnull=True).exists()
    txn = Transaction.objects.get()
    assert (txn.correlation_id, txn.current_stage.slug, str(txn.amount), txn.event_count) == (
        "ONB-1",
        "welcome_sent",
        "75.00",
        2,
    )


def test_reprocess_command_reports_what_happened(ingest_client, capsys):
    from django.core.management import call_command

    ingest_client.post("/api/v1/events", event("kickoff", journey="onboarding"), format="json")
    call_command("reprocess_dead_letters")
    out = capsys.readouterr().out
    assert "Re-processing 1 waiting letter(s)" in out
    assert "0 recorded, 1 still cannot be placed" in out
