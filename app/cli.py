"""`flask --app wsgi cortex ...`: operator commands, registered on the app by `init_app`."""
import click
from flask import current_app
from flask.cli import AppGroup
from marshmallow import ValidationError

from app.config import ConfigError, load_config
from app.errors import CortexError
from app.oauth.cli import oauth_cli
from schemas.config import BUDGET_DURATIONS, PERMISSIONS
from schemas.keys import KEY_CREATE_REQUEST

cortex_cli = AppGroup("cortex", help="Cortex operator commands.")
cortex_cli.add_command(oauth_cli)
keys_cli = AppGroup("keys", help="Client keys created at run time (as /api/keys does).")
cortex_cli.add_command(keys_cli)


@keys_cli.command("create")
@click.argument("name")
@click.option("--permission", "permissions", multiple=True, type=click.Choice(PERMISSIONS), default=("inference",),
              show_default=True, help="Repeat for several.")
@click.option("--model", "allowed_models", multiple=True, help="Allowed model glob; repeat for several (default *).")
@click.option("--provider", "allowed_providers", multiple=True, help="Allowed provider glob (default *).")
@click.option("--rate-limit", default="", help="e.g. 60/minute;1000/hour")
@click.option("--budget", "max_budget_usd", type=float, help="Maximum spend in USD per budget window.")
@click.option("--soft-budget", "soft_budget_usd", type=float, help="Spend in USD that is logged and counted.")
@click.option("--duration", "budget_duration", type=click.Choice(BUDGET_DURATIONS), help="Budget window (UTC).")
@click.option("--expires", "expires_at", help="RFC 3339 date-time, e.g. 2026-12-31T00:00:00Z")
def create_key(name, **options):
    """Create a key and print it (the only time it is shown)."""
    body = {"name": name, **{field: list(value) if isinstance(value, tuple) else value
                             for field, value in options.items() if value not in (None, ())}}
    try:
        key, plaintext = current_app.extensions["cortex"].runtime_keys.create(KEY_CREATE_REQUEST.load(body))
    except ValidationError as exc:
        raise click.ClickException(f"invalid key: {exc.messages}") from None
    except CortexError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"created {key.id} ({key.name}); the key is shown only now:\n{plaintext}")


@keys_cli.command("list")
def list_keys():
    """List the keys: cortex.yaml's (read-only) and those created at run time."""
    budgets = current_app.extensions["cortex"].budgets
    for key in current_app.extensions["cortex"].runtime_keys.all():
        status = budgets.status(key)
        spent = f" spent ${status['spend_usd']:.4f}/{status['max_budget_usd']}" if status else ""
        state = " disabled" if key.disabled else ""
        click.echo(f"{key.id}\t{key.name}\t{key.source}\t{','.join(sorted(key.permissions))}{spent}{state}")


@keys_cli.command("revoke")
@click.argument("key_id")
def revoke_key(key_id):
    """Revoke a key created at run time (by its id, see `list`)."""
    try:
        key = current_app.extensions["cortex"].runtime_keys.revoke(key_id)
    except CortexError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"revoked {key.id} ({key.name})")


def _provider_findings(config, oauth) -> tuple[list[str], list[str]]:
    """(errors, warnings) about providers' credentials."""
    errors, warnings = [], []
    for provider in config.providers:
        empty = ", ".join(provider.missing_key_variables)
        if provider.auth_method != "api_key" and not oauth.configured(provider.name):
            flow = oauth.flows.get(provider.name)
            errors.append(f"provider {provider.name}: auth_method {provider.auth_method} needs OAuth: set "
                          f"oauth {flow.missing if flow else 'settings'}")
        elif provider.auth_method == "api_key" and not provider.api_keys:
            warnings.append(f"provider {provider.name}: no API key ({f'{empty} is empty' if empty else 'none listed'})"
                            "; requests to it will fail")
        elif empty:
            warnings.append(f"provider {provider.name}: empty environment variable(s) {empty} in api_keys")
    return errors, warnings


@cortex_cli.command("check-config")
@click.argument("path", required=False)
def check_config(path):
    """Validate cortex.yaml (or PATH) and what the running config points at: store, keys, OAuth."""
    cortex = current_app.extensions["cortex"]
    try:
        config = load_config(path) if path else cortex.config
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"ok: {config.path} is valid ({len(config.providers)} providers, {len(config.api_keys)} keys)")
    if path:
        return  # another file than the one loaded: there is no store or login of it to check
    errors, warnings = _provider_findings(config, cortex.oauth)
    if not cortex.store.ping():
        errors.append(f"storage.database_url: the store is not reachable ({config.storage.database_url})")
    else:
        errors += cortex.oauth.undecryptable_tokens()
    for warning in warnings:
        click.echo(f"warning: {warning}")
    for error in errors:
        click.echo(f"error: {error}", err=True)
    if errors:
        raise click.exceptions.Exit(1)
    click.echo("ok: store reachable, stored OAuth tokens decrypt with the configured key")


def init_app(app) -> None:
    app.cli.add_command(cortex_cli)
