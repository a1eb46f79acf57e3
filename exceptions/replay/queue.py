"""The Celery task that sends a replay, and the message that announces one."""

from celery import shared_task
from django.db import transaction

from . import sending


# Named as it was when it lived in exceptions.tasks: messages already queued keep working.
@shared_task(
    bind=True, acks_late=True, ignore_result=True, max_retries=None,
    name="exceptions.tasks.send_replay",
)  # fmt: skip
def send_replay(self, replay_id: str) -> str:
    attempt = sending.send(replay_id)
    if not attempt.done and not self.request.is_eager:
        # The beat's housekeeping also resends due replays: a lost retry delays, never drops.
        raise self.retry(countdown=attempt.retry_in)
    return attempt.outcome


def enqueue(replay_id: object) -> None:
    """Announce a replay to the workers once the transaction that made it commits.

    robust: with the broker down, the replay is still recorded and the request still
    answers; beat's housekeeping sends due replays that no message announced.
    """
    transaction.on_commit(lambda: send_replay.delay(str(replay_id)), robust=True)
