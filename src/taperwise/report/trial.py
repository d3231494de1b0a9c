"""The trial report: one self-contained HTML file (inline SVG charts, inline CSS, no scripts).

Nothing in the page is fetched: a Content-Security-Policy of ``default-src 'none'`` makes the
browser refuse any request, and the charts are inline SVG.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from taperwise.report import trial_charts as charts

_CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:2rem auto;max-width:1050px;
color:#222;line-height:1.4;padding:0 1rem}
h1{font-size:1.5rem}h2{font-size:1.15rem;border-bottom:1px solid #ccc;margin-top:2rem}
table{border-collapse:collapse;margin:.5rem 0;font-size:.85rem}
th,td{border:1px solid #ccc;padding:.2rem .5rem;text-align:right}th{background:#f3f3f3}
td.l,th.l{text-align:left}.note{color:#555;font-size:.85rem}.warn{color:#8a4b00}
.consort{display:flex;flex-direction:column;align-items:center;gap:.4rem;font-size:.85rem}
.consort .row{display:flex;gap:1rem;justify-content:center;flex-wrap:wrap}
.box{border:1.5px solid #1f4e79;border-radius:4px;padding:.35rem .7rem;background:#f7fbff;
text-align:center;min-width:9rem}.arrow{color:#1f4e79}
figure{margin:.5rem 0}svg{max-width:100%;height:auto}
pre{background:#f6f6f6;padding:.5rem;font-size:.75rem;overflow:auto}
"""

_TEMPLATE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy"
 content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Trial analysis report: {{ study }}</title><style>{{ css }}</style></head>
<body>
<h1>Trial analysis report: {{ study }}</h1>
<p class="note">Produced by taperwise.analysis (SAP run on the analysis dataset). Results are
stated as measured, with {{ level }}% confidence intervals; they are not a claim of efficacy.
{% if prov.protocol %}Protocol {{ prov.protocol.id }} version {{ prov.protocol.version }}.{% endif %}
Source: {{ prov.dataset.source or "unknown" }}. taperwise {{ prov.versions.taperwise }}.</p>
{% for n in notes %}<p class="warn">Note: {{ n }}</p>{% endfor %}

<h2>Participant flow (CONSORT)</h2>
<div class="consort">
 <div class="box">Enrolled: {{ consort.enrolled }}</div><div class="arrow">&darr;</div>
 <div class="box">Not randomised: {{ consort.not_randomised }}</div><div class="arrow">&darr;</div>
 <div class="row">{% for a in arms %}<div class="box"><b>{{ a.name }}</b><br>
  randomised {{ consort.randomised[a.id] }}<br>dosed {{ consort.dosed[a.id] }}</div>{% endfor %}</div>
 <div class="arrow">&darr;</div>
 <div class="row">{% for a in arms %}<div class="box">completed {{ consort.completed[a.id] }}<br>
  discontinued {{ consort.discontinued[a.id] }}
  {% for r, k in consort.discontinued_reasons[a.id].items() %}<br><small>{{ r }}: {{ k }}</small>{% endfor %}
  </div>{% endfor %}</div>
 <div class="arrow">&darr;</div>
 <div class="row">{% for a in arms %}<div class="box">analysed (primary)
  {{ consort.analysed_primary[a.id] }}</div>{% endfor %}</div>
</div>

<h2>Primary analysis</h2>
{% if primary.error %}<p class="warn">The primary analysis could not be run: {{ primary.error }}</p>
{% else %}
<p>MMRM of the daily {{ primary.endpoint.instrument }} score on days
{{ primary.endpoint.days|join(", ") }}: <code>{{ primary.formula }}</code>; REML, Satterthwaite df;
covariance <b>{{ primary.covariance }}</b>
(tried: {% for t in primary.covariance_tried %}{{ t.structure }}
{{ "converged" if t.converged else "failed" }}{{ "; " if not loop.last }}{% endfor %}).
{{ primary.n_participants }} participants, {{ primary.n_obs }} scores.</p>
<table><tr><th class="l">comparison</th><th class="l">day</th><th>estimate</th><th>CI</th>
<th>p</th><th>df</th></tr>
{% for c in primary.contrasts %}<tr><td class="l"><b>{{ c.arm }} - {{ c.vs }}</b></td>
<td class="l"><b>average</b></td><td>{{ f(c.estimate) }}</td><td>{{ f(c.ci_lb) }} to {{ f(c.ci_ub) }}</td>
<td>{{ p(c.pval) }}</td><td>{{ f(c.df, 1) }}</td></tr>{% endfor %}
{% for c in primary.contrasts_by_day or [] %}<tr><td class="l">{{ c.arm }} - {{ c.vs }}</td>
<td class="l">{{ c.day }}</td><td>{{ f(c.estimate) }}</td><td>{{ f(c.ci_lb) }} to {{ f(c.ci_ub) }}</td>
<td>{{ p(c.pval) }}</td><td>{{ f(c.df, 1) }}</td></tr>{% endfor %}
</table>{% endif %}
{% if traj %}<figure>{{ traj|safe }}<figcaption class="note">Mean trajectories by arm:
LS means with {{ level }}% CIs (solid) and observed means (dotted).</figcaption></figure>{% endif %}

