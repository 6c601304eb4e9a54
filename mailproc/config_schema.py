"""Turn parsed TOML into typed frozen dataclasses, naming file, key and expected form on error."""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any, Literal, get_args, get_origin

from mailproc.errors import ConfigError

_FORMS = {str: "a string", int: "an integer", float: "a number", bool: "true or false"}


def _describe(tp: Any) -> str:
    origin = get_origin(tp)
    if tp in _FORMS:
        return _FORMS[tp]
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in get_args(tp))
    if origin in (list, tuple):
        return f"a list of {_describe(get_args(tp)[0])}"
    if origin is dict:
        return f"a table of {_describe(get_args(tp)[1])}"
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_describe(a) for a in get_args(tp) if a is not type(None))
    if dataclasses.is_dataclass(tp):
        return "a table"
    return getattr(tp, "__name__", str(tp))


def _fail(file: str, key: str, message: str) -> ConfigError:
    return ConfigError(f"{file}: {key}: {message}")


def build(cls: type, data: Any, *, file: str, key: str = "") -> Any:
    """Build dataclass `cls` from `data`; unknown keys and wrong types raise ConfigError."""
    if not isinstance(data, dict):
        raise _fail(file, key or "(top level)", f"expected a table, got {data!r}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    unknown = [k for k in data if k not in fields]
    if unknown:
        where = f"{key}.{unknown[0]}" if key else unknown[0]
        raise _fail(file, where, "unknown key (known keys: " + ", ".join(sorted(fields)) + ")")
    values = {}
    for name, field in fields.items():
        where = f"{key}.{name}" if key else name
        if name in data:
            values[name] = convert(hints[name], data[name], file=file, key=where)
        elif field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
            raise _fail(file, where, f"missing; expected {_describe(hints[name])}")
    return cls(**values)


def convert(tp: Any, value: Any, *, file: str, key: str) -> Any:
    origin = get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in get_args(tp) if a is not type(None)]
        for arg in args:
            try:
                return convert(arg, value, file=file, key=key)
            except ConfigError:
                continue
        raise _fail(file, key, f"expected {_describe(tp)}, got {value!r}")
    if origin is Literal:
        if value in get_args(tp):
            return value
        raise _fail(file, key, f"expected {_describe(tp)}, got {value!r}")
    if origin in (list, tuple):
        if not isinstance(value, list):
            raise _fail(file, key, f"expected {_describe(tp)}, got {value!r}")
        item = get_args(tp)[0]
        return tuple(convert(item, v, file=file, key=f"{key}[{i}]") for i, v in enumerate(value))
    if origin is dict:
        if not isinstance(value, dict):
            raise _fail(file, key, f"expected {_describe(tp)}, got {value!r}")
        item = get_args(tp)[1]
        return types.MappingProxyType(
            {k: convert(item, v, file=file, key=f"{key}.{k}") for k, v in value.items()}
        )
    if dataclasses.is_dataclass(tp):
        return build(tp, value, file=file, key=key)
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if tp in (int, float) and isinstance(value, bool):
        raise _fail(file, key, f"expected {_describe(tp)}, got {value!r}")
    if tp in _FORMS and not isinstance(value, tp):
        raise _fail(file, key, f"expected {_describe(tp)}, got {value!r}")
    return value
