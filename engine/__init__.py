"""mlconsole's engine: an asyncio library that plans, runs and analyses LoadGen benchmarks.

Nothing in this package imports Textual; the console's views subscribe to `engine.events`.
"""

__version__ = "0.1.0"
