"""The dashboard in a real headless Chromium (Debian's), against Cortex under gunicorn with 2 workers.

Real requests are made first; the browser then signs in with the admin key and the pages must
show them. Screenshots of every page are kept in tests/artifacts/dashboard/ (ignored by git).
"""
import csv
import io
import os
import re
import time
from pathlib import Path

import pytest
import requests

from tests.browser import Chromium, chromium_path
from tests.cortex_server import ADMIN_KEY, INFERENCE_KEY, base_config
from tests.mocks import Fail

ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts" / "dashboard"
ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}
CLAUDE = "claude-3-5-sonnet-20241022"


def dashboard_config(mock_url, db_path):
    config = base_config(mock_url, db_path)
    config["server"]["trusted_proxies"] = 1  # X-Forwarded-Proto: https makes the session cookie Secure
    return config


@pytest.fixture(scope="module")
def cortex(start_cortex):
    return start_cortex(dashboard_config)


@pytest.fixture(scope="module")
def traffic(cortex, mock):
    """Real requests through both surfaces, one of them failing, before the browser looks."""
    client = cortex.openai()
    for number in range(3):
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": f"dashboard {number}"}])
    with cortex.anthropic().messages.stream(model=CLAUDE, max_tokens=32,
                                             messages=[{"role": "user", "content": "dashboard stream"}]) as stream:
        stream.until_done()
    mock.script("/v1/chat/completions", Fail(500, "down for the dashboard"))
    failed = requests.post(cortex.url + "/v1/chat/completions", headers=ADMIN,
                           json={"model": "gpt-4o", "messages": [{"role": "user", "content": "fail"}]})
    assert failed.status_code == 502
    for _ in range(100):  # usage records are written in batches, off the request path
        records = requests.get(cortex.url + "/usage", headers=ADMIN, params={"limit": 1000}).json()
        if len(records) >= 5:
            return records
        time.sleep(0.1)
    raise AssertionError("the usage records did not arrive")


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    executable = chromium_path()
    if executable is None:
        message = "chromium is not installed (apt-get install chromium)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    chromium = Chromium(executable, tmp_path_factory.mktemp("downloads"))
    yield chromium
    chromium.close()


@pytest.fixture(scope="module")
def signed_in(cortex, browser, traffic):
    browser.goto(cortex.url + "/dashboard/")
    assert browser.evaluate("location.pathname") == "/dashboard/login"  # not signed in: sent to the form
    browser.submit("#login", {"key": ADMIN_KEY})
    assert browser.evaluate("location.pathname") == "/dashboard/"
    return browser


def shot(browser, name: str) -> None:
    browser.screenshot(ARTIFACTS / f"{name}.png")


def sign_in_with_requests(cortex, key: str, headers: dict | None = None) -> tuple[requests.Session, requests.Response]:
    session = requests.Session()
    form = session.get(cortex.url + "/dashboard/login", headers=headers)
    csrf = re.search(r'name="csrf" value="([^"]+)"', form.text).group(1)
    response = session.post(cortex.url + "/dashboard/login", data={"csrf": csrf, "key": key}, headers=headers,
                            allow_redirects=False)
    return session, response


def page_csrf(session: requests.Session, cortex) -> str:
    page = session.get(cortex.url + "/dashboard/settings")
    return re.search(r'name="csrf-token" content="([^"]+)"', page.text).group(1)


# --- in the browser ------------------------------------------------------------------------------


def test_overview_charts_show_the_requests_made(signed_in, traffic):
    browser = signed_in
    drawn = browser.wait_for("document.querySelector('#chart-keys').dataset.rendered === 'true' && "
                             "Number(document.querySelector('#chart-requests [data-series=requests]').dataset.sum)")
    assert drawn == len(traffic)
    errors = browser.evaluate("Number(document.querySelector('#chart-requests [data-series=errors]').dataset.sum)")
    assert errors == sum(record["status"] == "error" for record in traffic) >= 1
    assert browser.evaluate("document.querySelectorAll('#chart-requests rect').length") >= 1
    assert browser.evaluate("document.querySelectorAll('#chart-latency polyline').length") == 2
    assert browser.evaluate("document.querySelectorAll('#chart-ttft circle').length") >= 1  # the stream has a TTFT
    tokens = sum(r["input_tokens"] + r["output_tokens"] for r in traffic)
    assert browser.evaluate("[...document.querySelectorAll('#chart-tokens g')]"
                            ".reduce((sum, g) => sum + Number(g.dataset.sum), 0)") == tokens
    spend = sum(r["cost_usd"] or 0 for r in traffic)
    assert spend > 0
    assert browser.evaluate("Number(document.querySelector('#chart-spend g').dataset.sum)") == pytest.approx(spend)
    assert browser.evaluate("document.querySelector('[data-tile=Requests] b').textContent") == str(len(traffic))
    shot(browser, "overview")


