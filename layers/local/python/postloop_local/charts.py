"""Small SVG charts for the report, drawn in Python: no script, no font or file fetched.

Every piece of text that reaches the SVG goes through `esc`, so a label (a content type, a
post) cannot open an element. Each chart is an `<svg class="figure">` with a viewBox and a
fixed size, so it renders crisply and a test can measure it.
"""
from __future__ import annotations

import html
import math
from datetime import datetime, timedelta

# Colour-blind-friendly categorical colours (Okabe–Ito, then greys).
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000",
           "#999999", "#666666")
INK, GRID, MUTED = "#222222", "#e3e3e3", "#777777"
FONT = 'font-family="system-ui, -apple-system, Segoe UI, Roboto, sans-serif"'


def esc(text) -> str:
    """Text made safe inside HTML or SVG, as element content or a quoted attribute."""
    return html.escape(str(text), quote=True)


def colours(names: list[str]) -> dict[str, str]:
    return {n: PALETTE[i % len(PALETTE)] for i, n in enumerate(names)}


def _svg(width: int, height: int, title: str, body: list[str]) -> str:
    return (f'<svg class="figure" xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" '
            f'height="{height}" viewBox="0 0 {width} {height}" {FONT} font-size="12">'
            f"<title>{esc(title)}</title>" + "".join(body) + "</svg>")


def _text(x: float, y: float, s, anchor: str = "start", size: int | None = None, fill: str = INK,
          extra: str = "") -> str:
    sz = f' font-size="{size}"' if size else ""
    return (f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" fill="{fill}"{sz}{extra}>'
            f"{esc(s)}</text>")


def empty(title: str, message: str, width: int = 720, height: int = 120) -> str:
    """A chart with nothing to draw yet: its frame and why."""
    return _svg(width, height, title, [
        f'<rect x="0.5" y="0.5" width="{width - 1}" height="{height - 1}" fill="#fafafa" stroke="{GRID}"/>',
        _text(width / 2, height / 2 + 4, message, "middle", fill=MUTED)])


