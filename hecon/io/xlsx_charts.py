"""Native spreadsheet charts that stay readable in greyscale: each series has its own colour,
dash pattern and (for short series) marker, cycling with different periods, as the matplotlib
figures do (:func:`hecon.plots.strategy_style`)."""

from __future__ import annotations

from ..labels import COLOURS

DASHES = ("solid", "dash", "sysDot", "lgDash", "dashDot", "sysDash", "lgDashDot")
MARKERS = ("circle", "square", "triangle", "diamond", "x", "star", "plus", "dash")
LINE_WIDTH = 22225  # EMU: 1.75 pt


def style_line(series, index: int, colour: str | None = None, *, markers: bool = True) -> None:
    """Colour, dash pattern and marker of the ``index``-th line series."""
    colour = (colour or COLOURS[index % len(COLOURS)]).lstrip("#")
    line = series.graphicalProperties.line
    line.solidFill = colour
    line.prstDash = DASHES[index % len(DASHES)]
    line.width = LINE_WIDTH
    series.smooth = False
    if markers:
        series.marker.symbol, series.marker.size = MARKERS[index % len(MARKERS)], 6
        series.marker.graphicalProperties.solidFill = colour
        series.marker.graphicalProperties.line.solidFill = colour
    else:
        series.marker.symbol = "none"


def axis_titles(chart, title: str, x_title: str | None, y_title: str,
                size: tuple[float, float] = (20, 10)) -> None:
    """Title, axis titles (axes kept visible in recent Excel) and size in cm."""
    chart.title, chart.x_axis.title, chart.y_axis.title = title, x_title or None, y_title
    chart.x_axis.delete = chart.y_axis.delete = False
    chart.width, chart.height = size
    if chart.legend is not None:
        chart.legend.position = "b"
