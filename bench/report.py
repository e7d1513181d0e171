"""Markdown tables of a run: absolute figures per arm, each gateway against direct, and each
translation against the pass-through to the same upstream format."""
import math

from results import BASELINE, LoadRow, Results, baseline


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _number(value, digits: int = 2) -> str:
    if _missing(value):
        return "–"
    return f"{value:,.{digits}f}" if isinstance(value, float) else f"{value:,}"


def _difference(value, base) -> float | None:
    return None if _missing(value) or _missing(base) else value - base


def _signed(value) -> str:
    return "–" if value is None else f"{value:+.2f}"


def _added(value, base) -> str:
    """Milliseconds added over direct."""
    return _signed(_difference(value, base))


def _ratio(value, base) -> str:
    """value / base; – when either is missing or base is not positive (noise can make an overhead ≤ 0)."""
    return "–" if _missing(value) or _missing(base) or base <= 0 else f"{value / base:.2f}×"


def _table(headers: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


def _pair(row) -> str:
    """Client surface → provider format."""
    return f"{row.surface} → {row.upstream}"


def _kind(row) -> str:
    return f"{_pair(row)}{' stream' if row.stream else ''}"


def latency_table(rows: list[LoadRow]) -> list[str]:
    cells = []
    for row in (r for r in rows if r.connections == 1):
        base = baseline(rows, row, "upstream", "stream", "connections")
        cells.append([_kind(row), row.arm, _number(row.p50_ms), _number(row.p99_ms),
                      _added(row.p50_ms, base and base.p50_ms), _added(row.p99_ms, base and base.p99_ms),
                      _number(row.cpu_ms_per_request)])
    return _table(["request", "arm", "p50 ms", "p99 ms", "added p50 ms", "added p99 ms", "CPU ms/req"], cells)


def throughput_table(rows: list[LoadRow]) -> list[str]:
    """Grouped by request kind (rows come measured by concurrency level)."""
    kinds = list(dict.fromkeys(_kind(row) for row in rows))
    cells = []
    for row in sorted((r for r in rows if r.connections > 1), key=lambda r: (kinds.index(_kind(r)), r.connections)):
        base = baseline(rows, row, "upstream", "stream", "connections")
        cells.append([_kind(row), str(row.connections), row.arm, _number(row.rps, 0),
                      _ratio(row.rps, base and base.rps), _number(row.p99_ms), _number(row.errors),
                      _number(row.cpu_ms_per_request)])
    return _table(["request", "connections", "arm", "req/s", "vs direct", "p99 ms", "errors", "CPU ms/req"], cells)


def streams_table(rows) -> list[str]:
    cells = []
    for row in rows:
        base = baseline(rows, row, "upstream")
        cells.append([_pair(row), row.arm, _number(row.streams),
                      _number(row.first_token_p50_ms), _number(row.first_token_p99_ms),
                      _added(row.first_token_p50_ms, base and base.first_token_p50_ms),
                      _number(row.gap_p50_ms), _number(row.gap_p99_ms),
                      _added(row.gap_p99_ms, base and base.gap_p99_ms), _number(row.errors)])
    return _table(["request", "arm", "streams", "first token p50 ms", "p99 ms", "added p50 ms",
                   "chunk gap p50 ms", "p99 ms", "added gap p99 ms", "errors"], cells)


def _overhead(rows: list, row, field: str) -> float | None:
    """Milliseconds `row` adds over the direct call to the same provider format."""
    base = baseline(rows, row, "upstream")
    return _difference(getattr(row, field), base and getattr(base, field))


def translation_table(load: list[LoadRow], streams) -> list[str]:
    """Per gateway and provider format, the overhead (over direct) of the translated path against
    the pass-through's: whole responses at concurrency 1, plain and streamed, and the paced first
    token; and the ratio of their CPU per request (the paced streams have none: they mostly wait)."""
    at_c1 = [row for row in load if row.connections == 1]
    measures = (("plain", [row for row in at_c1 if not row.stream], "p50_ms", "p99_ms"),
                ("stream", [row for row in at_c1 if row.stream], "p50_ms", "p99_ms"),
                ("stream first token", streams, "first_token_p50_ms", "first_token_p99_ms"))
    arms = list(dict.fromkeys(row.arm for row in load if row.arm != BASELINE))
    upstreams = list(dict.fromkeys(row.upstream for row in load))
    cells = []
    for label, rows, *fields in measures:
        for row in (r for r in rows if r.arm != BASELINE and r.surface != r.upstream):
            passthrough = next((r for r in rows if r.arm == row.arm and r.surface == r.upstream == row.upstream), None)
            if passthrough is None:
                continue
            figures = []
            for field in fields:
                passthrough_added, translated_added = _overhead(rows, passthrough, field), _overhead(rows, row, field)
                figures += [_signed(passthrough_added), _signed(translated_added),
                            _ratio(translated_added, passthrough_added)]
            cpu = _ratio(getattr(row, "cpu_ms_per_request", None), getattr(passthrough, "cpu_ms_per_request", None))
            cells.append((arms.index(row.arm), upstreams.index(row.upstream),
                          [_pair(row), label, row.arm, *figures, cpu]))
    cells.sort(key=lambda cell: cell[:2])  # stable: measures stay in order within an arm and upstream
    return _table(["translated request", "measure", "arm", "pass-through added p50 ms", "translated added p50 ms",
                   "ratio p50", "pass-through added p99 ms", "translated added p99 ms", "ratio p99", "CPU ratio"],
                  [cell for *_, cell in cells])


def slow_streams_table(rows) -> list[str]:
    cells = []
    for row in rows:
        base = baseline(rows, row)
        cells.append([row.arm, _number(row.target), _number(row.ramp_s, 1), _number(row.held),
                      _number(row.left_open), _number(row.stream_errors), _number(row.first_byte_p50_ms),
                      _number(row.first_byte_max_ms), _number(row.first_byte_late), _number(row.plain_requests),
                      _number(row.plain_p50_ms), _number(row.plain_p99_ms),
                      _added(row.plain_p99_ms, base and base.plain_p99_ms), _number(row.plain_errors),
                      _number(row.rss_mb, 1)])
    return _table(["arm", "streams", "ramp s", "held", "left open", "stream errors", "first byte p50 ms",
                   "first byte max ms", "first byte > 1 s", "plain requests", "plain p50 ms", "plain p99 ms",
                   "added p99 ms", "plain errors", "worker RSS MB"], cells)


def memory_table(rows) -> list[str]:
    """Each soak reading also shows the worker's RSS growth since the arm's first soak reading."""
    first_soak = {}
    cells = []
    for row in rows:
        growth = ""
        if row.after == "soak":
            base = first_soak.setdefault(row.arm, row.worker_rss_mb)
            growth = f"{(row.worker_rss_mb / base - 1) * 100:+.1f} %" if base else ""
        cells.append([row.arm, row.after, _number(row.requests), _number(row.worker_rss_mb, 1),
                      _number(row.total_rss_mb, 1), growth])
    return _table(["arm", "after", "requests", "worker RSS MB", "all processes RSS MB", "worker growth in soak"],
                  cells)


def markdown(results: Results) -> str:
    meta = results.meta
    lines = [f"# Cortex benchmark — {meta['date']}", "",
             f"{meta['machine']}; gateway on core {meta['pinning']['gateway']}, wrk and mocks on core "
             f"{meta['pinning']['load']}; {meta['seconds_per_run']} s per run; commit {meta['commit']}.",
             "Requests are named client surface → provider format. Gateway figures are read against the direct "
             "arm of this same run calling the same provider format (a translated request against the identical "
             "upstream exchange made directly).", ""]
    sections = [
        ("Latency at concurrency 1 (nginx mock)", latency_table(results.load)),
        ("Throughput (nginx mock)", throughput_table(results.load)),
        (f"Streaming, concurrency 1 (paced mock: {meta['paces']['paced']})", streams_table(results.streams)),
        ("Translation against pass-through to the same provider format (added over direct, concurrency 1)",
         translation_table(results.load, results.streams)),
        (f"Slow streams held at once (paced mock: {meta['paces']['slow']}), plain requests at concurrency 1 "
         "meanwhile", slow_streams_table(results.slow_streams)),
        ("Memory", memory_table(results.memory)),
    ]
    for title, table in sections:
        if len(table) > 2:
            lines += [f"## {title}", "", *table, ""]
    return "\n".join(lines)
