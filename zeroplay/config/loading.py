"""Loading a config: a YAML file, `--set` overrides, renamed keys, and one-line errors.

    cfg = load_config("configs/local.yaml", ["rollout.temperature=0.7"])

Unknown keys and wrong types are errors that name the key, the expected type and where the
value came from (the file or the `--set`); they never fall back silently to a default. A key
that a later version renamed (RENAMES) is read under its new name with a warning naming
it, so a stored run's config still resumes.
"""

from __future__ import annotations

import difflib
import logging
import types
import typing
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ValidationError

from zeroplay.config.rules import DEPENDENT
from zeroplay.config.schema import Config
from zeroplay.errors import ConfigError

log = logging.getLogger(__name__)
DEFAULT_CONFIG_PATH = Path("configs/local.yaml")

# Keys a later version renamed: old dotted key -> new dotted key. A config that still uses
# an old key (a stored run's config.yaml, which `--resume` reads) loads under the new one,
# with a warning; a config that sets both is an error. Add an entry whenever a key is
# renamed, and keep it for as long as runs written before may be resumed.
RENAMES: dict[str, str] = {}

def load_config(path: str | Path | None = None, overrides: list[str] | None = None) -> Config:
    """Load a YAML config (None: built-in defaults), read its renamed keys under their new
    names, and apply `a.b.c=value` overrides (which must use the current names).

    Raises ConfigError naming the file or override, the key, and the expected type.
    """
    source = "defaults" if path is None else str(path)
    data = {} if path is None else _read_yaml(Path(path))
    _rename_keys(data, source)
    set_keys: dict[tuple[str, ...], str] = {}
    for item in overrides or []:
        keys, value = _parse_override(item)
        _assign(data, keys, value, item)
        set_keys[keys] = item
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, source, set_keys)) from None


def _rename_keys(data: dict[str, Any], source: str) -> None:
    """Move every old key of RENAMES in `data` to its new place, with a warning."""
    for old, new in RENAMES.items():
        old_keys, new_keys = old.split("."), new.split(".")
        parent = _section_dict(data, old_keys[:-1])
        if parent is None or old_keys[-1] not in parent:
            continue
        target = _section_dict(data, new_keys[:-1], create=True)
        if target is None or new_keys[-1] in target:
            raise ConfigError(f"{source}: sets both {old} and {new}, its new name; keep {new}")
        target[new_keys[-1]] = parent.pop(old_keys[-1])
        log.warning("%s: %s is now called %s; read it as that (rename it to silence this)",
                    source, old, new)


def _section_dict(data: dict[str, Any], keys: list[str], create: bool = False
                  ) -> dict[str, Any] | None:
    node: Any = data
    for key in keys:
        if create and key not in node:
            node[key] = {}
        node = node.get(key) if isinstance(node, dict) else None
        if not isinstance(node, dict):
            return None
    return node


def _read_yaml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ConfigError(
            f"config file not found: {path} (pass --config with an existing YAML file, "
            f"e.g. {DEFAULT_CONFIG_PATH})"
        )
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or exc
        raise ConfigError(f"{path}: not valid YAML{where}: {problem}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(
            f"{path}: expected a mapping of sections (run:, sandbox:, ...), "
            f"got {type(data).__name__}"
        )
    return data


def _parse_override(item: str) -> tuple[tuple[str, ...], Any]:
    key, sep, raw = item.partition("=")
    keys = tuple(key.strip().split("."))
    if not sep or not all(keys):
        raise ConfigError(
            f"--set {item!r}: expected KEY=VALUE with a dotted key, "
            "e.g. --set rollout.temperature=0.7"
        )
    try:
        value = yaml.safe_load(raw) if raw.strip() else None
    except yaml.YAMLError:
        value = raw  # not YAML: keep the text and let the field's type decide
    return keys, value


def _assign(data: dict[str, Any], keys: tuple[str, ...], value: Any, item: str) -> None:
    node = data
    for depth, key in enumerate(keys[:-1]):
        child = node.setdefault(key, {})
        if not isinstance(child, dict):
            prefix = ".".join(keys[: depth + 1])
            raise ConfigError(f"--set {item!r}: {prefix} is a value, not a section")
        node = child
    node[keys[-1]] = value


def _describe(exc: ValidationError, source: str, set_keys: dict[tuple[str, ...], str]) -> str:
    """One line per problem: where it came from, the key, and what was expected."""
    lines = []
    for err in exc.errors():
        loc = tuple(str(part) for part in err["loc"])
        origin = _origin(loc, source, set_keys)
        key = ".".join(loc) or "<top level>"
        if err["type"] == DEPENDENT:
            keys = [tuple(k.split(".")) for k in err["ctx"]["keys"]]
            lines.append(f"{_origins(keys, source, set_keys)}: {err['msg']}")
        elif err["type"] == "extra_forbidden":
            lines.append(f"{origin}: unknown key '{key}'{_did_you_mean(loc)}")
        elif not loc or err["type"] == "value_error":
            msg = err["msg"].removeprefix("Value error, ")
            lines.append(f"{origin}: {key}: {msg}")
        else:
            expected = _expected_type(loc)
            lines.append(
                f"{origin}: {key}: expected {expected}, got {err['input']!r} ({err['msg']})"
            )
    return "invalid config:\n  " + "\n  ".join(lines) if len(lines) > 1 else lines[0]


def _origin(loc: tuple[str, ...], source: str, set_keys: dict[tuple[str, ...], str]) -> str:
    """Blame the `--set` that wrote this key, inside it, or below it; else the file."""
    for keys, item in set_keys.items():
        n = min(len(keys), len(loc))
        if keys[:n] == loc[:n]:
            return f"--set {item}"
    return source


def _origins(keys: list[tuple[str, ...]], source: str,
             set_keys: dict[tuple[str, ...], str]) -> str:
    """A rule over several keys: blame every `--set` that wrote one of them, else the file."""
    found = [_origin(loc, source, set_keys) for loc in keys]
    blamed = list(dict.fromkeys(o for o in found if o != source))
    return ", ".join(blamed) if blamed else source


def _section_at(loc: tuple[str, ...]) -> type[BaseModel] | None:
    model: type[BaseModel] | None = Config
    for key in loc:
        field = model.model_fields.get(key) if model else None
        if field is None:
            return None
        ann = field.annotation
        model = ann if isinstance(ann, type) and issubclass(ann, BaseModel) else None
    return model


def _did_you_mean(loc: tuple[str, ...]) -> str:
    parent = _section_at(loc[:-1])
    if parent is None:
        return ""
    names = list(parent.model_fields)
    close = difflib.get_close_matches(loc[-1], names, n=1)
    hint = f"did you mean '{close[0]}'? " if close else ""
    return f" ({hint}known keys: {', '.join(names)})"


def _expected_type(loc: tuple[str, ...]) -> str:
    parent = _section_at(loc[:-1])
    field = parent.model_fields.get(loc[-1]) if parent else None
    if field is None:
        return "a valid value"
    return _type_name(field.annotation)


def _type_name(ann: Any) -> str:
    origin = typing.get_origin(ann)
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in typing.get_args(ann))
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_type_name(a) for a in typing.get_args(ann))
    if origin is list:
        (item,) = typing.get_args(ann) or (Any,)
        return f"a list of {_type_name(item)}"
    if ann is type(None):
        return "null"
    if isinstance(ann, type) and issubclass(ann, BaseModel):
        return "a section (mapping)"
    return getattr(ann, "__name__", str(ann))
