"""Real workers with beat on Redis: a worker killed while sending an alert loses nothing,
and the team gets the message once.

The SMTP server sits on the first message (before accepting it) and the worker is killed
there; the SMTP transaction never completed, so nothing was delivered. The dead worker's
claim lapses after ALERT_LEASE_SECONDS and a live worker sends it.
"""

import pytest

from exceptions.models import Alert, Channel, Notification
from tests.worker import wait_for

from ..hooks import SmtpServer
from .helpers import failed_case

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.live]


def test_a_worker_killed_mid_send_delivers_exactly_once(ingest_client, flow, workers):
    with SmtpServer(hold=60) as server:
        env = {
            "EMAIL_HOST": "127.0.0.1",
            "EMAIL_PORT": str(server.port),
            "ALERT_LEASE_SECONDS": "3",
            "ALERTS_INTERVAL_SECONDS": "1",
        }
        Channel.objects.create(kind="email", team="billing", config={"address": "ops@example.com"})
        failed_case(ingest_client, "SOW-CRASH-MAIL")
        doomed = workers("doomed", beat=True, **env).start()
        wait_for(lambda: server.arrived, "the alert's email to reach the SMTP server", 60, doomed)
        doomed.kill()
        rescuer = workers("rescuer", beat=True, **env).start()
        wait_for(
            lambda: Alert.objects.filter(outcome="sent").exists(),
            "the alert to be sent",
            60,
            rescuer,
        )
        wait_for(lambda: server.messages, "the SMTP server to accept it", 10)

    assert server.arrived == 2  # begun twice: the dead worker's try, then the resend
    (got,) = server.messages  # delivered once
    assert "SOW-CRASH-MAIL" in got["message"]["Subject"]
    alert = Alert.objects.get()
    assert alert.attempts == 2
    assert Notification.objects.filter(alert=alert, ok=True).count() == 1
