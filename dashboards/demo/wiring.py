"""What the demo configures so every feature has somewhere to go: its users, each simulated
flow's replay endpoint and secret, each team's alert channels, the daily digest.

The exception queue's rows (channels, digest subscriptions) belong to the app above this
one: the demo names them (``apps.get_model``, ``call_command``) rather than importing it,
as ``compute_metrics`` names the tasks of the apps above.
"""

import io
import secrets
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.contrib.auth.models import User
from django.core.management import call_command

from tracking.models import Flow, FlowAPIKey
from tracking.roles import grant
from tracking.simulation.scenario import FLOWS

from .replay_receiver import FlowEnd

RECEIVER_KEY = "demo replay receiver"
# Two people, because a replay above REPLAY_APPROVAL_THRESHOLD needs a second operator.
USERS = {"admin": "admin", "ops": "operator"}


def users() -> dict[str, str]:
    """username -> password; made once, kept under var/ so a rerun can show them again."""
    return {name: _user(name, role) for name, role in USERS.items()}


def _user(username: str, role: str) -> str:
    path = Path(settings.VAR_DIR) / f"demo-{username}-password"
    user = User.objects.filter(username=username).first()
    if user is not None and path.exists():
        return path.read_text().strip()
    password = secrets.token_urlsafe(12)
    user = user or User(username=username, email=f"{username}@example.test")
    user.set_password(password)
    user.save()
    grant(user, role)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(password + "\n")
    path.chmod(0o600)
    return password


def replay_ends(url_for) -> dict[str, FlowEnd]:
    """Point every simulated flow's replays at the demo receiver, with a fresh secret, and
    give the receiver a key to report the re-run with (the previous run's is revoked)."""
    ends = {}
    for slug, (source, target, team, _) in FLOWS.items():
        secret = secrets.token_urlsafe(32)
        call_command(
            "set_flow",
            slug,
            # "=" because a random secret may begin with "-", which argparse would read
            # as the next option.
            f"--replay-url={url_for(slug)}",
            f"--replay-secret={secret}",
            stdout=io.StringIO(),
        )
        flow = Flow.objects.get(slug=slug)
        if not flow.owner_team:
            Flow.objects.filter(pk=flow.pk).update(
                owner_team=team, source_system=source, target_system=target
            )
        FlowAPIKey.objects.filter(flow=flow, name=RECEIVER_KEY, revoked=False).update(revoked=True)
        _, key = FlowAPIKey.objects.create_key(
            flow=flow, scopes=["ingest", "read"], name=RECEIVER_KEY
        )
        ends[slug] = FlowEnd(secret=secret, key=key)
    return ends


def teams() -> list[str]:
    return sorted({team for _, _, team, _ in FLOWS.values()})


def channels(slack_url_for) -> int:
    """An email and a Slack channel per demo team, to this run's sinks; returns how many
    were added (a rerun points the ones it added before at the new sinks)."""
    channel = apps.get_model("c2c_exceptions", "Channel")
    added = 0
    for team in teams():
        for kind, name, config in (
            ("email", "demo mail sink", {"address": f"{team}@example.test"}),
            ("slack", "demo Slack sink", {"url": slack_url_for(team)}),
        ):
            kept = channel.objects.filter(team=team, kind=kind, name=name)
            if kept.exists():
                kept.update(config=config, enabled=True, disabled_reason="")
                continue
            target = config.get("address") or config["url"]
            call_command(
                "add_channel", kind, target, "--team", team, "--name", name, stdout=io.StringIO()
            )
            added += 1
    return added


def digest(username: str) -> None:
    """Subscribe the user to the daily digest (the overview's "Email me a daily digest")."""
    subscription = apps.get_model("c2c_exceptions", "DigestSubscription")
    subscription.objects.get_or_create(user=User.objects.get(username=username))
