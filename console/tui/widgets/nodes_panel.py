"""The nodes panel: one card per node with its state, its GPUs (utilization and memory with a
short sparkline of recent utilization) or why there is no GPU telemetry, and its last error.

A card's look follows its state through a CSS class (`state-ready`, `state-unreachable`...)
styled in themes/base.tcss; the text says the state in words, so it reads without color.
"""

from __future__ import annotations

from collections.abc import Iterable

from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

from console.tui.rows import GpuView, NodeView
from console.tui.state import ConsoleState

_SPARK = "▁▂▃▄▅▆▇█"
SPARK_WIDTH = 12
_STATE_CLASSES = ("unknown", "checking", "ready", "busy", "unreachable", "link-lost")


def sparkline(values: Iterable[float], width: int = SPARK_WIDTH, top: float = 100.0) -> str:
    """The last `width` values (0..top) as block characters."""
    vals = list(values)[-width:]
    out = []
    for v in vals:
        level = max(0.0, min(1.0, v / top))
        out.append(_SPARK[min(len(_SPARK) - 1, int(level * len(_SPARK)))])
    return "".join(out)


def _gib(x: float | None, digits: int) -> str:
    return "?" if x is None else f"{x / 1024:.{digits}f}"


def gpu_lines(gpu: GpuView) -> list[str]:
    """'gpu0 A30  35% mem 13.7/24G', then the recent utilization as a sparkline."""
    name = (gpu.name or "GPU").removeprefix("NVIDIA ")
    util = "  —" if gpu.utilization_pct is None else f"{gpu.utilization_pct:3.0f}%"
    if gpu.memory_used_mib is None and gpu.memory_total_mib is None:
        mem = "mem —"
    else:
        mem = f"mem {_gib(gpu.memory_used_mib, 1)}/{_gib(gpu.memory_total_mib, 0)}G"
    lines = [f"gpu{gpu.index} {name[:10]} {util} {mem}"]
    if gpu.history:
        lines.append(f"     {sparkline(gpu.history)}")
    return lines


def node_text(node: NodeView) -> Text:
    """A card's text. Node names, details and errors come from outside: never markup."""
    text = Text()
    # The separator stays inside the bold span: some SVG renderers drop a span's leading
    # spaces, which would glue the name to its state in the screenshots.
    text.append(f"{node.name}  ", style="bold")
    text.append(node.state)
    if node.simulated:
        text.append("  (simulated)")
    if node.current_run:
        text.append(f"\nrun {node.current_run}")
    facts = node.facts
    if facts is not None and facts.loadgen_version:
        text.append(f"\nLoadGen {facts.loadgen_version}")
    note = node.telemetry_note
    if node.gpus:
        for index in sorted(node.gpus):
            for line in gpu_lines(node.gpus[index]):
                text.append("\n" + line)
    if note is not None:
        text.append(f"\nno GPU telemetry: {note}")
    if node.last_error:
        text.append(f"\nerror: {node.last_error}")
    return text


def state_class(state: str) -> str:
    return "state-" + state.replace(" ", "-")


class NodeCard(Static):
    def __init__(self, node: NodeView) -> None:
        self._text = node_text(node)
        super().__init__(self._text, classes="node-card " + state_class(node.state))
        self.node_name = node.name

    def show(self, node: NodeView) -> None:
        for name in _STATE_CLASSES:
            self.set_class(state_class(node.state) == f"state-{name}", f"state-{name}")
        text = node_text(node)
        if text == self._text:
            return
        # Telemetry changes numbers, not the number of lines: skip the relayout then.
        same_shape = [len(x) for x in text.plain.split("\n")] == [
            len(x) for x in self._text.plain.split("\n")
        ]
        self._text = text
        self.update(text, layout=not same_shape)


class NodesPanel(VerticalScroll):
    """Cards in the config's node order; nodes the engine reports later are appended."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.border_title = "Nodes"
        self._cards: dict[str, NodeCard] = {}

    def sync(self, state: ConsoleState, names: Iterable[str] | None = None) -> None:
        new = [n for n in state.nodes if n not in self._cards]
        for name in new:
            card = NodeCard(state.nodes[name])
            self._cards[name] = card
            self.mount(card)
        for name in state.nodes if names is None else names:
            card = self._cards.get(name)
            if card is not None and name in state.nodes:
                card.show(state.nodes[name])
