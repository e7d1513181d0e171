"""Provider types: what Cortex knows about each `type:` of cortex.yaml, one entry per type.

Plain data that imports nothing of Cortex, so that the config schema, the adapters, the
endpoint services and the OAuth flows all read it without an import cycle (and gunicorn's
master, which validates the config, without importing ssl). Adding a provider type is adding
an entry; a new wire format or URL/auth quirk also needs the adapter class that `adapter`
names in app.providers.ADAPTERS.

OAuth defaults are the public clients that the providers' own tools use (sources in
app.oauth.flows); every value can be overridden under `providers[].oauth`.
"""
from dataclasses import dataclass, field

# What a provider type may serve. The embeddings and transcriptions services and the model
# catalog check theirs before calling upstream; every type serves chat so far.
CHAT = "chat"
EMBEDDINGS = "embeddings"
TRANSCRIPTIONS = "transcriptions"
MODEL_LIST = "models"  # GET <root>/models lists the provider's models
# How a Responses request reaches an OpenAI-type provider: passed through to its /responses,
# or translated to its chat format. Overridable per provider (`responses_api:` in cortex.yaml).
RESPONSES_API_MODES = ("native", "translate")
# A model entry's `api:` : "responses" for models served only by the Responses API (every client
# format reaches them by translation); "" = the provider's chat format.
MODEL_APIS = ("", "chat", "responses")


@dataclass(frozen=True)
class FlowSettings:
    """A provider's OAuth client: its type's defaults overlaid with its `oauth:` block
    (app.oauth.flows.flow_settings)."""

    client_id: str = ""
    client_secret: str = ""
    authorize_url: str = ""
    token_url: str = ""
    device_authorization_url: str = ""
    scopes: tuple = ()
    redirect_uri: str = ""  # "" = Cortex's own /oauth/<name>/callback
    allowed_redirect_origins: tuple = ()
    authorize_params: tuple = ()  # extra (name, value) pairs on the authorize URL
    token_format: str = "form"    # "form" (RFC 6749) or "json"


@dataclass(frozen=True)
class ProviderType:
    wire_formats: tuple  # what the provider speaks; chat requests go out in the first
    adapter: str         # a key of app.providers.ADAPTERS
    endpoints: tuple     # of CHAT, EMBEDDINGS, TRANSCRIPTIONS, MODEL_LIST
    default_base_url: str = ""  # "" = the config must give base_url
    oauth: FlowSettings = field(default_factory=FlowSettings)
    oauth_flow: str = "code"    # a key of app.oauth.flows.FLOW_CLASSES
    responses_api: str = "translate"  # of RESPONSES_API_MODES

    @property
    def chat_wire_format(self) -> str:
        return self.wire_formats[0]

    def serves(self, endpoint: str) -> bool:
        return endpoint in self.endpoints


# Google has no public client: set oauth.client_id/client_secret of a "Desktop app" client.
_GOOGLE_OAUTH = FlowSettings(
    authorize_url="https://accounts.google.com/o/oauth2/v2/auth",
    token_url="https://oauth2.googleapis.com/token",
    scopes=("https://www.googleapis.com/auth/cloud-platform",
            "https://www.googleapis.com/auth/generative-language.retriever"),
    # offline + consent: Google returns a refresh token on every login.
    authorize_params=(("access_type", "offline"), ("prompt", "consent")),
)