def test_session_cookie_is_http_only_and_same_site_strict(signed_in):
    cookie = next(c for c in signed_in.cookies() if c["name"] == "cortex_session")
    assert cookie["httpOnly"] is True and cookie["sameSite"] == "Strict"
    assert cookie["secure"] is False  # plain http here; see test_session_cookie_is_secure_behind_tls
    assert signed_in.evaluate("document.cookie") == ""  # the page's scripts cannot read it


def test_live_page_lists_in_flight_requests_and_refreshes(signed_in, cortex):
    browser = signed_in
    browser.goto(cortex.url + "/dashboard/inflight")
    first = browser.wait_for("document.querySelector('#status').textContent.startsWith('updated') && "
                             "document.querySelector('#status').textContent")
    assert browser.evaluate("document.querySelector('#inflight-count').textContent") == "(0)"
    browser.wait_for(f"document.querySelector('#status').textContent !== {first!r}", timeout=10)  # refreshed
    shot(browser, "inflight")


def test_providers_page_shows_health_and_key_rotation(signed_in, cortex):
    browser = signed_in
    browser.goto(cortex.url + "/dashboard/providers")
    rows = browser.wait_for("document.querySelectorAll('#providers tbody tr').length")
    assert rows == len(cortex.config["providers"])
    row = browser.evaluate("[...document.querySelectorAll('#providers tbody tr')].map(r => r.innerText)"
                           ".find(text => text.startsWith('mockai'))")
    assert "1 (none)" in row  # one API key, none cooling down
    shot(browser, "providers")


def test_usage_explorer_filters_and_exports_csv(signed_in, cortex, traffic):
    browser = signed_in
    browser.goto(cortex.url + "/dashboard/usage")
    assert browser.wait_for("document.querySelectorAll('#usage tbody tr').length") == len(traffic)
    browser.evaluate("document.querySelector('[name=provider]').value = 'mockanthropic';"
                     "document.querySelector('#usage-filters').requestSubmit()")
    expected = sum(r["provider"] == "mockanthropic" for r in traffic)
    browser.wait_for(f"document.querySelectorAll('#usage tbody tr').length === {expected}")
    shot(browser, "usage")
    since = browser.event_count
    browser.evaluate("document.querySelector('#csv').click()")
    done = browser.wait_event("Browser.downloadProgress", since, match=lambda p: p.get("state") == "completed")
    assert done["state"] == "completed"
    assert browser.wait_event("Browser.downloadWillBegin", since)["suggestedFilename"] == "cortex-usage.csv"
    downloaded = (browser.download_dir / "cortex-usage.csv").read_text()
    (ARTIFACTS / "usage.csv").write_text(downloaded)
    rows = list(csv.DictReader(io.StringIO(downloaded)))
    assert len(rows) == expected and {row["provider"] for row in rows} == {"mockanthropic"}
    by_id = {record["request_id"]: record for record in traffic}
    assert all(int(row["output_tokens"]) == by_id[row["request_id"]]["output_tokens"] for row in rows)


def test_settings_page_changes_runtime_settings(signed_in, cortex):
    browser = signed_in
    browser.goto(cortex.url + "/dashboard/settings")
    browser.wait_for("document.querySelector('#status').textContent === 'loaded'")
    assert browser.evaluate("document.querySelector('[name=response_cache_ttl_secs]').value") == "300"
    browser.evaluate("document.querySelector('[name=response_cache_ttl_secs]').value = '123';"
                     "document.querySelector('#settings-caching').requestSubmit()")
    browser.wait_for("document.querySelector('#status').textContent === 'caching saved'")
    assert requests.get(cortex.url + "/api/config/caching", headers=ADMIN).json()["response_cache_ttl_secs"] == 123
    shot(browser, "settings")


