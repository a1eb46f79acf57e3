"""Timing pages over HTTP beside the raw SQL they run: shared by the page benches.

1. ``captured_sql``: the statements each URL runs (``django.test.Client`` in this process,
   signed in as ``username``), literals inlined as Django binds them.
2. ``raw_sql``: those exact statements re-run on one psycopg session, per URL.
3. ``login`` + ``page_requests``: sequential GETs over HTTP (gunicorn on loopback) with a
   signed-in session cookie, interleaved across URLs, after a warm-up.
4. ``report``: p50 / p95 per URL beside its raw SQL, and the slowest statements.
"""

import http.client
import re
import statistics
import time
from collections.abc import Callable
from http.cookies import SimpleCookie
from urllib.parse import urlencode

import psycopg
from metrics import p, row

WARM = 10  # rounds of every URL before timing: imports, template loading, both workers
Urls = dict[str, tuple[str, dict[str, str]]]  # label -> (path, extra headers)
Check = Callable[[str, int, bytes], None]


def captured_sql(urls: Urls, username: str, check: Check) -> dict[str, list[str]]:
    from django.contrib.auth.models import User
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()
    client.force_login(User.objects.get(username=username))
    statements = {}
    for label, (path, headers) in urls.items():
        client.get(path, headers=headers)  # a first request loads what later ones reuse
        with CaptureQueriesContext(connection) as captured:
            response = client.get(path, headers=headers)
        check(path, response.status_code, response.content)
        statements[label] = [q["sql"] for q in captured.captured_queries]
    return statements


def raw_sql(
    url: str, statements: dict[str, list[str]], rounds: int
) -> tuple[dict[str, list[float]], list[tuple[float, str, str]]]:
    """Per URL, seconds to run its statements on one session; and each statement's median."""
    from django.db import connection

    # The app's session options (jit=off), so the raw side plans as the app does.
    options = connection.settings_dict["OPTIONS"].get("options")
    kwargs = {"options": options} if options else {}
    times: dict[str, list[float]] = {label: [] for label in statements}
    each: dict[tuple[str, int], list[float]] = {}
    with psycopg.connect(url, autocommit=True, **kwargs) as conn, conn.cursor() as cursor:
        for index in range(rounds + WARM):
            for label, sqls in statements.items():
                total = 0.0
                for at, sql in enumerate(sqls):
                    began = time.perf_counter()
                    cursor.execute(sql.encode())
                    if cursor.description:
                        cursor.fetchall()
                    spent = time.perf_counter() - began
                    total += spent
                    if index >= WARM:
                        each.setdefault((label, at), []).append(spent)
                if index >= WARM:
                    times[label].append(total)
    slowest = sorted(
        ((statistics.median(v), label, statements[label][at]) for (label, at), v in each.items()),
        reverse=True,
    )
    return times, slowest


def login(port: int, username: str, password: str) -> str:
    """Sign in as a browser does; returns the Cookie header of the signed-in session."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", "/accounts/login/")
    response = conn.getresponse()
    form = response.read().decode()
    jar = SimpleCookie()
    for header in response.headers.get_all("Set-Cookie") or []:
        jar.load(header)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form)
    if response.status != 200 or "csrftoken" not in jar or token is None:
        raise SystemExit(f"the sign-in form answered {response.status} without a CSRF token")
    body = urlencode({"csrfmiddlewaretoken": token[1], "username": username, "password": password})
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "Cookie": f"csrftoken={jar['csrftoken'].value}",
    }
    conn.request("POST", "/accounts/login/", body, headers)
    response = conn.getresponse()
    response.read()
    for header in response.headers.get_all("Set-Cookie") or []:
        jar.load(header)
    if response.status != 302 or "sessionid" not in jar:
        raise SystemExit(f"signing in answered {response.status} without a session")
    return "; ".join(f"{name}={jar[name].value}" for name in ("csrftoken", "sessionid"))


def page_requests(
    port: int, cookie: str, urls: Urls, rounds: int, check: Check
) -> dict[str, list[float]]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    times: dict[str, list[float]] = {label: [] for label in urls}
    for index in range(rounds + WARM):
        for label, (path, headers) in urls.items():
            began = time.perf_counter()
            conn.request("GET", path, headers={"Cookie": cookie, **headers})
            response = conn.getresponse()
            body = response.read()
            spent = time.perf_counter() - began
            check(path, response.status, body)
            if index >= WARM:
                times[label].append(spent)
    return times


def report(
    title: str,
    urls: Urls,
    statements: dict[str, list[str]],
    http_times: dict[str, list[float]],
    sql_times: dict[str, list[float]],
    slowest: list[tuple[float, str, str]],
    strip: tuple[str, ...] = (),
) -> None:
    print(f"{title:<44}{'ms':>11}{'raw ms':>10}{'ratio':>9}")
    for label in urls:
        for share in (0.5, 0.95):
            note = f"{len(statements[label])} statements" if share == 0.5 else ""
            page, raw = p(http_times[label], share), p(sql_times[label], share)
            row(f"{label} p{int(share * 100)}", page, raw, note)
    print("\nslowest statements (median ms, URL; column lists and joins left out):")
    for seconds, label, sql in slowest[:4]:
        short = re.sub(r'^SELECT .*? FROM "', 'SELECT ... FROM "', sql, flags=re.S)
        short = re.sub(r' (INNER|LEFT OUTER) JOIN "\w+" ON \([^)]*\)', "", short)
        for table in strip:
            short = short.replace(f'"{table}".', "")
        print(f"  {seconds * 1000:>7.1f}  {label}: {short[:240]}")


def p95(times: dict[str, list[float]], labels: list[str]) -> float:
    return p([t for label in labels for t in times[label]], 0.95)