PROVIDER_TYPES = {
    "openai": ProviderType(
        wire_formats=("openai",), adapter="openai", endpoints=(CHAT, EMBEDDINGS, TRANSCRIPTIONS, MODEL_LIST),
        default_base_url="https://api.openai.com/v1", responses_api="native",
        # The Codex CLI's ChatGPT login: a public client with a registered loopback redirect.
        oauth=FlowSettings(
            client_id="app_EMoamEEZ73f0CkXaXp7hrann",
            authorize_url="https://auth.openai.com/oauth/authorize",
            token_url="https://auth.openai.com/oauth/token",
            scopes=("openid", "profile", "email", "offline_access"),
            redirect_uri="http://localhost:1455/auth/callback",
            authorize_params=(("id_token_add_organizations", "true"), ("codex_cli_simplified_flow", "true")),
        )),
    "anthropic": ProviderType(
        wire_formats=("anthropic",), adapter="anthropic", endpoints=(CHAT, MODEL_LIST),
        default_base_url="https://api.anthropic.com",
        # Claude Code's subscription login.
        oauth=FlowSettings(
            client_id="9d1c250a-e61b-44d9-88ed-5944d1962f5e",
            authorize_url="https://claude.ai/oauth/authorize",
            token_url="https://console.anthropic.com/v1/oauth/token",
            scopes=("org:create_api_key", "user:profile", "user:inference"),
            # Registered for this client: the page shows "code#state" for the user to paste
            # back (`cortex oauth login` asks for it).
            redirect_uri="https://console.anthropic.com/oauth/code/callback",
            authorize_params=(("code", "true"),),
            token_format="json",
        )),
    # Deployments in the URL, `api-key` header; deployments are not listed at /models.
    "azure": ProviderType(wire_formats=("openai",), adapter="azure", endpoints=(CHAT, EMBEDDINGS, TRANSCRIPTIONS)),
    "mistral": ProviderType(wire_formats=("openai",), adapter="openai", endpoints=(CHAT, EMBEDDINGS, MODEL_LIST),
                            default_base_url="https://api.mistral.ai/v1"),
    "together": ProviderType(wire_formats=("openai",), adapter="openai", endpoints=(CHAT, EMBEDDINGS, MODEL_LIST),
                             default_base_url="https://api.together.xyz/v1"),
    "fireworks": ProviderType(wire_formats=("openai",), adapter="openai", endpoints=(CHAT, EMBEDDINGS, MODEL_LIST),
                              default_base_url="https://api.fireworks.ai/inference/v1"),
    "groq": ProviderType(wire_formats=("openai",), adapter="openai",
                         endpoints=(CHAT, EMBEDDINGS, TRANSCRIPTIONS, MODEL_LIST),
                         default_base_url="https://api.groq.com/openai/v1"),
    "deepseek": ProviderType(wire_formats=("openai",), adapter="openai", endpoints=(CHAT, EMBEDDINGS, MODEL_LIST),
                             default_base_url="https://api.deepseek.com/v1"),
    "openrouter": ProviderType(
        wire_formats=("openai",), adapter="openai", endpoints=(CHAT, MODEL_LIST),
        default_base_url="https://openrouter.ai/api/v1",
        # No client id; the code buys a permanent API key.
        oauth=FlowSettings(authorize_url="https://openrouter.ai/auth",
                           token_url="https://openrouter.ai/api/v1/auth/keys"),
        oauth_flow="openrouter_key"),
    "qwen": ProviderType(
        wire_formats=("openai",), adapter="openai", endpoints=(CHAT, MODEL_LIST),
        default_base_url="https://dashscope.aliyuncs.com/compatible-mode/v1",
        # qwen-code's device login (RFC 8628 with PKCE).
        oauth=FlowSettings(
            client_id="f0304373b74a44d2b584a3fb70ca9e56",
            device_authorization_url="https://chat.qwen.ai/api/v1/oauth2/device/code",
            token_url="https://chat.qwen.ai/api/v1/oauth2/token",
            scopes=("openid", "profile", "email", "model.completion"),
        )),
    "google": ProviderType(
        wire_formats=("openai",), adapter="openai", endpoints=(CHAT, MODEL_LIST),
        default_base_url="https://generativelanguage.googleapis.com/v1beta/openai",
        oauth=_GOOGLE_OAUTH),
    # Google AI Studio's native generateContent API: thought signatures, cached-content usage.
    "gemini": ProviderType(
        wire_formats=("gemini",), adapter="gemini", endpoints=(CHAT, EMBEDDINGS, MODEL_LIST),
        default_base_url="https://generativelanguage.googleapis.com/v1beta",
        oauth=_GOOGLE_OAUTH),
    # Any OpenAI-compatible server at the configured base_url.
    "custom": ProviderType(wire_formats=("openai",), adapter="openai",
                           endpoints=(CHAT, EMBEDDINGS, TRANSCRIPTIONS, MODEL_LIST)),
}


def types_serving(endpoint: str) -> list[str]:
    return sorted(name for name, kind in PROVIDER_TYPES.items() if kind.serves(endpoint))
