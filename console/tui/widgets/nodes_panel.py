"""The nodes panel: one card per node with its state, its GPUs (utilization and memory with a
short sparkline of recent utilization) or why there is no GPU telemetry, and its last error.

A card's look follows its state through a CSS class (`state-ready`, `state-unreachable`...)
styled in themes/base.tcss; the text says the state in words, so it reads without color.

At fleet size the cards do not fit: `d` switches the panel to the dense view (`dense_text`),
one line per node (state, the run on it, or why there is no GPU telemetry) and one per GPU
(utilization, memory, power, temperature: each with its unit, `—` where the telemetry does
not carry it). A node's lines stay together; they flow down columns as wide as a line needs,
as many columns as the width holds, so 32 nodes fit at 160x48; what does not fit scrolls.
While one view is shown the other is not painted (it catches up when shown).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

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


# --- the dense view (`d`) ---------------------------------------------------------------------

DENSE_WIDTH = 50  # cells per column: a GPU line's figures, a node line's run id
DENSE_GAP = 3
_DENSE_STYLES = {"unreachable": "bold red", "link lost": "bold red", "busy": "bold"}
MISSING = "—"


def _figure(value: float | None, fmt: str) -> str:
    return MISSING if value is None else fmt.format(value)


def dense_gpu_line(gpu: GpuView) -> Text:
    """`  gpu0  A30            35%   13.7/24G  165W  61°C`: utilization, memory used/total, power
    draw, temperature; each says its unit, a figure the telemetry lacks is `—`."""
    name = (gpu.name or "GPU").removeprefix("NVIDIA ")
    if gpu.memory_used_mib is None and gpu.memory_total_mib is None:
        mem = MISSING
    else:
        mem = f"{_gib(gpu.memory_used_mib, 1)}/{_gib(gpu.memory_total_mib, 0)}G"
    util = _figure(gpu.utilization_pct, "{:.0f}%")
    power = _figure(gpu.power_w, "{:.0f}W")
    temp = _figure(gpu.temperature_c, "{:.0f}°C")
    return Text(f"  gpu{gpu.index:<2} {name[:13]:<13} {util:>4} {mem:>10} {power:>5} {temp:>5}")


def dense_block(node: NodeView) -> list[Text]:
    """A node's lines: the node (name, state, the runs live on it or why it has no GPU
    telemetry, its last error), then one line per GPU."""
    head = Text()
    head.append(node.name, style="bold")
    head.append(f"  {node.state}", style=_DENSE_STYLES.get(node.state, ""))
    if node.simulated:
        head.append("  (simulated)")
    if node.current_run:
        head.append(f"  run {node.current_run}")
    note = node.telemetry_note
    if note is not None:
        head.append(f"  no GPU telemetry: {note}")
    if node.last_error:
        head.append(f"  error: {node.last_error}", style="red")
    return [head, *(dense_gpu_line(node.gpus[i]) for i in sorted(node.gpus))]


def dense_columns(blocks: Sequence[list[Text]], columns: int, height: int) -> list[list[Text]]:
    """Blocks flowed down `columns` columns, never split: the columns are `height` rows,
    or as few more as it takes to hold every block (the view scrolls then)."""
    total = sum(len(b) for b in blocks)
    rows = max(height, -(-total // max(1, columns)), max((len(b) for b in blocks), default=0))
    while True:
        out: list[list[Text]] = [[]]
        for block in blocks:
            if out[-1] and len(out[-1]) + len(block) > rows:
                out.append([])
            out[-1].extend(block)
        if len(out) <= columns:
            return out
        rows += 1


def dense_text(nodes: Iterable[NodeView], width: int, height: int) -> Text:
    """The dense view's text for a panel `width` cells wide and `height` rows high."""
    blocks = [dense_block(n) for n in nodes]
    columns = max(1, (width + DENSE_GAP) // (DENSE_WIDTH + DENSE_GAP))
    col_width = min(width, DENSE_WIDTH) if columns == 1 else DENSE_WIDTH
    laid = dense_columns(blocks, columns, height)
    out = Text(no_wrap=True, overflow="ellipsis")
    for i in range(max((len(c) for c in laid), default=0)):
        if i:
            out.append("\n")
        for c, col in enumerate(laid):
            cell = col[i].copy() if i < len(col) else Text()
            cell.truncate(col_width, overflow="ellipsis", pad=c < len(laid) - 1)
            if c:
                out.append(" " * DENSE_GAP)
            out.append_text(cell)
    return out


class DenseNodes(Static):
    """The dense view: one Static (a few dozen lines cost less than a widget per line)."""


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
    """Cards in the config's node order; nodes the engine reports later are appended. `dense`
    (`d`): the dense view instead of the cards."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.border_title = "Nodes"
        self._cards: dict[str, NodeCard] = {}
        self._dense_view = DenseNodes("", id="nodes-dense", markup=False)
        self._state: ConsoleState | None = None
        self._cards_stale = False  # changes went to the dense view only
        self._dense_shape = (0, 0)

    @property
    def dense(self) -> bool:
        return self.has_class("-dense")

    def compose(self):  # type: ignore[no-untyped-def]
        yield self._dense_view

    def set_dense(self, dense: bool) -> None:
        """Switch views; the one shown is brought up to date at once."""
        self.set_class(dense, "-dense")
        self.border_title = "Nodes — dense (d: cards)" if dense else "Nodes"
        self.scroll_home(animate=False)
        if self._state is not None:
            self.sync(self._state)

    def sync(self, state: ConsoleState, names: Iterable[str] | None = None) -> None:
        self._state = state
        new = [n for n in state.nodes if n not in self._cards]
        for name in new:
            card = NodeCard(state.nodes[name])
            self._cards[name] = card
            self.mount(card)
        if self.dense:
            self._cards_stale = True
            self.paint_dense()
            return
        if self._cards_stale:
            self._cards_stale, names = False, None
        for name in state.nodes if names is None else names:
            card = self._cards.get(name)
            if card is not None and name in state.nodes:
                card.show(state.nodes[name])

    def paint_dense(self) -> None:
        if self._state is None:
            return
        region = self.scrollable_content_region
        self._dense_shape = (region.width, region.height)
        text = dense_text(self._state.nodes.values(), region.width or DENSE_WIDTH, region.height)
        self._dense_view.update(text)

    def on_resize(self) -> None:
        region = self.scrollable_content_region
        if self.dense and (region.width, region.height) != self._dense_shape:
            self.paint_dense()
