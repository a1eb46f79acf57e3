"""`manage.py demo`: what it starts answers like the real thing, its risk history follows the
ledger's past, and stopping it (SIGTERM like Ctrl-C) leaves no process behind."""

import json
import os
import signal
import smtplib
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from decimal import Decimal
from email.message import EmailMessage
from pathlib import Path

import httpx
import pytest
from django.db.models import Sum
from django.utils import timezone

from dashboards.demo import history, wiring
from dashboards.demo.processes import Children
from dashboards.demo.replay_receiver import FlowEnd, ReplayReceiver, signature_ok
from dashboards.demo.sinks import MailSink, SlackSink
from dashboards.models import RiskSnapshot, RiskSnapshotTaken
from exceptions import signing
from tests.server import ROOT, free_port
from tracking.models import Flow

from .helpers import report, step

MANAGE = [sys.executable, "manage.py"]


def test_the_receiver_checks_signatures_as_c2c_ops_makes_them():
    body = b'{"replay_id": "r-1"}'
    assert signature_ok(body, signing.sign(body, "s3cret"), "s3cret")
    assert not signature_ok(body, signing.sign(body, "other"), "s3cret")
    assert not signature_ok(body + b" ", signing.sign(body, "s3cret"), "s3cret")
    stale = signing.sign(body, "s3cret", timestamp=int(time.time()) - 3600)
    assert not signature_ok(body, stale, "s3cret")
    assert not signature_ok(body, "garbage", "s3cret")


def test_the_replay_receiver_refuses_what_a_flow_would(tmp_path):
    # Nothing listens on the app's URL: accepted replays are logged as unreported.
    receiver = ReplayReceiver(
        f"http://127.0.0.1:{free_port()}",
        {"billing-to-erp": FlowEnd(secret="s3cret", key="k")},
        tmp_path / "replays.log",
    ).start()
    try:
        url = receiver.url_for("billing-to-erp")
        replay_id = str(uuid.uuid4())
        body = json.dumps({"replay_id": replay_id, "correlation_id": "INV-1"}).encode()

        def post(target=url, signed_with="s3cret", key=replay_id):
            headers = {"C2C-Signature": signing.sign(body, signed_with), "Idempotency-Key": key}
            return httpx.post(target, content=body, headers=headers).status_code

        assert post(signed_with="wrong") == 401
        assert post(key="another") == 400
        assert post(target=receiver.url_for("no-such-flow")) == 404
        assert post() == 202
        assert post() == 200  # a resend of a replay already taken: acknowledged, not re-run
        log = (tmp_path / "replays.log").read_text()
        assert "refused: bad or stale signature" in log
        assert log.count(f": accepted replay {replay_id}") == 1
    finally:
        receiver.stop()


def test_the_sinks_keep_what_they_receive_as_files(tmp_path):
    slack = SlackSink(tmp_path / "slack").start()
    mail = MailSink(tmp_path / "mail").start()
    try:
        url = slack.url_for("billing-ops")
        answer = httpx.post(url, json={"text": "hello", "blocks": []})
        assert (answer.status_code, answer.text) == (200, "ok")  # as Slack answers
        assert httpx.post(url, json={"blocks": []}).text == "no_text"
        kept = [json.loads(p.read_text()) for p in (tmp_path / "slack").iterdir()]
        assert [m["text"] for m in kept] == ["hello"]

        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = "a@x.test", "b@x.test", "Alert"
        message.set_content("money is stuck")
        with smtplib.SMTP("127.0.0.1", mail.port, timeout=10) as smtp:
            smtp.send_message(message)
        (saved,) = (tmp_path / "mail").glob("*.eml")
        text = saved.read_text()
        assert "X-Demo-Envelope-To: b@x.test" in text and "Subject: Alert" in text
    finally:
        slack.stop()
        mail.stop()


def test_stopping_children_reaches_their_groups_and_kills_the_stubborn(tmp_path):
    children = Children(str(tmp_path), os.environ)
    # A child that starts a grandchild, and one that ignores SIGTERM.
    children.start("pair", ["sh", "-c", "sleep 300 & wait"])
    children.start("stubborn", ["sh", "-c", "trap '' TERM; sleep 300 & wait"])
    time.sleep(0.5)
    groups = [p.pid for _, p in children.started]
    assert all(_group_members(g) for g in groups)

    killed = children.stop(grace=2)

    assert killed == ["stubborn"]
    assert [g for g in groups if _group_members(g)] == []


