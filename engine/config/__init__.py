"""Configs: TOML text into the frozen dataclasses of `engine.model`.

`load` finds and loads a config, `reader` walks TOML with key paths and line numbers for
errors, `keys` lists every accepted key, `plan` builds the plan's stages, `snapshot` writes the
resolved config without secrets, `starter` writes the commented config of `mlconsole init`.
"""
