"""Runtime-tunable settings (caching, token refresh): the file's values, overridable at run time."""
from app.config import CachingConfig, CortexConfig, TokenRefreshConfig


class RuntimeSettings:
    def __init__(self, config: CortexConfig):
        self._caching = config.caching
        self._token_refresh = config.token_refresh

    def caching(self) -> CachingConfig:
        return self._caching

    def token_refresh(self) -> TokenRefreshConfig:
        return self._token_refresh
