"""Which config file a command uses when none or one is named: the argument, ./mlconsole.toml,
or the demo bundled with the package; with the sentence that says which and why.
"""

from __future__ import annotations

from pathlib import Path

from engine.errors import ConfigError


def find_config(arg: str | None) -> tuple[Path, str]:
    """Which config to use, and a sentence saying why.

    The argument when given (it must exist), else ./mlconsole.toml when it exists, else the
    demo bundled with the package (configs/demo.toml).
    """
    if arg is not None:
        path = Path(arg)
        if not path.exists():
            raise ConfigError("no such config file", file=arg, expected="a path to a .toml file")
        if not path.is_file():
            raise ConfigError("is not a file", file=arg, expected="a path to a .toml file")
        return path, f"using {arg} (given on the command line)"
    local = Path("mlconsole.toml")
    if local.is_file():
        return local, "using ./mlconsole.toml"
    import configs  # the package that ships demo.toml; imported only when needed

    demo = Path(configs.__file__).parent / "demo.toml"
    if not demo.is_file():
        raise ConfigError(
            "no config given, no ./mlconsole.toml, and the bundled demo config is missing "
            "from the installed package; run `mlconsole init` to write a starter config",
            file=str(demo),
        )
    return demo, "no config given and no ./mlconsole.toml: using the bundled demo"