def test_keys_page_creates_and_revokes_a_key(signed_in, cortex):
    browser = signed_in
    browser.goto(cortex.url + "/dashboard/keys")
    browser.wait_for("document.querySelector('#status').textContent.endsWith('keys')")
    browser.evaluate("const f = document.querySelector('#key-form'); f.elements.name.value = 'from-the-dashboard';"
                     "f.elements.max_budget_usd.value = '5'; f.elements.rpm.value = '30'; f.requestSubmit()")
    secret = browser.wait_for("!document.querySelector('#new-key').hidden && "
                              "document.querySelector('#new-key code').textContent")
    shown = browser.wait_for("document.querySelector('tr[data-key=from-the-dashboard]')?.innerText")
    assert secret[:8] in shown and secret not in shown  # the key's first characters only, to recognise it
    answer = requests.post(cortex.url + "/v1/chat/completions", headers={"Authorization": f"Bearer {secret}"},
                           json={"model": "gpt-4o", "messages": [{"role": "user", "content": "new key"}]})
    assert answer.status_code == 200
    shot(browser, "keys")
    browser.evaluate("document.querySelector('tr[data-key=from-the-dashboard] button').click()")
    browser.wait_for("document.querySelector('tr[data-key=from-the-dashboard]') === null")
    time.sleep(1.0)  # the contract: a revocation reaches every worker within a second (app/keys.py)
    revoked = requests.post(cortex.url + "/v1/chat/completions", headers={"Authorization": f"Bearer {secret}"},
                            json={"model": "gpt-4o", "messages": [{"role": "user", "content": "revoked"}]})
    assert revoked.status_code == 401


def test_non_admin_key_cannot_sign_in_in_the_browser(cortex, browser, signed_in):
    browser.submit(".signout")
    assert browser.evaluate("location.pathname") == "/dashboard/login"
    browser.submit("#login", {"key": INFERENCE_KEY})
    assert "lacks the 'admin' permission" in browser.evaluate("document.querySelector('#login-error').textContent")
    shot(browser, "login-refused")
    browser.goto(cortex.url + "/dashboard/")
    assert browser.evaluate("location.pathname") == "/dashboard/login"


# --- over HTTP -----------------------------------------------------------------------------------


@pytest.mark.parametrize("key, status", [(INFERENCE_KEY, 403), ("not-a-key-at-all", 401)])
def test_only_an_admin_key_signs_in(cortex, key, status):
    session, response = sign_in_with_requests(cortex, key)
    assert response.status_code == status
    assert session.get(cortex.url + "/dashboard/", allow_redirects=False).status_code == 302
    assert session.get(cortex.url + "/api/admin/inflight").status_code == 401


def test_writes_without_the_csrf_token_are_refused(cortex):
    session, response = sign_in_with_requests(cortex, ADMIN_KEY)
    assert response.status_code == 302
    assert session.get(cortex.url + "/api/config/caching").status_code == 200  # reads need only the session
    refused = session.put(cortex.url + "/api/config/caching", json={"response_cache_ttl_secs": 77})
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "csrf_failed"
    wrong = session.put(cortex.url + "/api/config/caching", json={"response_cache_ttl_secs": 77},
                        headers={"X-CSRF-Token": "guess"})
    assert wrong.status_code == 403
    assert session.post(cortex.url + "/dashboard/logout").status_code == 403
    token = page_csrf(session, cortex)
    accepted = session.put(cortex.url + "/api/config/caching", json={"response_cache_ttl_secs": 77},
                           headers={"X-CSRF-Token": token})
    assert accepted.status_code == 200 and accepted.json()["response_cache_ttl_secs"] == 77


def test_sign_in_without_the_form_token_is_refused(cortex):
    session = requests.Session()
    response = session.post(cortex.url + "/dashboard/login", data={"key": ADMIN_KEY}, allow_redirects=False)
    assert response.status_code == 403
    assert session.get(cortex.url + "/dashboard/", allow_redirects=False).status_code == 302


def test_session_cookie_is_secure_behind_tls(cortex):
    _, response = sign_in_with_requests(cortex, ADMIN_KEY, headers={"X-Forwarded-Proto": "https"})
    cookie = response.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie


def test_pages_allow_only_their_own_assets(cortex):
    session, _ = sign_in_with_requests(cortex, ADMIN_KEY)
    page = session.get(cortex.url + "/dashboard/")
    assert "default-src 'self'" in page.headers["Content-Security-Policy"]
    assert not re.search(r'(src|href)="https?://', page.text)  # no CDN
    assert session.get(cortex.url + "/dashboard/static/chart.js").status_code == 200
