"""Markdown tables of a run: absolute figures per arm, and each gateway against direct."""
import math

from results import LoadRow, Results, baseline


def _number(value, digits: int = 2) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:,.{digits}f}" if isinstance(value, float) else f"{value:,}"


def _added(value, base) -> str:
    """Milliseconds added over direct."""
    if base is None or value is None or math.isnan(value) or math.isnan(base):
        return "–"
    return f"{value - base:+.2f}"


def _ratio(value, base) -> str:
    return f"{value / base:.2f}×" if base else "–"


def _table(headers: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


def _kind(row) -> str:
    return f"{row.surface}{' stream' if getattr(row, 'stream', False) else ''}"


def latency_table(rows: list[LoadRow]) -> list[str]:
    cells = []
    for row in (r for r in rows if r.connections == 1):
        base = baseline(rows, row, "stream", "connections")
        cells.append([_kind(row), row.arm, _number(row.p50_ms), _number(row.p99_ms),
                      _added(row.p50_ms, base and base.p50_ms), _added(row.p99_ms, base and base.p99_ms),
                      _number(row.cpu_ms_per_request)])
    return _table(["request", "arm", "p50 ms", "p99 ms", "added p50 ms", "added p99 ms", "CPU ms/req"], cells)


def throughput_table(rows: list[LoadRow]) -> list[str]:
    cells = []
    for row in (r for r in rows if r.connections > 1):
        base = baseline(rows, row, "stream", "connections")
        cells.append([_kind(row), str(row.connections), row.arm, _number(row.rps, 0),
                      _ratio(row.rps, base and base.rps), _number(row.p99_ms), _number(row.errors),
                      _number(row.cpu_ms_per_request)])
    return _table(["request", "connections", "arm", "req/s", "vs direct", "p99 ms", "errors", "CPU ms/req"], cells)


def streams_table(rows) -> list[str]:
    cells = []
    for row in rows:
        base = baseline(rows, row)
        cells.append([row.surface, row.arm, _number(row.streams),
                      _number(row.first_token_p50_ms), _number(row.first_token_p99_ms),
                      _added(row.first_token_p50_ms, base and base.first_token_p50_ms),
                      _number(row.gap_p50_ms), _number(row.gap_p99_ms),
                      _added(row.gap_p99_ms, base and base.gap_p99_ms), _number(row.errors)])
    return _table(["surface", "arm", "streams", "first token p50 ms", "p99 ms", "added p50 ms",
                   "chunk gap p50 ms", "p99 ms", "added gap p99 ms", "errors"], cells)


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
             "Gateway figures are read against the direct arm of this same run (the Anthropic surface "
             "against the identical OpenAI upstream exchange made directly).", ""]
    sections = [
        ("Latency at concurrency 1 (nginx mock)", latency_table(results.load)),
        ("Throughput (nginx mock)", throughput_table(results.load)),
        (f"Streaming, concurrency 1 (paced mock: {meta['paces']['mock-paced']})", streams_table(results.streams)),
        (f"Slow streams held at once (paced mock: {meta['paces']['mock-slow']}), plain requests at concurrency 1 "
         "meanwhile", slow_streams_table(results.slow_streams)),
        ("Memory", memory_table(results.memory)),
    ]
    for title, table in sections:
        if len(table) > 2:
            lines += [f"## {title}", "", *table, ""]
    return "\n".join(lines)
