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
import math
import os
import re
from collections.abc import Mapping
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from hrtem.errors import ConfigError

__all__ = [
    "schema",
    "validate_config",
    "load_config",
    "load_yaml_strict",
    "config_doc",
    "parse_json_object",
]


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


# ---------------------------------------------------------------- strict YAML
# Config files are read with YAML 1.2 core-schema scalars (``yes``/``on`` are
# strings, ``1:30`` is a string, ``010`` is ten, ``1e5`` is a float) and every
# plain scalar whose YAML 1.1 reading (PyYAML's, and Snakemake's) differs is an
# error naming the key and line, so the workflow and ``hrtem config`` always see
# the same values. Duplicate keys are an error too (YAML 1.1 keeps the last).

_TAG = "tag:yaml.org,2002:"


_RESOLVER_11 = yaml.resolver.Resolver()


class _Yaml12Loader(yaml.SafeLoader):
    """PyYAML's safe loader with the YAML 1.2 core schema for plain scalars."""


_Yaml12Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in (_TAG + "bool", _TAG + "int", _TAG + "float")]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Yaml12Loader.add_implicit_resolver(_TAG + "bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))
_Yaml12Loader.add_implicit_resolver(
    _TAG + "int", re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$"), list("-+0123456789")
)
_Yaml12Loader.add_implicit_resolver(
    _TAG + "float",
    re.compile(r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"),
    list("-+.0123456789"),
)


def _construct_int12(loader: yaml.SafeLoader, node: yaml.Node) -> int:
    text = loader.construct_scalar(node)
    if text.startswith("0o"):
        return int(text[2:], 8)
    if text.startswith("0x"):
        return int(text[2:], 16)
    return int(text, 10)


def _construct_float12(loader: yaml.SafeLoader, node: yaml.Node) -> float:
    text = str(loader.construct_scalar(node)).lower()
    if text.endswith(".inf"):
        return -math.inf if text.startswith("-") else math.inf
    if text == ".nan":
        return math.nan
    return float(text)


_Yaml12Loader.add_constructor(_TAG + "int", _construct_int12)
_Yaml12Loader.add_constructor(_TAG + "float", _construct_float12)


def _same_value(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return type(a) is type(b) and a == b


def _yaml11_hint(text: str, old: Any, new: Any) -> str:
    if isinstance(old, bool):
        return f"write {'true' if old else 'false'} for a boolean or quote it ('{text}') for a string"
    if isinstance(old, (int, float)) and ":" in text:
        return f"quote it ('{text}') or write the number ({old:g})"
    if isinstance(old, (int, float)) and isinstance(new, str):
        return f"write {old!r} (or quote it for a string)"
    if isinstance(old, (int, float)) and isinstance(new, (int, float)):
        return f"write {new!r} without leading zeros or underscores"
    if isinstance(new, float):
        return f"write it with a dot and a signed exponent ({new:.6g} as {new:.1e}) or as a plain number"
    return f"quote it ('{text}')"


def _check_nodes(node: yaml.Node, path: str, source: str, loader: yaml.SafeLoader) -> None:
    """Duplicate keys and YAML 1.1/1.2 ambiguities anywhere under ``node``."""
    if isinstance(node, yaml.MappingNode):
        seen: dict[Any, int] = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else repr(key_node)
            where = f"{path}.{key}" if path else str(key)
            line = key_node.start_mark.line + 1
            if key in seen:
                raise ConfigError(
                    f"{source} line {line}: duplicate key {where} (first at line {seen[key]}); "
                    "YAML would silently keep only the last: merge the two into one"
                )
            seen[key] = line
            _check_nodes(key_node, where, source, loader)
            _check_nodes(value_node, where, source, loader)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _check_nodes(item, f"{path}.{i}", source, loader)
    elif isinstance(node, yaml.ScalarNode) and node.style is None and node.tag.startswith(_TAG):
        new = loader.construct_object(node, deep=True)
        old_tag = _RESOLVER_11.resolve(yaml.ScalarNode, node.value, (True, False))
        old = yaml.SafeLoader.yaml_constructors[old_tag](loader, yaml.ScalarNode(old_tag, node.value))
        if not _same_value(old, new):
            line = node.start_mark.line + 1
            raise ConfigError(
                f"{source} line {line}: key {path or '(top level)'}: `{node.value}` reads as {old!r} in YAML 1.1 "
                f"(Snakemake) but {new!r} in YAML 1.2; {_yaml11_hint(node.value, old, new)}"
            )


def load_yaml_strict(path: str | os.PathLike) -> Any:
    """Read a YAML config file strictly (see the comment above); ``{}`` when empty.

    Raises :class:`ConfigError` with the file, line and key path on a duplicate
    key, a scalar that YAML 1.1 and 1.2 read differently, or invalid YAML.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file {path} does not exist")
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"config file {path} cannot be read: {err}") from err
    loader = _Yaml12Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return {}
        _check_nodes(node, "", f"config file {path}", loader)
        data = loader.construct_document(node)
    except yaml.YAMLError as err:
        first = " ".join(str(err).split())
        raise ConfigError(f"config file {path} is not valid YAML: {first}") from err
    finally:
        loader.dispose()
    return {} if data is None else data


# Ceilings by unit suffix for every number/integer key that does not set its own
# maximum (and floors, the same magnitude, for signed numbers without a
# minimum): far above any physical use, far below what exhausts a machine, so a
# typo like 1e15 stops at the key instead of in a job. Keys that size a
# computation set tighter bounds in their schema, and the cost estimate
# (hrtem.estimate) checks the combinations.
_UNIT_CEILINGS: tuple[tuple[str, float], ...] = (
    ("_deg", 360.0),
    ("_nm", 1000.0),  # 1 µm
    ("_a", 10000.0),  # 1 µm
    ("_A", 10000.0),
    ("_um", 10000.0),  # 10 mm
    ("_mm", 100.0),
    ("_fs", 1.0e6),
    ("_K", 1.0e5),
    ("_mrad", 1000.0),
    ("_kev", 10000.0),
    ("_px", 16384),
    ("_percent", 1000.0),
    ("_mb", 10_000_000),
    ("_min", 1_000_000),
    ("_e_per_a2", 1.0e9),
)
_INTEGER_CEILING = 1_000_000_000
_NUMBER_CEILING = 1.0e6


def _ceiling(name: str, typ: str) -> float:
    for suffix, value in _UNIT_CEILINGS:
        if name.endswith(suffix):
            return value
    return _INTEGER_CEILING if typ == "integer" else _NUMBER_CEILING


def _add_ceilings(node: Any, name: str = "") -> None:
    """Give every numeric (sub)schema without a maximum the unit ceiling of ``name``."""
    if isinstance(node, list):
        for item in node:
            _add_ceilings(item, name)
        return
    if not isinstance(node, dict):
        return
    types = node.get("type")
    types = [types] if isinstance(types, str) else list(types or [])
    numeric = [t for t in types if t in ("number", "integer")]
    if numeric and "maximum" not in node and "exclusiveMaximum" not in node:
        node["maximum"] = _ceiling(name, numeric[0])
    if numeric and "minimum" not in node and "exclusiveMinimum" not in node:
        node["minimum"] = -_ceiling(name, numeric[0])
    for key, value in node.items():
        if key in ("properties", "$defs"):
            for sub_name, sub in value.items():
                _add_ceilings(sub, sub_name)
        elif key in ("items", "additionalProperties", "oneOf", "anyOf", "allOf"):
            _add_ceilings(value, name)


@lru_cache(maxsize=1)
def _schema_text() -> str:
    root = resources.files("hrtem") / "schemas"
    # libyaml's parser when PyYAML has it (the same documents, ~7x faster: ~0.4 s of every CLI and workflow start)
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    top = yaml.load((root / "config.schema.yaml").read_text(), Loader=loader)
    sections = root / "sections"
    for entry in sorted(sections.iterdir(), key=lambda p: p.name):
        if entry.name.endswith(".schema.yaml"):
            name = entry.name[: -len(".schema.yaml")]
            if name in top["properties"]:
                raise RuntimeError(f"schema section {name!r} is defined twice")
            top["properties"][name] = yaml.load(entry.read_text(), Loader=loader)
    _add_ceilings(top)
    return json.dumps(top)


@lru_cache(maxsize=1)
def _validator() -> Any:
    # one validator for the process: the schema is never modified by validation
    # (defaults are deep-copied into the instance)
    return _Validator(json.loads(_schema_text()))


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


def _is_integer(checker: Any, instance: Any) -> bool:
    # JSON Schema counts 4.0 as an integer; hrtem's CLI verbs and numpy do not.
    return isinstance(instance, int) and not isinstance(instance, bool)


def _is_number(checker: Any, instance: Any) -> bool:
    # NaN and ±inf are never a valid setting (and pass every bound check).
    if isinstance(instance, bool) or not isinstance(instance, (int, float)):
        return False
    return math.isfinite(instance)


_TYPES = jsonschema.Draft202012Validator.TYPE_CHECKER.redefine_many({"integer": _is_integer, "number": _is_number})
_Validator = _fill_defaults(jsonschema.validators.extend(jsonschema.Draft202012Validator, type_checker=_TYPES))


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
    if best.validator == "type" and isinstance(best.instance, float) and not math.isfinite(best.instance):
        message = f"{best.instance} is not a finite number"
    elif best.validator == "type" and isinstance(best.instance, float) and best.instance.is_integer():
        message = f"{best.instance!r} is not an integer (write {int(best.instance)})"
    text = f"config key {_key_path(best)}: {message}"
    if detail:
        text += f"; {detail}"
    if desc and best.validator in ("type", "enum", "oneOf", "anyOf"):
        text += f" ({desc.split('.')[0].strip()})"
    return text


def validate_config(config: Mapping[str, Any] | None, *, cross_field: bool | tuple[str, ...] = True) -> dict[str, Any]:
    """Validate ``config`` and return a copy with every default filled in.

    After the schema, the cross-field checks of :mod:`hrtem.config_checks` run
    (``cross_field``: True = all, False = none, or a tuple of section names).

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
    validator = _validator()
    error = next(iter(sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path))), None)
    if error is not None:
        raise ConfigError(_message(error))
    if cross_field:
        from hrtem.config_checks import check_consistency

        check_consistency(instance, None if cross_field is True else cross_field)
    return instance


def load_config(path: str | os.PathLike, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Read a YAML config file, merge ``overrides`` (deep) and validate it."""
    path = Path(path)
    data = load_yaml_strict(path)
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


def _bounds(sub: Mapping[str, Any]) -> str:
    """``min … max`` of a numeric key (or of its items), for the reference table."""
    node = sub.get("items", sub) if sub.get("type") == "array" else sub
    if not isinstance(node, Mapping):
        return ""
    lo = "> " if "exclusiveMinimum" in node else ""
    hi = "< " if "exclusiveMaximum" in node else ""
    low = node.get("minimum", node.get("exclusiveMinimum"))
    high = node.get("maximum", node.get("exclusiveMaximum"))
    if low is None and high is None:
        return ""
    return f"{lo}{low:g} … {hi}{high:g}" if low is not None and high is not None else f"{lo}{low}{hi}{high}"


def config_doc() -> str:
    """Markdown reference of every config key (generated from the schema)."""
    lines = [
        "# Configuration reference",
        "",
        "Generated from the schema by `hrtem config --doc`; do not edit by hand.",
        "Every key is optional: the default is used when it is absent. Unknown",
        "keys, wrong types, NaN/inf, out-of-range values (bounds column; keys",
        "without their own bounds get a ceiling by unit), duplicate keys and",
        "inconsistent keys stop the workflow before any job runs, with the key",
        "path in the message.",
        "",
        "| key | type | default | bounds | description |",
        "|---|---|---|---|---|",
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
            lines.append(f"| `{key}` | {typ} | {default_txt} | {_bounds(sub)} | {desc} |")
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
    if args.estimate:
        from hrtem.estimate import check_estimate, estimate_config, format_table

        print(format_table(estimate_config(config)))
        check_estimate(config)
        return 0
    print(yaml.safe_dump(config, sort_keys=False), end="")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``config`` verb."""
    p = sub.add_parser("config", help="validate a config file and print it with defaults filled in")
    p.add_argument("path", nargs="?", help="YAML config file")
    p.add_argument("--doc", action="store_true", help="print the Markdown reference of every key")
    p.add_argument(
        "--estimate", action="store_true",
        help="print the cost estimate (grids, memory, disk, MD atom-steps); exit 2 if over a budget",
    )
    p.set_defaults(func=_cmd)
