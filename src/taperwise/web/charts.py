"""Vega-Lite specs for the participant timeline (rendered in the browser by vega-embed).

The spec is plain data built here, so it is testable without a browser: severity bands of the
instrument as shaded rectangles, the instrument totals as a line, doses as vertical rules
(held doses dashed) and adverse events as ticks on the time axis.

Example
-------
>>> spec = timeline_spec("cows", [], [], [])
>>> spec["$schema"].startswith("https://vega.github.io/schema/vega-lite/")
True
"""

from __future__ import annotations

from typing import Any

BAND_COLOURS = ["#e8f5e9", "#fff8e1", "#ffe0b2", "#ffcdd2", "#f8bbd0"]


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def timeline_spec(
    instrument: str,
    assessments: list[dict[str, Any]],
    doses: list[dict[str, Any]],
    adverse_events: list[dict[str, Any]],
) -> dict[str, Any]:
    """A layered Vega-Lite spec of one instrument's trajectory with bands, doses and AEs."""
    from taperwise.instruments import get_instrument

    inst = get_instrument(instrument)
    ymax = inst.max_total
    bands = [
        {
            "band": band.label,
            "y": band.min,
            "y2": band.max + 1 if band.max is not None else ymax,
            "colour": BAND_COLOURS[i % len(BAND_COLOURS)],
        }
        for i, band in enumerate(inst.bands)
    ]
    points = [
        {"time": _iso(a["time"]), "total": a["total"], "band": a["band"] or "no band"}
        for a in assessments
        if a["instrument"] == instrument and a["complete"] and a["total"] is not None
    ]
    times = [p["time"] for p in points]
    dose_rows = [
        {"time": _iso(d["time"]), "dose": "given" if d["given"] else "held"} for d in doses
    ]
    ae_rows = [
        {"time": _iso(e["onset"]), "term": e["term"], "grade": e["grade"]} for e in adverse_events
    ]
    all_times = times + [d["time"] for d in dose_rows] + [e["time"] for e in ae_rows]
    x = {"field": "time", "type": "temporal", "title": "time (UTC)"}
    if all_times:
        x["scale"] = {"domain": [min(all_times), max(all_times)]}
    layers: list[dict[str, Any]] = []
    if bands:
        layers.append(
            {
                "data": {"values": bands},
                "mark": {"type": "rect", "opacity": 0.6},
                "encoding": {
                    "y": {"field": "y", "type": "quantitative", "scale": {"domain": [0, ymax]}},
                    "y2": {"field": "y2"},
                    "color": {
                        "field": "band",
                        "type": "nominal",
                        "scale": {
                            "domain": [b["band"] for b in bands],
                            "range": [b["colour"] for b in bands],
                        },
                        "legend": {"title": f"{inst.short_name} band"},
                    },
                },
            }
        )
    layers.append(
        {
            "data": {"values": dose_rows},
            "mark": {"type": "rule", "color": "#1565c0", "opacity": 0.5},
            "encoding": {
                "x": x,
                "strokeDash": {
                    "field": "dose",
                    "type": "nominal",
                    "scale": {"domain": ["given", "held"], "range": [[1, 0], [4, 3]]},
                    "legend": {"title": "dose"},
                },
                "tooltip": [{"field": "time", "type": "temporal"}, {"field": "dose"}],
            },
        }
    )
    layers.append(
        {
            "data": {"values": points},
            "mark": {"type": "line", "point": True, "color": "#263238"},
            "encoding": {
                "x": x,
                "y": {
                    "field": "total",
                    "type": "quantitative",
                    "title": f"{inst.short_name} total",
                    "scale": {"domain": [0, ymax]},
                },
                "tooltip": [
                    {"field": "time", "type": "temporal", "format": "%Y-%m-%d %H:%M"},
                    {"field": "total"},
                    {"field": "band"},
                ],
            },
        }
    )
    layers.append(
        {
            "data": {"values": ae_rows},
            "mark": {"type": "point", "shape": "triangle-up", "color": "#c62828", "size": 80},
            "encoding": {
                "x": x,
                "y": {"datum": 0},
                "tooltip": [
                    {"field": "term"},
                    {"field": "grade"},
                    {"field": "time", "type": "temporal"},
                ],
            },
        }
    )
    return {
        "$schema": "https://vega.github.io/schema/vega-lite/v6.json",
        "description": f"{inst.short_name} trajectory with severity bands, doses and adverse events",
        "width": "container",
        "height": 260,
        "layer": layers,
        "resolve": {"scale": {"color": "independent"}},
    }