def nice_ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    """About `n` round tick values covering [lo, hi]."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        hi = lo + 1.0
    raw = (hi - lo) / max(1, n)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    start = math.floor(lo / step) * step
    ticks, v = [], start
    while v <= hi + step * 1e-9:
        ticks.append(round(v, 12))
        v += step
    return ticks


class Frame:
    """A plotting area inside an SVG: maps data to pixels and draws axes and grid."""

    def __init__(self, width: int, height: int, left: int = 64, right: int = 16, top: int = 16, bottom: int = 40):
        self.width, self.height = width, height
        self.x0, self.x1 = left, width - right
        self.y0, self.y1 = height - bottom, top     # y0 is the bottom edge

    def x(self, frac: float) -> float:
        return self.x0 + frac * (self.x1 - self.x0)

    def y(self, frac: float) -> float:
        return self.y0 + frac * (self.y1 - self.y0)

    def y_axis(self, ticks: list[float], lo: float, hi: float, fmt) -> list[str]:
        out = []
        for t in ticks:
            yy = self.y((t - lo) / (hi - lo))
            out.append(f'<line x1="{self.x0}" x2="{self.x1}" y1="{yy:.1f}" y2="{yy:.1f}" stroke="{GRID}"/>')
            out.append(_text(self.x0 - 6, yy + 4, fmt(t), "end", fill=MUTED))
        out.append(f'<line x1="{self.x0}" x2="{self.x0}" y1="{self.y0}" y2="{self.y1}" stroke="{MUTED}"/>')
        return out


def _legend(items: list[tuple[str, str]], x: float, y: float, max_width: float, marker: str = "rect"
            ) -> tuple[list[str], float]:
    """Legend entries laid out in rows from (x, y); returns the SVG and the height used."""
    out, cx, cy = [], x, y
    for name, colour in items:
        w = 22 + 7 * len(name)
        if cx + w > x + max_width and cx > x:
            cx, cy = x, cy + 18
        if marker == "line":
            out.append(f'<line x1="{cx:.1f}" x2="{cx + 14:.1f}" y1="{cy - 4:.1f}" y2="{cy - 4:.1f}" '
                       f'stroke="{colour}" stroke-width="2.5"/>')
        else:
            out.append(f'<rect x="{cx:.1f}" y="{cy - 10:.1f}" width="12" height="12" fill="{colour}"/>')
        out.append(_text(cx + 18, cy, name))
        cx += w
    return out, cy - y + 18


def stacked_shares(title: str, periods: list[tuple[str, dict[str, float]]], names: list[str],
                   totals: list[int], width: int = 720, height: int = 300) -> str:
    """One bar per period, split by each name's share (0-1) of the period's posts."""
    if not periods or not any(totals):
        return empty(title, "no posts yet", width)
    pal = colours(names)
    legend, lh = _legend([(n, pal[n]) for n in names], 64, 14, width - 80)
    f = Frame(width, height + int(lh), top=int(lh) + 14, bottom=44)
    body = legend + f.y_axis([0, 0.25, 0.5, 0.75, 1.0], 0, 1, lambda t: f"{t:.0%}")
    slot = (f.x1 - f.x0) / len(periods)
    bar = slot * 0.72
    for i, ((label, shares), total) in enumerate(zip(periods, totals)):
        x = f.x0 + i * slot + (slot - bar) / 2
        acc = 0.0
        for n in names:
            share = shares.get(n, 0.0)
            if share <= 0:
                continue
            top, bottom = f.y(acc + share), f.y(acc)
            body.append(f'<rect x="{x:.1f}" y="{top:.1f}" width="{bar:.1f}" height="{bottom - top:.1f}" '
                        f'fill="{pal[n]}"><title>{esc(f"{label}: {n} {share:.0%} of {total} posts")}</title></rect>')
            acc += share
        body.append(_text(x + bar / 2, f.y0 + 16, label, "middle", size=11))
        body.append(_text(x + bar / 2, f.y0 + 30, f"{total} posts", "middle", size=10, fill=MUTED))
    return _svg(width, f.height, title, body)


def _blend(frac: float) -> str:
    """White to a deep blue, for a heatmap cell at `frac` (0-1) of the maximum."""
    lo, hi = (247, 251, 255), (8, 69, 148)
    r, g, b = (round(a + (z - a) * frac) for a, z in zip(lo, hi))
    return f"#{r:02x}{g:02x}{b:02x}"


def heatmap(title: str, rows: list[str], cols: list[str], counts: dict[tuple[str, str], int],
            rates: dict[tuple[str, str], float], width: int = 720) -> str:
    """Rows × columns; each cell's colour is its count, its label the count and the mean rate."""
    if not rows or not cols or not any(counts.values()):
        return empty(title, "no posts yet", width)
    left, top = 64, 40
    cell_w = (width - left - 16) / len(cols)
    cell_h = 30
    height = top + cell_h * len(rows) + 16
    peak = max(counts.values()) or 1
    body = []
    for j, c in enumerate(cols):
        cx = left + (j + 0.5) * cell_w
        label = c if len(c) * 6.5 < cell_w else c[: max(3, int(cell_w / 6.5) - 1)] + "…"
        body.append(_text(cx, top - 22, label, "middle", size=11,
                          extra=f' data-full="{esc(c)}"'))
    body.append(_text(left - 8, top - 6, "hour", "end", size=11, fill=MUTED))
    for i, r in enumerate(rows):
        y = top + i * cell_h
        body.append(_text(left - 8, y + cell_h / 2 + 4, r, "end", size=11))
        for j, c in enumerate(cols):
            n = counts.get((r, c), 0)
            x = left + j * cell_w
            frac = n / peak
            fill = _blend(frac) if n else "#ffffff"
            rate = rates.get((r, c))
            tip = f"{r} · {c}: {n} posts" + (f", mean engagement {rate:.2%}" if rate is not None else "")
            body.append(f'<rect x="{x + 1:.1f}" y="{y + 1:.1f}" width="{cell_w - 2:.1f}" height="{cell_h - 2}" '
                        f'fill="{fill}" stroke="{GRID}"><title>{esc(tip)}</title></rect>')
            if n:
                ink = "#ffffff" if frac > 0.55 else INK
                label = f"{n}" + (f" · {rate * 100:.1f}%" if rate is not None else "")
                body.append(_text(x + cell_w / 2, y + cell_h / 2 + 4, label, "middle", size=11, fill=ink))
    return _svg(width, height, title, body)