<h2>Completion and time to dropout</h2>
<table><tr><th class="l">arm</th><th>n</th><th>completed</th><th>%</th><th>CI</th></tr>
{% for a, c in completion.by_arm.items() %}<tr><td class="l">{{ a }}</td><td>{{ c.n }}</td>
<td>{{ c.completed }}</td><td>{{ pct(c.proportion) }}</td><td>{{ pct(c.ci_lb) }} to {{ pct(c.ci_ub) }}</td></tr>{% endfor %}
</table>
<table><tr><th class="l">comparison</th><th>risk difference (CI)</th><th>risk ratio (CI)</th></tr>
{% for c in completion.comparisons %}<tr><td class="l">{{ c.arm }} vs {{ c.vs }}</td>
<td>{{ f(c.risk_difference.estimate) }} ({{ f(c.risk_difference.ci_lb) }} to {{ f(c.risk_difference.ci_ub) }})</td>
<td>{{ f(c.risk_ratio.estimate) }} ({{ f(c.risk_ratio.ci_lb) }} to {{ f(c.risk_ratio.ci_ub) }})</td></tr>{% endfor %}
</table>
{% if km %}<figure>{{ km|safe }}<figcaption class="note">Kaplan-Meier estimate of staying in the
study (dropout = event, completers censored). Log-rank p = {{ p(ttd.logrank_p) }}.</figcaption></figure>{% endif %}
{% if ttd.hazard_ratios %}<table><tr><th class="l">Cox HR of dropout</th><th>HR</th><th>CI</th><th>p</th></tr>
{% for h in ttd.hazard_ratios %}<tr><td class="l">{{ h.arm }} vs {{ h.vs }}</td><td>{{ f(h.estimate) }}</td>
<td>{{ f(h.ci_lb) }} to {{ f(h.ci_ub) }}</td><td>{{ p(h.pval) }}</td></tr>{% endfor %}</table>{% endif %}

<h2>Endpoints (forest plot)</h2>
{% if forest %}<figure>{{ forest|safe }}</figure>{% else %}<p class="note">No comparisons.</p>{% endif %}
{% if scores.responders %}<p>Responders ({{ scores.responders.definition }}):
{% for a, c in scores.responders.by_arm.items() %}{{ a }} {{ c.completed }}/{{ c.n }}{{ "; " if not loop.last }}{% endfor %}</p>{% endif %}

<h2>Adverse events</h2>
{% if not ae.n_events %}<p class="note">The dataset has no adverse-event records.</p>{% endif %}
<table><tr><th class="l">participants with</th>{% for a in arms %}<th>{{ a.id }} (n={{ ae.denominator[a.id] }})</th>{% endfor %}</tr>
{% for key, label in [("any", "any AE"), ("grade3plus", "grade &ge; 3"), ("serious", "serious AE"),
 ("led_to_discontinuation", "AE leading to discontinuation")] %}
<tr><td class="l">{{ label|safe }}</td>{% for a in arms %}<td>{{ ae[key][a.id].n }} ({{ ae[key][a.id].pct }}%)</td>{% endfor %}</tr>{% endfor %}
{% for t in ae.by_term %}<tr><td class="l">&nbsp;&nbsp;{{ t.term }}</td>{% for a in arms %}
<td>{{ t.by_arm[a.id].n }} ({{ t.by_arm[a.id].pct }}%)</td>{% endfor %}</tr>{% endfor %}
</table>

<h2>Vital-sign holds and alerts</h2>
{% if not alerts.n and not holds.hold_reasons %}<p class="note">No held doses and no alerts
recorded in this dataset.</p>{% endif %}
<table><tr><th class="l"></th>{% for a in arms %}<th>{{ a.id }}</th>{% endfor %}</tr>
<tr><td class="l">participants with a held dose</td>{% for a in arms %}<td>{{ holds.doses_held[a.id].participants }}</td>{% endfor %}</tr>
<tr><td class="l">held doses</td>{% for a in arms %}<td>{{ holds.doses_held[a.id].doses }}</td>{% endfor %}</tr>
<tr><td class="l">participants with SBP &lt; {{ holds.thresholds.sbp_below }}, DBP &lt; {{ holds.thresholds.dbp_below }},
 HR &lt; {{ holds.thresholds.hr_below }} or symptoms</td>{% for a in arms %}<td>{{ holds.vitals_below_limits[a.id].n }}</td>{% endfor %}</tr>
{% for r in alerts.by_rule %}<tr><td class="l">alerts: {{ r.rule_id }} ({{ r.severity }})</td>{% for a in arms %}
<td>{{ r.alerts[a.id] }}</td>{% endfor %}</tr>{% endfor %}
</table>

