"""Which values are secrets, and their removal from every file mlconsole keeps.

A secret reaches a run three ways: a node's `env` (HF_TOKEN for the harness), a node's
`vars` (a template value), and text written into a command template (`HF_TOKEN=hf_... python`,
`--api-key abc`). The node needs the real value to run, so its copies of the run's files are
mode 0600; the controller's copies under results/ (and the reports built from them) hold
"<redacted>" in its place. A name is a secret when it matches one of `DEFAULT_SECRET_NAMES`
or a pattern of `settings.secret_names` (shell-style globs, any case).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from fnmatch import fnmatchcase
from pathlib import Path

REDACTED = "<redacted>"
DEFAULT_SECRET_NAMES = (
    "*TOKEN*",
    "*SECRET*",
    "*PASSWORD*",
    "*PASSWD*",
    "*PASSPHRASE*",
    "*KEY*",
    "*CREDENTIAL*",
    "*AUTH*",
)
# Values shorter than this are not searched for in files: replacing every "1" or "on" would
# mangle logs, and so short a value protects nothing anyway.
MIN_SECRET_LEN = 4
# NAME=value or --name value / --name=value inside a command line.
_INLINE = re.compile(
    r"(?P<lead>(?<![A-Za-z0-9_-])-{0,2})(?P<name>[A-Za-z_][A-Za-z0-9_-]*)"
    r"(?P<sep>=| +(?=[^\s-]))(?P<value>'[^']*'|\"[^\"]*\"|[^\s;&|]+)"
)


# Counts, not secrets: max_tokens, --min-tokens, num_keys.
_COUNT_NAME = re.compile(r"TOKENS|KEYS")
_NOT_A_SECRET = re.compile(r"[0-9.+-]*|true|false|none|null", re.I)


def is_secret_name(name: str, extra: Iterable[str] = ()) -> bool:
    """Does `name` (an env variable, a var, a flag) name a secret? A user's pattern always
    counts; the defaults pass over plurals that name counts (MAX_TOKENS)."""
    upper = name.upper().replace("-", "_")
    if any(fnmatchcase(upper, p.upper()) for p in extra):
        return True
    if _COUNT_NAME.search(upper):
        return False
    return any(fnmatchcase(upper, p) for p in DEFAULT_SECRET_NAMES)


def _usable(value: str) -> bool:
    """A value worth searching files for: long enough, and not a number or a boolean."""
    return len(value) >= MIN_SECRET_LEN and not _NOT_A_SECRET.fullmatch(value)


def inline_secrets(text: str, extra: Iterable[str] = ()) -> list[str]:
    """Values written after a secret's name in a command line: `HF_TOKEN=v`, `--api-key v`,
    `--api-key=v` (quotes removed). A space-separated value counts only after a flag (`-`)."""
    extra = tuple(extra)
    out: list[str] = []
    for m in _INLINE.finditer(text):
        if m.group("sep") != "=" and not m.group("lead"):
            continue
        if not is_secret_name(m.group("name"), extra):
            continue
        value = m.group("value")
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        out.append(value)
    return out


def redact_inline(text: str, extra: Iterable[str] = ()) -> str:
    """`text` with the value of each inline secret (see `inline_secrets`) replaced by
    REDACTED, whatever its length (the config snapshot's command templates)."""
    extra = tuple(extra)

    def one(m: re.Match[str]) -> str:
        if (m.group("sep") != "=" and not m.group("lead")) or not is_secret_name(
            m.group("name"), extra
        ):
            return m.group(0)
        return m.group("lead") + m.group("name") + m.group("sep") + REDACTED

    return _INLINE.sub(one, text)


def secret_values(
    env: Mapping[str, str],
    variables: Mapping[str, object],
    texts: Iterable[str] = (),
    extra: Iterable[str] = (),
) -> list[str]:
    """Every secret value of a run: env and vars entries with secret names, inline secrets of
    the command texts; longest first (so a value containing another is replaced whole)."""
    extra = tuple(extra)
    values = {str(v) for k, v in env.items() if is_secret_name(k, extra)}
    values |= {str(v) for k, v in variables.items() if is_secret_name(k, extra)}
    for text in texts:
        values.update(inline_secrets(text, extra))
    return sorted((v for v in values if _usable(v)), key=len, reverse=True)


def redact_text(text: str, values: Iterable[str]) -> str:
    for value in sorted(set(values), key=len, reverse=True):
        if len(value) >= MIN_SECRET_LEN:
            text = text.replace(value, REDACTED)
    return text


def redact_dir(directory: Path, values: Iterable[str]) -> list[Path]:
    """Replace every secret value in the files of `directory` (not recursive), in place, mode
    kept; returns the files changed."""
    needles = [v.encode() for v in values if len(v) >= MIN_SECRET_LEN]
    if not needles:
        return []
    changed: list[Path] = []
    for path in sorted(directory.iterdir()):
        if not path.is_file() or path.is_symlink():
            continue
        try:
            data = path.read_bytes()
        except OSError:
            continue
        new = data
        for needle in needles:
            new = new.replace(needle, REDACTED.encode())
        if new != data:
            tmp = path.with_name(path.name + ".redacting")
            tmp.write_bytes(new)
            tmp.chmod(path.stat().st_mode & 0o7777)
            tmp.replace(path)
            changed.append(path)
    return changed
