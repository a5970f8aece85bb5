"""The HTML pages' shared make: the style sheet and the money cell."""

from __future__ import annotations

from decimal import Decimal
from html import escape

CSS = """
body { font-family: "Noto Sans CJK SC", "Microsoft YaHei", "PingFang SC", sans-serif;
       margin: 24px; color: #222; }
h1 { font-size: 22px; margin-bottom: 4px; }
h2 { font-size: 17px; margin-top: 28px; border-bottom: 2px solid #2f6fb0; padding-bottom: 3px; }
h3 { font-size: 15px; margin-top: 18px; }
p.meta, p.note { color: #555; font-size: 13px; margin: 4px 0; }
table { border-collapse: collapse; margin: 8px 0; font-size: 13px; }
th, td { border: 1px solid #aaa; padding: 3px 7px; }
th { background: #dde6f0; font-weight: bold; text-align: center; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.neg { color: #c00; }
tr.total td { font-weight: bold; background: #f3f3f3; }
td.ok { color: #176b2c; font-weight: bold; }
td.bad { color: #c00; font-weight: bold; }
.charts { display: flex; flex-wrap: wrap; gap: 16px; }
svg.chart { border: 1px solid #ddd; background: #fff; }
svg .chart-title { font-size: 14px; font-weight: bold; }
svg .legend, svg .category { font-size: 12px; }
svg .tick, svg .value { font-size: 10px; fill: #444; }
svg .grid { stroke: #e3e3e3; }
svg .zero { stroke: #666; }
"""


def money_cell(value: Decimal | None) -> str:
    if value is None:
        return '<td class="num">—</td>'
    cls = "num neg" if value < 0 else "num"
    return f'<td class="{cls}">{value:,.2f}</td>'


def page_head(title: str) -> list[str]:
    """A self-contained page's lines up to ``<body>``: the title and the style sheet."""
    return [
        "<!DOCTYPE html>",
        '<html lang="zh-CN">',
        "<head>",
        '<meta charset="utf-8">',
        f"<title>{escape(title)}</title>",
        f"<style>{CSS}</style>",
        "</head>",
        "<body>",
    ]


def page_end() -> list[str]:
    return ["</body>", "</html>", ""]
