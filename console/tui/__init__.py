"""The Textual console: `app` (state, engine calls, actions), `bridge` (engine events into
batched messages), `state` (the Textual-free view model), `actions` (the one key list),
`screens/` and `widgets/`."""
