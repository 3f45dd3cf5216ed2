"""Month-by-month usage as bars for a server-rendered SVG chart (no JavaScript), with the same
figures in a table next to it for screen readers and keyboard users."""
from __future__ import annotations

WIDTH = 300   # the longest bar, in SVG units


def usage_bars(months: list[dict], field: str = "rooms_held") -> list[dict]:
    """Oldest first: [{label, value, width}] with widths scaled to the largest month."""
    rows = sorted(months, key=lambda m: m["month"])[-12:]
    top = max((m[field] for m in rows), default=0) or 1
    return [{"label": m["month"].strftime("%b %Y"), "value": m[field], "width": round(WIDTH * m[field] / top),
             "peak": m["peak_participants"], "captions": m["caption_minutes"]} for m in rows]