@pytest.mark.django_db
def test_a_replay_secret_that_starts_with_a_dash_still_reaches_its_flow(monkeypatch):
    # token_urlsafe begins with "-" one time in 64: the demo once failed to start on it.
    monkeypatch.setattr(wiring.secrets, "token_urlsafe", lambda n: "-starts-with-a-dash")
    ends = wiring.replay_ends(lambda slug: f"http://127.0.0.1:9/replay/{slug}")
    assert ends
    for slug, end in ends.items():
        flow = Flow.objects.get(slug=slug)
        assert end.secret == flow.replay_secret == "-starts-with-a-dash"
        assert flow.replay_url == f"http://127.0.0.1:9/replay/{slug}"


@pytest.mark.django_db
def test_the_risk_history_follows_each_transaction_through_its_past(ingest_client, flow):
    now = timezone.now().replace(minute=30, second=0, microsecond=0)
    day = timedelta(days=1)
    usd = {"amount": "1000.00", "currency": "USD"}
    report(
        ingest_client,
        # Failed 9 days ago, retried with success 5 days ago, now waiting for payment.
        step("INV-R", "work_approved", now - 10 * day, **usd),
        step("INV-R", "invoice_generated", now - 9 * day, status="failed"),
        step("INV-R", "invoice_generated", now - 5 * day),
        step("INV-R", "invoice_posted", now - 5 * day + timedelta(hours=1)),
        # Approved 6 days ago and never invoiced: due 4 days ago (2 days), stuck since.
        step("INV-S", "work_approved", now - 6 * day, **{**usd, "amount": "300.00"}),
    )

    written = history.rebuild(now - 12 * day, now)

    assert written == 12 * 24
    assert RiskSnapshotTaken.objects.filter(hourly=True).count() == written
    assert _at(now - 11 * day) == {}
    assert _at(now - 7 * day) == {"failed": Decimal("1000.00")}
    assert _at(now - 4 * day - timedelta(hours=12)) == {"soon": Decimal("300.00")}
    assert _at(now - 3 * day) == {"stuck": Decimal("300.00")}
    # Failed 9 days ago, seen 7 days ago: aged "1-3 days", as the live snapshot buckets it.
    ages = RiskSnapshot.objects.filter(taken_at=_hour(now - 7 * day), reason="failed")
    assert list(ages.values_list("age", flat=True)) == ["1d_3d"]
    # Hours that already have a snapshot are kept as they are.
    assert history.rebuild(now - 12 * day, now) == 0


def _hour(moment):
    return moment.replace(minute=0, second=0, microsecond=0)


def _at(moment) -> dict:
    rows = (
        RiskSnapshot.objects.filter(taken_at=_hour(moment), count__gt=0)
        .values("reason")
        .annotate(total=Sum("amount"))
    )
    return {row["reason"]: row["total"] for row in rows}


def _group_members(pgid: int) -> list[int]:
    """Live (not zombie) processes of a process group, from /proc."""
    return [pid for pid, (group, state) in _processes().items() if group == pgid and state != "Z"]


