"""`flask --app wsgi cortex oauth login|status|logout PROVIDER`.

The commands work on the shared store directly, so they need no admin key; a code-flow
login still needs the server running to receive the provider's redirect (unless the
provider shows the code for pasting, as Anthropic's and OpenAI's default clients do).
"""
import time
import webbrowser
from contextlib import contextmanager
from urllib.parse import parse_qs, urlsplit

import click
import orjson
from flask import current_app
from flask.cli import AppGroup

from app.errors import CortexError

oauth_cli = AppGroup("oauth", help="Log Cortex into upstream providers (OAuth).")

WAIT_STEP_SECS = 1.0
LOCAL_HOSTS = {"0.0.0.0": "127.0.0.1", "::": "127.0.0.1", "": "127.0.0.1"}


def _cortex():
    return current_app.extensions["cortex"]


@contextmanager
def _reported():
    """CortexErrors end the command with their message and exit status 1."""
    try:
        yield
    except CortexError as exc:
        raise click.ClickException(exc.message) from None


def _echo_status(provider: str) -> None:
    click.echo(orjson.dumps(_cortex().oauth.status(provider), option=orjson.OPT_INDENT_2).decode())


def _open_in_browser(url: str, enabled: bool) -> None:
    click.echo(f"\n  {url}\n")
    if enabled:
        try:
            webbrowser.open(url)
        except webbrowser.Error:
            pass  # printed above; the user opens it by hand


def _own_callback_url(provider: str) -> str:
    server = _cortex().config.server
    return f"http://{LOCAL_HOSTS.get(server.host, server.host)}:{server.port}/oauth/{provider}/callback"


def _pasted_code(text: str, authorize_url: str) -> tuple[str, str]:
    """(code, state) from what the user pasted: the redirect URL, "code#state" or the bare code."""
    text = text.strip()
    if "code=" in text:
        query = parse_qs(urlsplit(text).query)
        return query.get("code", [""])[0], query.get("state", [""])[0]
    if "#" in text:
        code, state = text.split("#", 1)
        return code, state
    return text, parse_qs(urlsplit(authorize_url).query).get("state", [""])[0]


def _code_login(provider: str, flow, open_browser: bool, timeout: float) -> None:
    oauth = _cortex().oauth
    started = time.time()
    callback_url = _own_callback_url(provider)
    authorize_url = oauth.begin_login(provider, callback_url)
    click.echo(f"Open this URL to log Cortex into {provider}:")
    _open_in_browser(authorize_url, open_browser)
    redirect_uri = flow.settings.redirect_uri
    if redirect_uri and not urlsplit(redirect_uri).path.endswith(f"/oauth/{provider}/callback"):
        # The provider's own page shows the result (the registered redirect of its public client).
        pasted = click.prompt("Paste the code the provider shows, or the URL it sent you to")
        oauth.complete_login(provider, *_pasted_code(pasted, authorize_url))
    else:
        click.echo(f"Waiting for the provider to redirect to {redirect_uri or callback_url} (Ctrl-C to stop)...")
        deadline = time.monotonic() + timeout
        while not oauth.login_finished_since(provider, started):
            if time.monotonic() > deadline:
                raise click.ClickException("Timed out waiting for the login to complete")
            time.sleep(WAIT_STEP_SECS)


def _device_login(provider: str, open_browser: bool) -> None:
    oauth = _cortex().oauth
    code = oauth.start_device_login(provider)
    click.echo(f"Open this URL and approve the login (code {code.user_code}):")
    _open_in_browser(code.verification_uri_complete, open_browser)
    click.echo("Waiting for approval (Ctrl-C to stop)...")
    while True:
        time.sleep(WAIT_STEP_SECS)
        state = oauth.device_login_state(provider)  # polls the provider when its interval is up
        if state["status"] != "pending":
            break
    if state["status"] != "complete":
        raise click.ClickException(state.get("message") or f"Device login ended: {state['status']}")


@oauth_cli.command("login")
@click.argument("provider")
@click.option("--no-browser", is_flag=True, help="Print the URL without opening a browser.")
@click.option("--timeout", default=600.0, show_default=True, help="Seconds to wait for the login.")
def login(provider, no_browser, timeout):
    """Log in to PROVIDER: prints (and opens) the authorize or verification URL, then waits."""
    with _reported():
        flow = _cortex().oauth.flow(provider)
        if flow.settings.authorize_url:
            _code_login(provider, flow, not no_browser, timeout)
        else:
            _device_login(provider, not no_browser)
        _echo_status(provider)


@oauth_cli.command("status")
@click.argument("provider")
def status(provider):
    """Show PROVIDER's login as GET /oauth/PROVIDER/status does."""
    with _reported():
        _echo_status(provider)


@oauth_cli.command("logout")
@click.argument("provider")
def logout(provider):
    """Delete PROVIDER's stored token (it is not revoked at the provider)."""
    with _reported():
        _cortex().oauth.logout(provider)
    click.echo(f"Deleted the stored {provider} token")
