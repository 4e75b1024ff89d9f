"""The forecast's chart, server-rendered SVG (issue 13): per week, the accounts the policy will
disable and purge, as two bars side by side, with the months along the bottom. No script, no inline
style (the CSP forbids both): colours are SVG presentation attributes. The same figures are in the
table below the chart on the page."""

from __future__ import annotations

from collections.abc import Sequence

from flask_babel import format_date
from markupsafe import Markup, escape

from agent.actions.console_index import ForecastWeek
from agent.web.i18n import _

WIDTH, HEIGHT = 860, 300
LEFT, RIGHT, TOP, BOTTOM = 48, 12, 16, 40
DISABLE_COLOUR = "#1d70b8"   # contrast >= 4.5:1 on white (WCAG 2.2 AA, non-text 3:1 needed)
PURGE_COLOUR = "#b4231b"


def _nice_ceiling(value: int) -> int:
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10000):
        if value <= step * 4:
            return step * 4
    return value


def forecast_svg(weeks: Sequence[ForecastWeek]) -> Markup:
    peak = max([max(week.disabled, week.purge) for week in weeks] + [1])
    ceiling = _nice_ceiling(peak)
    plot_width = WIDTH - LEFT - RIGHT
    plot_height = HEIGHT - TOP - BOTTOM
    slot = plot_width / max(1, len(weeks))
    bar = max(1.0, slot / 2 - 1)

    def y(count: int) -> float:
        return TOP + plot_height - plot_height * count / ceiling

    title = _("Accounts disabled and purged per week, next 12 months")
    disabled, purged = escape(_("disabled")), escape(_("purged"))
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="100%"'
             f' role="img" aria-labelledby="forecast-chart-title" id="forecast-chart">',
             f'<title id="forecast-chart-title">{escape(title)}</title>']
    for tick in range(5):
        value = ceiling * tick // 4
        parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(value):.1f}" y2="{y(value):.1f}"'
                     f' stroke="#b1b4b6" stroke-width="1"/>')
        parts.append(f'<text x="{LEFT - 6}" y="{y(value) + 4:.1f}" text-anchor="end" font-size="12"'
                     f' fill="#0b0c0c">{value}</text>')
    last_month = None
    for index, week in enumerate(weeks):
        x = LEFT + index * slot
        if week.disabled:
            parts.append(f'<rect x="{x + 1:.1f}" y="{y(week.disabled):.1f}" width="{bar:.1f}"'
                         f' height="{y(0) - y(week.disabled):.1f}" fill="{DISABLE_COLOUR}">'
                         f'<title>{escape(format_date(week.start, "medium"))}: '
                         f'{disabled} {week.disabled}</title></rect>')
        if week.purge:
            parts.append(f'<rect x="{x + 1 + bar:.1f}" y="{y(week.purge):.1f}" width="{bar:.1f}"'
                         f' height="{y(0) - y(week.purge):.1f}" fill="{PURGE_COLOUR}">'
                         f'<title>{escape(format_date(week.start, "medium"))}: '
                         f'{purged} {week.purge}</title></rect>')
        if week.start.month != last_month:
            last_month = week.start.month
            parts.append(f'<text x="{x + 1:.1f}" y="{HEIGHT - BOTTOM + 16}" font-size="12"'
                         f' fill="#0b0c0c">{escape(format_date(week.start, "MMM"))}</text>')
    legend_y = HEIGHT - 8
    parts.append(f'<rect x="{LEFT}" y="{legend_y - 10}" width="12" height="12" fill="{DISABLE_COLOUR}"/>'
                 f'<text x="{LEFT + 18}" y="{legend_y}" font-size="12" fill="#0b0c0c">'
                 f'{disabled}</text>'
                 f'<rect x="{LEFT + 140}" y="{legend_y - 10}" width="12" height="12" fill="{PURGE_COLOUR}"/>'
                 f'<text x="{LEFT + 158}" y="{legend_y}" font-size="12" fill="#0b0c0c">'
                 f'{purged}</text>')
    parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(0):.1f}" y2="{y(0):.1f}" stroke="#0b0c0c"/>')
    parts.append("</svg>")
    return Markup("".join(parts))