def _processes() -> dict[int, tuple[int, str]]:
    found = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            fields = Path(f"/proc/{name}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        found[int(name)] = (int(fields[2]), fields[0])
    return found


def _descendants(root: int) -> set[int]:
    parents = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                fields = Path(f"/proc/{name}/stat").read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            parents[int(name)] = int(fields[1])
    found, frontier = set(), {root}
    while frontier:
        frontier = {pid for pid, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def _alive(pids: set[int]) -> set[int]:
    processes = _processes()
    return {pid for pid in pids if pid in processes and processes[pid][1] != "Z"}


@pytest.mark.live
def test_the_demo_answers_a_replay_and_leaves_nothing_behind_on_sigterm(tmp_path):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        # The demo's own embedded setup, apart from the suite's database and broker.
        "DATABASE_URL": f"sqlite:///{tmp_path}/demo.sqlite3",
        "C2C_VAR_DIR": str(tmp_path / "var"),
        "CELERY_BROKER_URL": "filesystem://",
        "CACHE_URL": "",
        "EXCEPTIONS_INTERVAL_SECONDS": "2",
        "ALERTS_INTERVAL_SECONDS": "2",
        "LOG_LEVEL": "WARNING",
    }
    out = tmp_path / "demo.out"
    with out.open("wb") as sink:
        demo = subprocess.Popen(
            [*MANAGE, "demo", "--port", str(port), "--per-day", "2", "--no-live"],
            cwd=ROOT,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    spawned: set[int] = set()
    try:
        _wait_for(lambda: "c2c-ops is up" in out.read_text(), 120, out)
        assert httpx.get(f"{url}/healthz").status_code == 200
        spawned = _descendants(demo.pid)
        assert len(spawned) >= 4  # gunicorn and its workers, celery and its beat

        key = (
            subprocess.run(
                [*MANAGE, "create_api_key", "billing-to-erp", "--scopes", "ingest,read,operate"],
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
                check=True,
            )
            .stdout.strip()
            .splitlines()[-1]
        )
        api = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=10)
        cid = f"INV-DEMO-{uuid.uuid4().hex[:8]}"
        now = timezone.now()
        failed = api.post(
            "/api/v1/events",
            json=[
                _event(cid, "work_approved", "succeeded", now - timedelta(hours=3)),
                _event(cid, "invoice_generated", "failed", now - timedelta(hours=2)),
            ],
        )
        assert failed.status_code == 202 and failed.json()["accepted"] == 2

        case = _wait_for(lambda: _case(api, cid), 60, out)
        # Dated from the failure, not from when the demo's intake read it.
        assert case["opened_at"].startswith(_iso(now - timedelta(hours=2))[:16])
        asked = api.post(f"/api/v1/exceptions/{case['id']}/replay", json={"reason": "demo"})
        assert asked.status_code in (200, 201, 202), asked.text

        settled = _wait_for(lambda: _settled(api, cid), 60, out)
        assert settled["status"] == "resolved"
        assert [r["status"] for r in settled["replays"]] == ["succeeded"]
        log = (tmp_path / "var" / "demo-replays.log").read_text()
        assert f"{cid} invoice_generated: re-ran, reported 202" in log
        # The case's alert went to the team's mail sink.
        _wait_for(lambda: any(cid in p.read_text() for p in _mails(tmp_path)), 30, out)
    finally:
        demo.send_signal(signal.SIGTERM)
        try:
            code = demo.wait(timeout=60)
        except subprocess.TimeoutExpired:
            demo.kill()
            code = None
        left = _alive(spawned)
        for pid in left:
            os.kill(pid, signal.SIGKILL)

    assert code == 0, out.read_text()[-3000:]
    assert left == set(), out.read_text()[-3000:]
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{url}/healthz", timeout=2)


def _event(cid: str, stage: str, status: str, when) -> dict:
    event = {
        "event_id": f"{cid}-{stage}-{status}",
        "correlation_id": cid,
        "journey": "billing",
        "stage": stage,
        "status": status,
        "occurred_at": _iso(when),
        "amount": "500.00",  # under REPLAY_APPROVAL_THRESHOLD: no second person needed
        "currency": "USD",
    }
    if status == "failed":
        event["error"] = {"code": "ERP-500", "message": "ERP timed out"}
    return event


def _iso(moment) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _case(api: httpx.Client, cid: str) -> dict | None:
    found = api.get("/api/v1/exceptions", params={"correlation_id": cid}).json()
    rows = found.get("results", found) if isinstance(found, dict) else found
    return rows[0] if rows else None


def _settled(api: httpx.Client, cid: str) -> dict | None:
    case = _case(api, cid)
    return case if case and case["status"] == "resolved" else None


def _mails(tmp_path: Path) -> list[Path]:
    folder = tmp_path / "var" / "demo-mail"
    return sorted(folder.glob("*.eml")) if folder.exists() else []


def _wait_for(check, seconds: float, out: Path):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.5)
    raise AssertionError(f"gave up after {seconds} s; the demo said:\n{out.read_text()[-3000:]}")