def scatter(title: str, points: list[tuple[float, float, str]], series: dict[str, str],
            width: int = 720, height: int = 360) -> str:
    """Predicted (x) against actual (y) with the line where they agree; points coloured by series."""
    if not points:
        return empty(title, "no post has both a prediction and a settled outcome yet", width)
    hi = max(max(p[0] for p in points), max(p[1] for p in points)) * 1.05 or 0.01
    legend, lh = _legend(list(series.items()), 64, 14, width - 80)
    f = Frame(width, height + int(lh), top=int(lh) + 14, bottom=44)
    ticks = [t for t in nice_ticks(0, hi) if t <= hi]
    body = legend + f.y_axis(ticks, 0, hi, lambda t: f"{t * 100:.1f}%")
    for t in ticks:
        xx = f.x(t / hi)
        body.append(f'<line x1="{xx:.1f}" x2="{xx:.1f}" y1="{f.y0}" y2="{f.y1}" stroke="{GRID}"/>')
        body.append(_text(xx, f.y0 + 16, f"{t * 100:.1f}%", "middle", fill=MUTED))
    body.append(f'<line x1="{f.x(0):.1f}" y1="{f.y(0):.1f}" x2="{f.x(1):.1f}" y2="{f.y(1):.1f}" '
                f'stroke="{MUTED}" stroke-dasharray="4 4"/>')
    body.append(_text(f.x(0.5), f.y0 + 34, "predicted engagement rate", "middle", fill=MUTED))
    body.append(_text(14, f.y(0.5), "actual at 48 h", "middle", fill=MUTED,
                      extra=f' transform="rotate(-90 14 {f.y(0.5):.1f})"'))
    for x, y, s in points:
        body.append(f'<circle cx="{f.x(x / hi):.1f}" cy="{f.y(y / hi):.1f}" r="3.5" fill="{series[s]}" '
                    f'fill-opacity="0.75"><title>{esc(f"predicted {x:.2%}, actual {y:.2%} ({s})")}</title></circle>')
    return _svg(width, f.height, title, body)


def _time_ticks(t0: datetime, t1: datetime, n: int = 6) -> list[datetime]:
    span = max((t1 - t0).total_seconds(), 3600.0)
    step_days = max(1, round(span / 86400 / n))
    first = t0.replace(hour=0, minute=0, second=0, microsecond=0)
    out, t = [], first
    while t <= t1:
        if t >= t0:
            out.append(t)
        t += timedelta(days=step_days)
    return out


def lines(title: str, series: list[tuple[str, str, list[tuple[datetime, float]], str]], y_label: str, fmt,
          width: int = 720, height: int = 260, y_from_zero: bool = False,
          t_range: tuple[datetime, datetime] | None = None) -> str:
    """Lines over time: (name, colour, [(time, value)], dash) each, markers where the points are
    few; `t_range` fixes the time axis (to line up several charts)."""
    pts = [(t, v) for _, _, s, _ in series for t, v in s if v is not None and math.isfinite(v)]
    if not pts:
        return empty(title, "nothing measured yet", width)
    t0, t1 = t_range or (min(t for t, _ in pts), max(t for t, _ in pts))
    if t1 == t0:
        t0, t1 = t0 - timedelta(hours=12), t1 + timedelta(hours=12)
    lo, hi = min(v for _, v in pts), max(v for _, v in pts)
    if y_from_zero:
        lo = min(0.0, lo)
    pad = (hi - lo) * 0.08 or abs(hi) * 0.1 or 1.0
    lo, hi = (lo if y_from_zero and lo == 0 else lo - pad), hi + pad
    ticks = [t for t in nice_ticks(lo, hi) if lo <= t <= hi]
    legend, lh = _legend([(name, colour) for name, colour, _, _ in series], 64, 14, width - 80, marker="line")
    f = Frame(width, height + int(lh), top=int(lh) + 14, bottom=40)
    body = legend + f.y_axis(ticks, lo, hi, fmt)
    span = (t1 - t0).total_seconds()

    def xs(t: datetime) -> float:
        return f.x((t - t0).total_seconds() / span)

    for t in _time_ticks(t0, t1):
        body.append(_text(xs(t), f.y0 + 16, t.strftime("%m-%d"), "middle", fill=MUTED))
    body.append(_text(f.x(0.5), f.y0 + 32, "date (UTC)", "middle", size=10, fill=MUTED))
    body.append(_text(14, f.y(0.5), y_label, "middle", fill=MUTED, extra=f' transform="rotate(-90 14 {f.y(0.5):.1f})"'))
    for name, colour, s, dash in series:
        s = [(t, v) for t, v in s if v is not None and math.isfinite(v)]
        if not s:
            continue
        d = " ".join(f"{'M' if i == 0 else 'L'}{xs(t):.1f},{f.y((v - lo) / (hi - lo)):.1f}" for i, (t, v) in enumerate(s))
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        body.append(f'<path d="{d}" fill="none" stroke="{colour}" stroke-width="2"{dash_attr}>'
                    f"<title>{esc(name)}</title></path>")
        if len(s) <= 40:
            for t, v in s:
                body.append(f'<circle cx="{xs(t):.1f}" cy="{f.y((v - lo) / (hi - lo)):.1f}" r="2.5" fill="{colour}">'
                            f"<title>{esc(f'{name}: {fmt(v)} on {t:%Y-%m-%d %H:%M}')}</title></circle>")
    return _svg(width, f.height, title, body)
