"""The console's widgets. Each is told what to show (from `console.tui.state`); none reads files,
talks to nodes or computes a figure."""
