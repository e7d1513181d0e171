"""Cortex: an LLM API gateway speaking the OpenAI and Anthropic APIs."""


def create_app(config_path=None, config=None):
    """Build the Flask app from `cortex.yaml` (or `config_path`, or a parsed `config`)."""
    # Imported here so that `app.config` stays light: gunicorn's master validates the
    # config before forking and must not import ssl before the gevent workers patch it.
    from app.factory import build_app

    return build_app(config_path, config)
