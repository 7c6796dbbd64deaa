"""The static HTML report of an account's activity: one self-contained page, charts as inline SVG.

`postloop simulate --report DIR` and `postloop report` write it from the same data model
(postloop_local.activity), so a simulated run and a deployed account look the same. The page
holds no script and loads nothing: its Content-Security-Policy forbids scripts and any fetch, and
every text from the data (posts, types, reasons) is escaped by `charts.esc`.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime, timezone
from pathlib import Path

from postloop_local import charts
from postloop_local.activity import Activity, PostView, parse_iso

# No script may run and nothing may be fetched: only the inline styles and the inline SVG.
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"

STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#222;margin:0;background:#f6f6f4}
main{max-width:780px;margin:0 auto;padding:24px 20px 60px}
h1{font-size:26px;margin:8px 0 4px}h2{font-size:19px;margin:34px 0 6px}
.source{color:#666;font-size:14px;margin:0 0 16px}
.cards{display:flex;flex-wrap:wrap;gap:10px}
.card{background:#fff;border:1px solid #e3e3e3;border-radius:8px;padding:10px 14px;min-width:140px}
.card b{display:block;font-size:22px}.card span{color:#666;font-size:13px}
figure{margin:10px 0;background:#fff;border:1px solid #e3e3e3;border-radius:8px;padding:12px;overflow-x:auto}
figcaption{color:#555;font-size:13px;margin-top:6px}
.post{background:#fff;border:1px solid #e3e3e3;border-radius:8px;padding:12px 14px;margin:10px 0}
.post .meta{color:#555;font-size:13px;margin-bottom:6px}
.post p{margin:6px 0;white-space:pre-wrap;overflow-wrap:anywhere}
.post.best{border-left:4px solid #009E73}.post.worst{border-left:4px solid #D55E00}
table{border-collapse:collapse;background:#fff;font-size:13px}
td,th{border:1px solid #e3e3e3;padding:4px 8px;text-align:right}th{background:#fafafa}
td:first-child,th:first-child{text-align:left}
.note{color:#666;font-size:13px}
"""

def _e(text) -> str:
    """Every text of the page goes through charts.esc, the one escaping guard (tested)."""
    return charts.esc(text)


def _pct(v: float | None, digits: int = 2) -> str:
    return "–" if v is None else f"{v * 100:.{digits}f} %"


def _t(p: PostView, key: str = "time") -> datetime:
    return parse_iso(getattr(p, key))


