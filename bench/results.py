"""What one run measured, one dataclass per kind of measurement, and the baseline lookup.

Every gateway figure is read against the direct arm of the same run: the machine is shared
and noisy, so only differences and ratios measured minutes apart mean anything.
"""
from dataclasses import asdict, dataclass, field

BASELINE = "direct"


@dataclass
class LoadRow:
    """One wrk run: a request kind at a fixed number of connections against one arm."""

    arm: str
    surface: str               # the client's format
    upstream: str              # the provider's format
    stream: bool
    connections: int
    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    cpu_ms_per_request: float | None  # gateway process tree CPU / requests; None for direct


@dataclass
class StreamRow:
    """Sequential streams from the paced upstream: when each token reached the client."""

    arm: str
    surface: str
    upstream: str
    streams: int
    first_token_p50_ms: float
    first_token_p99_ms: float
    gap_p50_ms: float
    gap_p99_ms: float
    errors: int


@dataclass
class SlowStreamsRow:
    """Many slow streams held at once, and plain requests at concurrency 1 made meanwhile."""

    arm: str
    target: int                # streams the clients opened
    ramp_s: float              # until the upstream saw them all open (or the ramp limit)
    held: int                  # open at the upstream for the whole plain-request window
    left_open: int             # still open at the upstream a while after the clients left
    stream_errors: int
    first_byte_p50_ms: float | None  # from the upstream sending a stream's first token to the client reading it
    first_byte_max_ms: float | None
    first_byte_late: int       # streams whose first token came more than 1 s after the upstream's, or never
    plain_requests: int
    plain_p50_ms: float
    plain_p99_ms: float
    plain_errors: int
    rss_mb: float | None       # gateway worker RSS while holding the streams


@dataclass
class MemoryRow:
    arm: str
    after: str                 # "warm-up" or "soak"
    requests: int              # requests served by the arm before the reading (soak only)
    worker_rss_mb: float
    total_rss_mb: float        # every process of the gateway (gunicorn: master + worker)


@dataclass
class Results:
    meta: dict
    load: list[LoadRow] = field(default_factory=list)
    streams: list[StreamRow] = field(default_factory=list)
    slow_streams: list[SlowStreamsRow] = field(default_factory=list)
    memory: list[MemoryRow] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


def baseline(rows: list, row, *keys: str):
    """The direct arm's row to compare `row` with: equal on `keys`. None for a direct row itself.

    The direct arm speaks only the upstream's own format (it calls the upstream), so with
    `upstream` among the keys a translated row is read against the identical upstream exchange
    made directly, as is the pass-through row of that upstream.
    """
    if row.arm == BASELINE:
        return None
    return next((candidate for candidate in rows if candidate.arm == BASELINE and all(
        getattr(candidate, key) == getattr(row, key) for key in keys)), None)
