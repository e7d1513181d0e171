"""`flask --app wsgi cortex ...`: operator commands, registered on the app by `init_app`."""
import click
from flask import current_app
from flask.cli import AppGroup

from app.config import ConfigError, load_config
from app.oauth.cli import oauth_cli

cortex_cli = AppGroup("cortex", help="Cortex operator commands.")
cortex_cli.add_command(oauth_cli)


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
