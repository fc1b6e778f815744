"""Turn the suite's figures into rows: each figure at the measured sizes, extrapolated, against its target."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .suite import REGISTRY_SIZE

Getter = Callable[[Mapping[str, Any]], float | None]


@dataclass(frozen=True)
class Row:
    """One figure of the report."""

    label: str
    get: Getter
    unit: str
    target: tuple[str, float] | None = None  # ("<=", 900.0): what the figure must be at REGISTRY_SIZE
    scales: bool = True  # grows with the registry (extrapolate) or a per-request/per-trial figure


def _at(*keys: str) -> Getter:
    def get(figures: Mapping[str, Any]) -> float | None:
        node: Any = figures
        for key in keys:
            if not isinstance(node, Mapping) or key not in node:
                return None
            node = node[key]
        return float(node) if isinstance(node, int | float) else None

    return get


def _mb(*keys: str) -> Getter:
    get = _at(*keys)
    return lambda figures: (value / 1e6 if (value := get(figures)) is not None else None)


def _max_worker_rss(figures: Mapping[str, Any]) -> float | None:
    values = figures.get("serve", {}).get("worker_peak_rss_mb") or []
    return max(values) if values else None


# Kinds of request measured under gunicorn: label, key in the figures, target share of the ceiling.
SERVED = (
    ("trial HTML, 1,000 in turn", "trial_html", 0.3),
    ("trial JSON-LD, 1,000 in turn", "trial_jsonld", 0.5),
    ("trial Turtle, 1,000 in turn", "trial_turtle", 0.5),
    ("one trial's HTML, repeated", "trial_html_hot", None),
    ("one trial's JSON-LD, repeated", "trial_jsonld_hot", None),
    ("one trial's Turtle, repeated", "trial_turtle_hot", None),
    ("condition feed", "condition_feed", 0.5),
    ("304", "not_modified", 0.8),
)

ROWS = [
    Row("full load: wall time", _at("load", "wall_s"), "s", ("<=", 900.0)),
    Row("  of which the SQL store", _at("load", "sql_wall_s"), "s"),
    Row("  of which the triple store", _at("index", "wall_s"), "s"),
    Row("full load: records/s", _at("load", "records_s"), "/s", scales=False),
    Row("full load: peak RSS", _at("load", "peak_rss_mb"), "MB", ("<=", 2048.0)),
    Row("  triple store fill: peak RSS", _at("index", "peak_rss_mb"), "MB"),
    Row("store on disk: SQLite", _mb("load", "sqlite_bytes"), "MB"),
    Row("store on disk: PostgreSQL", _mb("load", "postgresql_bytes"), "MB"),
    Row("store on disk: triple store and the rest", _mb("load", "other_bytes"), "MB"),
    Row("full sync, 5k changes: wall time", _at("sync_full", "wall_s"), "s", ("<=", 120.0)),
    Row("full sync, 5k changes: peak RSS", _at("sync_full", "peak_rss_mb"), "MB"),
    Row("incremental sync of 5k changes: wall time", _at("sync_incremental", "wall_s"), "s", scales=False),
    *(
        Row(f"render {fmt}: first request, median", _at("render", fmt, "first_ms", "median"), "ms", scales=False)
        for fmt in ("html", "jsonld", "ttl", "nt", "rdf")
    ),
    Row("serve: trivial route (ceiling)", _at("serve", "ceiling", "req_s"), "req/s", scales=False),
    *(
        Row(f"serve: {label} / ceiling", _at("serve", key, "ratio"), "", (">=", floor) if floor else None, scales=False)
        for label, key, floor in SERVED
    ),
    # The workers hold a bounded rendition cache, not the registry: their memory is not extrapolated.
    Row("serve: web worker peak RSS", _max_worker_rss, "MB", scales=False),
    Row("SPARQL: median of 10 queries, Oxigraph", _at("sparql", "oxigraph_median_ms"), "ms", ("<=", 100.0)),
    Row("SPARQL: rdflib / Oxigraph speed-up", _at("sparql", "speedup"), "x", (">=", 50.0), scales=False),
    *(
        row
        for run, label in (("load_mix", "load, 32 connections"), ("load_sync", "load during a sync"))
        for row in (
            Row(f"{label}: requests", _at(run, "requests"), "", scales=False),
            Row(f"{label}: errors", _at(run, "errors"), "", ("<=", 0.0), scales=False),
            *(Row(f"{label}: latency {p}", _at(run, f"{p}_ms"), "ms", scales=False) for p in ("p50", "p95", "p99")),
            *(Row(f"{label}: web workers' RSS at the {when}", _at(run, "worker_rss_mb", when), "MB", scales=False)
              for when in ("start", "middle", "end")),
            Row(f"{label}: trial documents checked", _at(run, "consistency", "checked"), "", scales=False),
            Row(f"{label}: of which showed the new version", _at(run, "consistency", "new"), "", scales=False),
            Row(f"{label}: torn reads", _at(run, "consistency", "torn"), "", ("<=", 0.0), scales=False),
        )
        if run == "load_sync" or "new version" not in row.label
    ),
    Row("load during a sync: the sync's wall time", _at("load_sync", "sync", "wall_s"), "s", scales=False),
]


def extrapolate(points: Mapping[int, float], to: int = REGISTRY_SIZE) -> float | None:
    """Fit a line through the two largest measured sizes and read it at ``to``."""
    if to in points:
        return points[to]
    sizes = sorted(n for n in points if n < to)
    if len(sizes) < 2:
        return None
    n1, n2 = sizes[-2], sizes[-1]
    slope = (points[n2] - points[n1]) / (n2 - n1)
    return points[n2] + slope * (to - n2)


def table(figures: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Build the report's rows from the suite's figures."""
    by_size = {int(size): result for size, result in figures["sizes"].items()}
    rows: list[dict[str, Any]] = []
    for row in ROWS:
        points = {size: value for size, result in by_size.items() if (value := row.get(result)) is not None}
        if not points:
            rows.append({"label": row.label, "unit": row.unit, "points": {}, "registry": None, "extrapolated": False,
                         "measured_at_registry": False, "target": _target_text(row), "met": None})
            continue
        registry = extrapolate(points) if row.scales else points[max(points)]
        rows.append({
            "label": row.label,
            "unit": row.unit,
            "points": {str(n): v for n, v in sorted(points.items())},
            "registry": registry,
            "measured_at_registry": REGISTRY_SIZE in points,
            "extrapolated": row.scales and REGISTRY_SIZE not in points,
            "target": _target_text(row),
            "met": _met(row, registry),
        })
    return rows


