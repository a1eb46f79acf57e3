"""The daily digest for finance: revenue at risk and its change, SLA adherence, and the ten
largest stuck transactions, by email to each user who opted in, once a day."""

import logging
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from dashboards.summary import cached_summary, series
from tracking.models import Transaction, TransactionStatus
from tracking.roles import user_scopes

from .models import DigestSubscription

log = logging.getLogger(__name__)
WINDOW = "1d"


def compose(now: datetime) -> dict:
    """What every digest of this run says (the same for each reader)."""
    summary = cached_summary(WINDOW, {}, now)
    risk = Decimal(summary["revenue_at_risk"]["amount"])
    history = series("revenue_at_risk", WINDOW, {}, now)["series"]
    points = history[0]["points"] if history else []
    change = risk - Decimal(str(points[0]["value"] or 0)) if points else None
    stuck = (
        Transaction.objects.filter(state__status=TransactionStatus.STUCK, amount__isnull=False)
        .select_related("current_stage", "state")
        .order_by("-amount", "id")[:10]
    )
    base = settings.C2C_BASE_URL
    return {
        "currency": summary["currency"],
        "risk": risk,
        "change": change,
        "by_reason": summary["revenue_at_risk"]["by_reason"],
        "sla": summary["sla"],
        "stuck": [
            {
                "correlation_id": t.correlation_id,
                "amount": t.amount,
                "currency": t.currency,
                "stage": t.current_stage.slug if t.current_stage_id else "",
                "since": t.next_deadline_at,
                "link": f"{base}/transactions/{t.correlation_id}/",
            }
            for t in stuck
        ],
        "stuck_count": summary["stuck_count"],
        "overview": f"{base}/",
        "date": now.date(),
    }


def send_due(now: datetime | None = None) -> int:
    """A digest to each subscriber not yet sent one today (UTC), after DIGEST_HOUR."""
    now = now or timezone.now()
    if now.hour < settings.DIGEST_HOUR:
        return 0
    today = now.date()
    if not DigestSubscription.objects.exclude(last_sent_on=today).exists():
        return 0
    # Read before any transaction: the figures' reads take one snapshot of their own.
    content = compose(now)
    sent = 0
    tried: list[int] = []
    while True:
        before = len(tried)
        try:
            with transaction.atomic():
                # One subscriber at a time, locked: two workers never mail one person twice.
                sub = (
                    DigestSubscription.objects.select_for_update(skip_locked=True)
                    .select_related("user")
                    .exclude(last_sent_on=today)
                    .exclude(pk__in=tried)
                    .order_by("pk")
                    .first()
                )
                if sub is None:
                    return sent
                tried.append(sub.pk)
                user = sub.user
                if user.is_active and user.email and "read" in user_scopes(user):
                    mail(user.email, content)
                    sent += 1
                sub.last_sent_on = today
                sub.save(update_fields=["last_sent_on"])
        except Exception:  # not marked sent: the next run tries again
            if len(tried) == before:
                raise  # not one subscriber's mail (the database, say): stop here
            # One refused address must not hold back everyone after it.
            log.exception("digest: could not send to subscriber %s", tried[-1] if tried else "?")


def mail(address: str, content: dict) -> None:
    subject = (
        f"[c2c-ops] {content['date']:%a %d %b}: {content['risk']:,.0f} {content['currency']} "
        f"at risk, {content['stuck_count']} stuck"
    )
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string("exceptions/alerts/digest.txt", content),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[address],
    )
    message.attach_alternative(
        render_to_string("exceptions/alerts/digest.html", content), "text/html"
    )
    message.send()
