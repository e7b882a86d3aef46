"""Live charts (textual-plotext): throughput per node over time, GPU utilization over time.

A plotext build costs milliseconds, so a chart is rebuilt only when its data changed, at most
once per app chart tick (1 s), and only while it is on screen. With no data it says why in
words instead of drawing empty axes.

With many nodes a legend of sixteen colours reads as none, and a build costs in proportion
to the series drawn: a chart draws at most MAX_SERIES series (`pick_series`). Beyond that it
follows the node of the table cursor's run (its series first), filled up with the highest
latest values, and its title says so (`n07 (cursor) + top 5 of 16 by live rate`).

A build also costs in proportion to the points (plotext: about 0.03 ms a point, so six
series of 600 points took over 100 ms, a stall a key press feels), while a braille chart
shows two points per column: a series is drawn from at most two points per column of the
chart (`thin`: the last point of each slice of time, so every point drawn is one the engine
gave).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from rich.text import Text
from textual.app import RenderResult
from textual_plotext import PlotextPlot

Series = Mapping[str, Sequence[tuple[float, float]]]
MAX_SERIES = 6


def series_node(key: str) -> str:
    """The node a series belongs to: its key (`n07`) or the part before `/` (`n07/gpu3`)."""
    return key.partition("/")[0]


def pick_series(
    series: Series, focus: str | None, rank_by: str, limit: int = MAX_SERIES
) -> tuple[list[str], str]:
    """The series to draw, and what the title says about the choice ("" when all are drawn).

    Up to `limit`: all of them, in name order. More: the series of node `focus` (the cursor's
    run's node) first, then the others by their latest value, highest first."""
    keys = sorted(k for k, v in series.items() if v)
    if len(keys) <= limit:
        return keys, ""

    def by_latest(k: str) -> tuple[float, str]:
        return (-series[k][-1][1], k)

    mine = sorted((k for k in keys if focus is not None and series_node(k) == focus), key=by_latest)
    rest = sorted((k for k in keys if k not in mine), key=by_latest)
    chosen = (mine + rest)[:limit]
    shown = len([k for k in chosen if k in mine])
    if not mine:
        note = f"top {limit} of {len(keys)} by {rank_by}"
    elif shown == limit:
        note = f"{focus} (cursor): {limit} of its {len(mine)}, by {rank_by}"
    else:
        note = f"{focus} (cursor) + top {limit - shown} of {len(keys)} by {rank_by}"
    return chosen, note


def thin(points: Sequence[tuple[float, float]], most: int) -> list[tuple[float, float]]:
    """At most `most` of `points` (time-ordered): the last of each of `most` equal slices of
    their time span, and the first point. Fewer points come back as they are."""
    if len(points) <= most or most < 2:
        return list(points)
    t0, t1 = points[0][0], points[-1][0]
    span = (t1 - t0) or 1.0
    kept: dict[int, tuple[float, float]] = {}
    for p in points:
        kept[min(most - 2, int((p[0] - t0) / span * (most - 1)))] = p
    return [points[0], *(kept[k] for k in sorted(kept) if kept[k] is not points[0])]


class LiveChart(PlotextPlot):
    def __init__(
        self, title: str, ylabel: str, *, empty: str, rank_by: str, **kwargs: object
    ) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.title = title
        self.ylabel = ylabel
        self.empty = empty
        self.rank_by = rank_by  # what `pick_series` ranks by, in words
        self.border_title = title
        self._series: dict[str, Sequence[tuple[float, float]]] = {}
        self._focus: str | None = None
        self.drawn: list[str] = []  # the series of the last build, in legend order
        self.selection = ""  # what the title says about the series drawn ("": all of them)
        self._wanted: tuple[object, ...] = ()  # what the next build would draw (`_look`)
        self._built: tuple[object, ...] | None = None  # what the last build drew

    @property
    def has_data(self) -> bool:
        return any(self._series.values())

    def set_series(
        self, series: Series, empty: str | None = None, focus: str | None = None
    ) -> None:
        """New data (and the cursor's node, followed when there are too many series to draw
        them all); drawn on the next `replot`."""
        self._series = {k: v for k, v in series.items() if v}  # read when it is drawn
        self._focus = focus
        if empty is not None:
            self.empty = empty
        self._wanted = self._look()

    def _look(self) -> tuple[object, ...]:
        """What a build depends on: each series' length and latest point (a new point always
        moves the latest one: its time), the cursor's node, the words said without data."""
        return (
            tuple((k, len(v), v[-1]) for k, v in sorted(self._series.items())),
            self._focus,
            self.empty,
        )

    @property
    def dirty(self) -> bool:
        """Whether a build would draw anything other than the last one did."""
        return self._built != (*self._wanted, self.size.width)

    def replot(self, force: bool = False) -> bool:
        """Rebuild the figure if the data changed; returns whether it did. The same data
        again (a chart without telemetry, every second) costs no build and no repaint."""
        if not (self.dirty or force):
            return False
        self._built = (*self._wanted, self.size.width)
        plt = self.plt
        plt.clear_figure()
        plt.xlabel("s")
        self.drawn, self.selection = pick_series(self._series, self._focus, self.rank_by)
        if self.selection:
            plt.title(self.selection)
        most = 2 * max(20, self.size.width)  # braille: two dots a column
        for label in self.drawn:
            points = thin(list(self._series[label]), most)
            xs = [p[0] for p in points]
            ys = [p[1] for p in points]
            plt.plot(xs, ys, label=label, marker="braille")
        if self.ylabel == "%":
            plt.ylim(0, 100)
        self.refresh()
        return True

    def render(self) -> RenderResult:
        if not self.has_data:
            return Text(self.empty, justify="center")
        return super().render()