def share_periods(activity: Activity, periods: int = 10) -> tuple[list[tuple[str, dict[str, float]]], list[int], int]:
    """The posted content types' shares in up to `periods` equal stretches of the activity's days,
    each labelled with its first date; with the posts in each and the stretch's length in days."""
    posted = [p for p in activity.posted if p.content_type]
    if not posted:
        return [], [], 0
    times = [_t(p) for p in posted]
    first = min(times).replace(hour=0, minute=0, second=0, microsecond=0)
    span_days = max(1, (max(times) - first).days + 1)
    size = max(1, -(-span_days // periods))
    n = -(-span_days // size)
    buckets: list[Counter] = [Counter() for _ in range(n)]
    for p, t in zip(posted, times):
        buckets[min(n - 1, (t - first).days // size)][p.content_type] += 1
    out, totals = [], []
    for i, b in enumerate(buckets):
        lo = first.toordinal() + i * size
        label = datetime.fromordinal(lo).strftime("%m-%d")
        total = sum(b.values())
        out.append((label, {k: v / total for k, v in b.items()} if total else {}))
        totals.append(total)
    return out, totals, size


def hour_type_grid(activity: Activity) -> tuple[list[str], dict, dict]:
    counts: Counter = Counter()
    rates: dict = defaultdict(list)
    for p in activity.posted:
        if p.hour is None or not p.content_type:
            continue
        key = (f"{p.hour:02d}:00", p.content_type)
        counts[key] += 1
        if p.engagement_rate is not None:
            rates[key].append(p.engagement_rate)
    hours = sorted(set(activity.posting_hours) | {p.hour for p in activity.posted if p.hour is not None})
    return [f"{h:02d}:00" for h in hours], counts, {k: sum(v) / len(v) for k, v in rates.items()}


def cumulative_spend(activity: Activity) -> tuple[list, list]:
    x = o = 0.0
    xs, os_ = [], []
    for p in sorted(activity.posts, key=lambda p: p.time):
        x += p.spend_x_usd
        o += p.spend_openai_usd
        xs.append((_t(p), x))
        os_.append((_t(p), o))
    return xs, os_


def monthly_spend(activity: Activity) -> list[tuple[str, float, float]]:
    months: dict[str, list[float]] = {}
    for p in activity.posts:
        m = months.setdefault(p.time[:7], [0.0, 0.0])
        m[0] += p.spend_x_usd
        m[1] += p.spend_openai_usd
    return [(k, v[0], v[1]) for k, v in sorted(months.items())]


def _cards(activity: Activity) -> str:
    statuses = Counter(p.status for p in activity.posts)
    settled = [p for p in activity.posted if p.settled]
    followers = [(p.posted_at, p.followers_at_post) for p in activity.posted
                 if p.posted_at and p.followers_at_post is not None]
    followers.sort()
    spend_x = sum(p.spend_x_usd for p in activity.posts)
    spend_ai = sum(p.spend_openai_usd for p in activity.posts)
    latest = activity.models[-1] if activity.models else None
    items = [
        (str(len(activity.posts)), "decisions: " + ", ".join(f"{k} {v}" for k, v in sorted(statuses.items()))),
        (str(len(activity.posted)), f"posted ({len(settled)} settled at 48 h)"),
        (_pct(sum(p.engagement_rate for p in settled) / len(settled)) if settled else "–",
         "mean engagement rate at 48 h"),
        (f"{followers[-1][1]:,}" if followers else "–",
         f"followers ({followers[-1][1] - followers[0][1]:+,} since the first post shown)" if followers
         else "followers (none recorded)"),
        (f"${spend_x + spend_ai:,.2f}", f"spend: X ${spend_x:,.2f}, OpenAI ${spend_ai:,.2f}"),
        ("trusted" if latest and latest.engagement_trusted else ("not yet" if latest else "–"),
         "the engagement model (latest version)"),
    ]
    return '<div class="cards">' + "".join(
        f'<div class="card"><b>{_e(v)}</b><span>{_e(label)}</span></div>' for v, label in items) + "</div>"


def _figure(svg: str, caption: str) -> str:
    return f"<figure>{svg}<figcaption>{_e(caption)}</figcaption></figure>"


def _post_card(p: PostView, kind: str) -> str:
    bits = [kind, p.posted_at[:10] if p.posted_at else p.time[:10]]
    if p.hour is not None:
        bits.append(f"{p.hour:02d}:00 local")
    bits.append(p.content_type or "–")
    if p.quality is not None:
        bits.append(f"quality {p.quality:.2f}")
    bits.append(f"predicted {_pct(p.predicted)}")
    if p.outcome_hours:
        bits.append(f"actual {_pct(p.engagement_rate)} at {p.outcome_hours} h")
    if p.impressions is not None:
        engaged = (p.likes or 0) + (p.retweets or 0) + (p.replies or 0)
        bits.append(f"{p.impressions:,} impressions, {engaged:,} engagements")
    parts = "".join(f"<p>{_e(part)}</p>" for part in p.parts) or "<p>(no text)</p>"
    return (f'<article class="post {kind}"><div class="meta">{_e(" · ".join(bits))}</div>{parts}'
            f'<div class="note">{_e(p.decision_id)}</div></article>')


def render(activity: Activity, generated_at: datetime | None = None) -> str:
    """The report's HTML (one page, no external resource)."""
    generated_at = generated_at or datetime.now(timezone.utc)
    types = activity.content_types
    periods, totals, days_per_bar = share_periods(activity)
    rows, counts, rates = hour_type_grid(activity)
    points = [(p.predicted, p.engagement_rate, "model trusted" if p.model_trusted else "model not trusted yet")
              for p in activity.posted if p.predicted is not None and p.settled]
    m = activity.models
    mt = [parse_iso(s.fitted_at) for s in m]
    t_range = (mt[0], mt[-1]) if mt else None   # both skill charts on one time axis
    followers = sorted((parse_iso(p.posted_at), float(p.followers_at_post)) for p in activity.posted
                       if p.posted_at and p.followers_at_post is not None)
    spend_x, spend_ai = cumulative_spend(activity)
    best, worst = activity.best_and_worst(3)
    latest = m[-1] if m else None

    sections = [
        f"<h1>postloop · {_e(activity.account_id)}</h1>",
        f'<p class="source">{_e(activity.source)}. Generated {generated_at:%Y-%m-%d %H:%M} UTC. '
        f"Hours are the audience's local time ({_e(activity.timezone)}).</p>",
        _cards(activity),
        "<h2>What it posts: content type shares over time</h2>",
        _figure(charts.stacked_shares("Content type shares over time", periods, types, totals),
                f"Share of each content type among the posts of {days_per_bar} day(s) from each bar's date; "
                "the bandit shifts towards the types that earn more."),
        "<h2>When and what: hour × content type</h2>",
        _figure(charts.heatmap("Posts by hour and content type", rows, types, counts, rates),
                "Each cell: how many posts went out at that local hour with that type (darker: more), "
                "and their mean engagement rate."),
        "<h2>Predicted against actual engagement</h2>",
        _figure(charts.scatter("Predicted against actual engagement rate", points,
                               {"model trusted": "#0072B2", "model not trusted yet": "#E69F00"}),
                "Each point is a post with its 48 h outcome; on the dashed line the prediction was exact."),
        "<h2>Model skill over time (held-out)</h2>",
        _figure(charts.lines("Engagement model: held-out error", [
            ("ridge model's mean absolute error", "#0072B2", [(t, s.mae) for t, s in zip(mt, m)], ""),
            ("the training mean's (baseline)", "#999999", [(t, s.baseline_mae) for t, s in zip(mt, m)], "5 4"),
        ], "MAE", lambda v: f"{v * 100:.2f}%", y_from_zero=True, t_range=t_range),
            "Each model version is scored on the newest settled posts it was not fitted on; below the grey "
            "line it predicts better than the average, and the gate starts to trust it."
            + (f" Latest: {latest.version}, held-out R² {latest.r2:.3f}." if latest and latest.r2 is not None else "")),
        _figure(charts.lines("Follow model: held-out negative log-likelihood", [
            ("logistic model's", "#009E73", [(t, s.log_loss) for t, s in zip(mt, m)], ""),
            ("the base rate's (baseline)", "#999999", [(t, s.baseline_log_loss) for t, s in zip(mt, m)], "5 4"),
        ], "−log-likelihood", lambda v: f"{v:.3f}", t_range=t_range),
            "New followers the model was not fitted on (the daily follower deltas, or each post's own follows "
            "where X's analytics count them), per observation, up to a constant; lower is better."
            + (f" Latest AUC {latest.auc:.3f}." if latest and latest.auc is not None else "")),
        "<h2>Followers</h2>",
        _figure(charts.lines("Followers", [("followers when each post went out", "#CC79A7", followers, "")],
                             "followers", lambda v: f"{v:,.0f}"),
                "The account's follower count read when each post was published."),
        "<h2>Spend</h2>",
        _figure(charts.lines("Cumulative spend", [
            ("X (posts and reads)", "#0072B2", spend_x, ""), ("OpenAI", "#E69F00", spend_ai, "")],
            "US dollars", lambda v: f"${v:,.2f}", y_from_zero=True),
            "What the loop spent, summed over time (X's pay-per-use prices; OpenAI's tokens)."),
        _month_table(activity),
        "<h2>The best and worst posts</h2>",
        '<p class="note">By engagement rate at 48 h (or the latest outcome when none has settled).</p>',
        "".join(_post_card(p, "best") for p in best) + "".join(_post_card(p, "worst") for p in worst)
        or '<p class="note">No post has an outcome yet.</p>',
    ]
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>postloop report · {_e(activity.account_id)}</title><style>{STYLE}</style></head>"
            f"<body><main>{''.join(sections)}</main></body></html>\n")


def _month_table(activity: Activity) -> str:
    rows = monthly_spend(activity)
    if not rows:
        return ""
    body = "".join(f"<tr><td>{_e(mo)}</td><td>${x:,.2f}</td><td>${o:,.2f}</td><td>${x + o:,.2f}</td></tr>"
                   for mo, x, o in rows)
    return ("<table><tr><th>month (UTC)</th><th>X</th><th>OpenAI</th><th>total</th></tr>" + body + "</table>")


def write(activity: Activity, out_dir: Path, generated_at: datetime | None = None) -> Path:
    """Write the report to `out_dir`/index.html (the folder is made if needed); returns the file."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    page = out_dir / "index.html"
    page.write_text(render(activity, generated_at), encoding="utf-8")
    return page
