"""What the demo configures so every feature has somewhere to go: its users, and each
simulated flow's replay endpoint and secret."""

import io
import secrets
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import Group, User
from django.core.management import call_command

from tracking.models import Flow, FlowAPIKey
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
    user.is_staff = user.is_superuser = role == "admin"
    user.set_password(password)
    user.save()
    user.groups.add(Group.objects.get(name=role))
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
            "--replay-url",
            url_for(slug),
            "--replay-secret",
            secret,
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