def _target_text(row: Row) -> str:
    if row.target is None:
        return ""
    op, value = row.target
    return f"{'≤' if op == '<=' else '≥'} {value:g}{(' ' + row.unit) if row.unit else ''}"


def _met(row: Row, value: float | None) -> bool | None:
    if row.target is None or value is None:
        return None
    op, limit = row.target
    return value <= limit if op == "<=" else value >= limit


def _cells(rows: list[dict[str, Any]], sizes: list[int]) -> list[list[str]]:
    head = ["figure", *[f"{n:,}" for n in sizes if n != REGISTRY_SIZE], f"{REGISTRY_SIZE:,}", "target", "met"]
    lines = [head]
    for row in rows:
        cells = [row["label"] + (f" ({row['unit']})" if row["unit"] else "")]
        cells += [_num(row["points"].get(str(n))) for n in sizes if n != REGISTRY_SIZE]
        registry = _num(row["registry"])
        if row["registry"] is not None and row["extrapolated"]:
            registry += " (extrap.)"
        cells += [registry, row["target"], {True: "yes", False: "NO", None: ""}[row["met"]]]
        lines.append(cells)
    return lines


def render_text(rows: list[dict[str, Any]], sizes: list[int]) -> str:
    """Lay the rows out as a plain-text table."""
    return _lay_out(_cells(rows, sizes), markdown=False)


def render_markdown(rows: list[dict[str, Any]], sizes: list[int]) -> str:
    """Lay the rows out as a Markdown table."""
    return _lay_out(_cells(rows, sizes), markdown=True)


def load_table(figures: Mapping[str, Any], markdown: bool = False) -> str:
    """Lay out the load step's latency by kind of request, quiet and during the sync, at the largest size."""
    runs = [
        (name, result[name]) for result in (figures["sizes"][max(figures["sizes"], key=int)],)
        for name in ("load_mix", "load_sync") if isinstance(result.get(name), Mapping)
    ]
    if not runs:
        return ""
    head = ["kind of request"] + [f"{'quiet' if name == 'load_mix' else 'during sync'}: {col}"
                                  for name, _ in runs for col in ("requests", "errors", "p50 ms", "p95 ms", "p99 ms")]
    kinds = [*sorted({kind for _, run in runs for kind in run.get("kinds", {})}), "(all)"]
    lines = [head]
    for kind in kinds:
        cells = [kind]
        for _name, run in runs:
            data = run if kind == "(all)" else run.get("kinds", {}).get(kind, {})
            cells += [_num(data.get("requests")), _num(data.get("errors"))]
            cells += [_num(data.get(f"{p}_ms")) for p in ("p50", "p95", "p99")]
        lines.append(cells)
    return _lay_out(lines, markdown)


def _lay_out(lines: list[list[str]], markdown: bool) -> str:
    if markdown:
        out = ["| " + " | ".join(lines[0]) + " |", "|" + " --- |" * len(lines[0])]
        return "\n".join(out + ["| " + " | ".join(line) + " |" for line in lines[1:]])
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)) for line in lines)


def _num(value: float | None) -> str:
    if value is None:
        return "–"
    if float(value).is_integer():
        return f"{value:,.0f}"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 1:
        return f"{value:.1f}"
    return f"{value:.2f}"
