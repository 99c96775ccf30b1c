"""Load and validate the hrtem config: JSON Schema with defaults filled in.

The schema is assembled from ``schemas/config.schema.yaml`` (top level) and one
file per section, ``schemas/sections/<section>.schema.yaml``. Validation fails
on the first problem with one line naming the key path and what is allowed, and
fills in every default, so downstream code never guesses a value.

The same function serves the Snakefile (at workflow start, before any job) and
the ``hrtem config`` verb.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
from collections.abc import Mapping
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from hrtem.errors import ConfigError

__all__ = ["schema", "validate_config", "load_config", "config_doc", "parse_json_object"]


def parse_json_object(text: str, option: str = "--params") -> dict[str, Any]:
    """Parse a CLI option holding a JSON object (a config section); ``""`` is ``{}``.

    Raises :class:`ConfigError` naming the option when the text is not valid
    JSON or not an object.
    """
    if not text:
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as err:
        raise ConfigError(f"{option} is not valid JSON: {err}") from err
    if not isinstance(value, dict):
        raise ConfigError(f"{option} must be a JSON object (a config section), got {type(value).__name__}")
    return value


@lru_cache(maxsize=1)
def _schema_text() -> str:
    root = resources.files("hrtem") / "schemas"
    top = yaml.safe_load((root / "config.schema.yaml").read_text())
    sections = root / "sections"
    for entry in sorted(sections.iterdir(), key=lambda p: p.name):
        if entry.name.endswith(".schema.yaml"):
            name = entry.name[: -len(".schema.yaml")]
            if name in top["properties"]:
                raise RuntimeError(f"schema section {name!r} is defined twice")
            top["properties"][name] = yaml.safe_load(entry.read_text())
    return json.dumps(top)


def schema() -> dict[str, Any]:
    """The full config schema (a fresh copy)."""
    return json.loads(_schema_text())


def _fill_defaults(validator_class: type) -> type:
    """Extend a jsonschema validator so that ``properties`` fills defaults in.

    Defaults are deep-copied; an object default (``{}``) is filled recursively
    because its own properties are validated (and filled) right after.
    """
    validate_properties = validator_class.VALIDATORS["properties"]

    def set_defaults(validator, properties, instance, schema_):
        if isinstance(instance, dict):
            for prop, subschema in properties.items():
                if "default" in subschema and prop not in instance:
                    instance[prop] = copy.deepcopy(subschema["default"])
        yield from validate_properties(validator, properties, instance, schema_)

    return jsonschema.validators.extend(validator_class, {"properties": set_defaults})


_Validator = _fill_defaults(jsonschema.Draft202012Validator)


def _key_path(error: jsonschema.ValidationError) -> str:
    parts = [str(p) for p in error.absolute_path]
    return ".".join(parts) if parts else "(top level)"


def _allowed(error: jsonschema.ValidationError) -> str:
    sch = error.schema if isinstance(error.schema, Mapping) else {}
    if error.validator == "additionalProperties":
        allowed = sorted(sch.get("properties", {}))
        return f"allowed keys here: {', '.join(allowed)}"
    bits = []
    if "enum" in sch and len(sch["enum"]) > 12:
        return "allowed: " + str(sch.get("description", f"one of {len(sch['enum'])} values")).rstrip(".")
    if "enum" in sch:
        bits.append("one of " + ", ".join(map(repr, sch["enum"])))
    if "type" in sch:
        bits.append(f"type {sch['type']}")
    for word, symbol in (("minimum", "≥"), ("exclusiveMinimum", ">"), ("maximum", "≤"), ("exclusiveMaximum", "<")):
        if word in sch:
            bits.append(f"{symbol} {sch[word]}")
    return ("allowed: " + ", ".join(bits)) if bits else ""


def _message(error: jsonschema.ValidationError) -> str:
    # oneOf/anyOf: report the most specific sub-error when there is one
    best = jsonschema.exceptions.best_match([error])
    if best.validator == "additionalProperties":
        extra = sorted(set(best.instance) - set(best.schema.get("properties", {})))
        where = _key_path(best)
        prefix = "" if where == "(top level)" else where + "."
        keys = ", ".join(prefix + k for k in extra)
        return f"config key {keys} is not known; {_allowed(best)}"
    detail = _allowed(best)
    desc = best.schema.get("description", "") if isinstance(best.schema, Mapping) else ""
    message = best.message
    if best.validator == "enum" and len(best.validator_value) > 12:
        message = f"{best.instance!r} is not allowed"
        desc = ""
    elif best.validator == "enum":
        detail = ""
    text = f"config key {_key_path(best)}: {message}"
    if detail:
        text += f"; {detail}"
    if desc and best.validator in ("type", "enum", "oneOf", "anyOf"):
        text += f" ({desc.split('.')[0].strip()})"
    return text


def validate_config(config: Mapping[str, Any] | None) -> dict[str, Any]:
    """Validate ``config`` and return a copy with every default filled in.

    Raises
    ------
    ConfigError
        On the first violation, with the key path and the allowed values.
    """
    if config is None:
        config = {}
    if not isinstance(config, Mapping):
        raise ConfigError(f"the config must be a mapping of keys to values, got {type(config).__name__}")
    instance = copy.deepcopy(dict(config))
    validator = _Validator(schema())
    error = next(iter(sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path))), None)
    if error is not None:
        raise ConfigError(_message(error))
    return instance


def load_config(path: str | os.PathLike, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Read a YAML config file, merge ``overrides`` (deep) and validate it."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file {path} does not exist")
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as err:
        raise ConfigError(f"config file {path} is not valid YAML: {err}") from err
    if overrides:
        data = _deep_merge(data, overrides)
    if isinstance(data, Mapping) and "run" not in data:
        # as in the workflow: a run is named after its config file
        data = {**data, "run": path.stem}
    return validate_config(data)


def _deep_merge(base: Any, update: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base) if isinstance(base, Mapping) else {}
    for key, value in update.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def config_doc() -> str:
    """Markdown reference of every config key (generated from the schema)."""
    lines = [
        "# Configuration reference",
        "",
        "Generated from the schema by `hrtem config --doc`; do not edit by hand.",
        "Every key is optional: the default is used when it is absent. Unknown",
        "keys, wrong types and out-of-range values stop the workflow before any",
        "job runs, with the key path in the message.",
        "",
        "| key | type | default | description |",
        "|---|---|---|---|",
    ]

    def walk(node: Mapping[str, Any], prefix: str) -> None:
        for name, sub in node.get("properties", {}).items():
            key = f"{prefix}{name}"
            typ = sub.get("type", " or ".join(str(s.get("type", s.get("const", s.get("enum")))) for s in sub.get("oneOf", sub.get("anyOf", []))))
            if "enum" in sub:
                typ = f"{typ}: {', '.join(map(str, sub['enum']))}"
            default = sub.get("default", "")
            default_txt = "" if sub.get("type") == "object" else f"`{json.dumps(default)}`"
            desc = " ".join(str(sub.get("description", "")).split()).replace("|", "\\|")
            lines.append(f"| `{key}` | {typ} | {default_txt} | {desc} |")
            if sub.get("type") == "object" and "properties" in sub:
                walk(sub, key + ".")

    walk(schema(), "")
    return "\n".join(lines) + "\n"


def _cmd(args: argparse.Namespace) -> int:
    if args.doc:
        print(config_doc(), end="")
        return 0
    if args.path is None:
        raise ConfigError("give a config file to validate (or --doc)")
    config = load_config(args.path)
    print(yaml.safe_dump(config, sort_keys=False), end="")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``config`` verb."""
    p = sub.add_parser("config", help="validate a config file and print it with defaults filled in")
    p.add_argument("path", nargs="?", help="YAML config file")
    p.add_argument("--doc", action="store_true", help="print the Markdown reference of every key")
    p.set_defaults(func=_cmd)