<h2>Sensitivity analyses</h2>
{% if sens %}<table><tr><th class="l">analysis</th><th class="l">comparison</th><th>estimate</th><th>CI</th><th>p</th></tr>
{% for name, b in sens.items() if name != "tipping_point" %}
{% if b.contrasts %}{% for c in b.contrasts %}<tr><td class="l">{{ name }}</td><td class="l">{{ c.arm }} - {{ c.vs }}</td>
<td>{{ f(c.estimate) }}</td><td>{{ f(c.ci_lb) }} to {{ f(c.ci_ub) }}</td><td>{{ p(c.pval) }}</td></tr>{% endfor %}
{% else %}<tr><td class="l">{{ name }}</td><td class="l" colspan="4">{{ b.skipped or b.error }}</td></tr>{% endif %}
{% endfor %}</table>
{% if sens.tipping_point and sens.tipping_point.arms %}<p>Tipping point ({{ sens.tipping_point.method }},
{{ sens.tipping_point.n_imputations }} imputations):</p>
<table><tr><th class="l">comparison</th><th>delta</th><th>estimate</th><th>CI</th><th>p</th></tr>
{% for a in sens.tipping_point.arms %}{% for g in a.grid %}<tr><td class="l">{{ a.arm }} - {{ a.vs }}</td>
<td>{{ f(g.delta) }}</td><td>{{ f(g.estimate) }}</td><td>{{ f(g.ci_lb) }} to {{ f(g.ci_ub) }}</td><td>{{ p(g.pval) }}</td></tr>{% endfor %}
<tr><td class="l" colspan="5"><b>{{ a.arm }}:
{% if a.tipping_delta is not none %}the CI first includes 0 at delta {{ f(a.tipping_delta) }}
{% elif a.grid and a.grid[0].ci_lb <= 0 <= a.grid[0].ci_ub %}the CI includes 0 already under MAR
(delta 0): no tipping point{% else %}the CI excludes 0 over the whole grid{% endif %}</b></td></tr>{% endfor %}
</table>{% endif %}
{% else %}<p class="note">Not run.</p>{% endif %}

<h2>Provenance</h2>
<details><summary>options, seed and package versions</summary><pre>{{ prov_json }}</pre></details>
</body></html>
"""


def _f(value: Any, digits: int = 2) -> str:
    if value is None:
        return "-"
    return f"{value:.{digits}f}"


def _p(value: Any) -> str:
    if value is None:
        return "-"
    return "< 0.001" if value < 0.001 else f"{value:.3f}"


def _pct(value: Any) -> str:
    return "-" if value is None else f"{100 * value:.1f}"


def render_report(result: Any) -> str:
    """The HTML report of an :class:`~taperwise.analysis.AnalysisResult` (one string).

    Examples
    --------
    >>> from taperwise.analysis import run_sap, synthetic_dataset, synthetic_sap
    >>> res = run_sap(synthetic_dataset(n_per_arm=8, seed=1), synthetic_sap(days=[1, 2]),
    ...               sensitivity=False)
    >>> render_report(res).startswith("<!DOCTYPE html>")
    True
    """
    import jinja2

    env = jinja2.Environment(autoescape=True, undefined=jinja2.ChainableUndefined)
    data = result.to_dict()
    primary = data.get("primary") or {}
    alpha = primary.get("alpha") or (data["provenance"]["options"]["sap"]["alpha"])
    return env.from_string(_TEMPLATE).render(
        css=_CSS,
        study=data.get("study") or "study",
        level=round(100 * (1 - alpha)),
        prov=data["provenance"],
        prov_json=json.dumps(data["provenance"], indent=2, default=str),
        notes=data.get("notes") or [],
        arms=data["arms"],
        consort=data["consort"],
        primary=primary,
        completion=data["completion"],
        ttd=data["time_to_dropout"],
        scores=data["scores"] or {},
        ae=data["adverse_events"],
        holds=data["holds"],
        alerts=data["alerts"],
        sens=data.get("sensitivity"),
        traj=charts.trajectory_chart(result, primary.get("endpoint", {}).get("instrument", "")),
        km=charts.km_chart(result),
        forest=charts.forest_chart(result),
        f=_f,
        p=_p,
        pct=_pct,
    )


def write_report(result: Any, out: str | Path) -> dict[str, Path]:
    """Write ``results.json`` and ``report.html`` into folder ``out``; returns their paths."""
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    paths = {"results": folder / "results.json", "report": folder / "report.html"}
    paths["results"].write_text(result.to_json())
    html = result.report_html if result.report_html else render_report(result)
    paths["report"].write_text(html, encoding="utf-8")
    return paths
