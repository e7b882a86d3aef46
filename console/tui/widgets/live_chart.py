"""Live charts (textual-plotext): throughput per node over time, GPU utilization over time.

A plotext build costs milliseconds, so a chart is rebuilt only when its data changed, at most
once per app chart tick (1 s), and only while it is on screen. With no data it says why in
words instead of drawing empty axes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from rich.text import Text
from textual.app import RenderResult
from textual_plotext import PlotextPlot

Series = Mapping[str, Sequence[tuple[float, float]]]


class LiveChart(PlotextPlot):
    def __init__(self, title: str, ylabel: str, *, empty: str, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.title = title
        self.ylabel = ylabel
        self.empty = empty
        self.border_title = title
        self._series: dict[str, list[tuple[float, float]]] = {}
        self._dirty = True

    @property
    def has_data(self) -> bool:
        return any(self._series.values())

    def set_series(self, series: Series, empty: str | None = None) -> None:
        """New data; drawn on the next `replot`."""
        self._series = {k: list(v) for k, v in series.items() if v}
        if empty is not None:
            self.empty = empty
        self._dirty = True

    def replot(self, force: bool = False) -> bool:
        """Rebuild the figure if the data changed; returns whether it did."""
        if not (self._dirty or force):
            return False
        self._dirty = False
        plt = self.plt
        plt.clear_figure()
        plt.xlabel("s")
        for label, points in sorted(self._series.items()):
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
