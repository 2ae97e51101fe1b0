"""Reading a run config: YAML text -> validated dict with the schema's defaults filled in.

Errors name the file, the YAML line and the key path, e.g.
`demo.tunelab.yaml line 7: training.learning_rate: expected number, got string "fast"`.
"""

import copy
import json
import re
from functools import lru_cache
from importlib import resources

import yaml
from jsonschema import Draft7Validator
from jsonschema.exceptions import best_match


class ConfigError(ValueError):
    pass


class Loader(yaml.SafeLoader):
    """YAML 1.2 numbers: PyYAML (YAML 1.1) reads `1e-5` as a string, while the editor's YAML reads a number."""


Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
    |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
    |\.[0-9_]+(?:[eE][-+][0-9]+)?
    |[-+]?\.(?:inf|Inf|INF)
    |\.(?:nan|NaN|NAN))$""", re.X),
    list("-+0123456789."))


@lru_cache(maxsize=None)
def schema() -> dict:
    return json.loads(resources.files("tunelab_agent").joinpath("schema/run_config.schema.json").read_text())


JSON_TYPE = {str: "string", bool: "boolean", int: "integer", float: "number", list: "array", dict: "object", type(None): "null"}


def describe(value) -> str:
    kind = JSON_TYPE.get(type(value), type(value).__name__)
    if isinstance(value, (dict, list)):
        return kind
    return f"{kind} {json.dumps(value)}"


def load_run_config(text: str, source: str = "run config") -> dict:
    """Parse and validate; raise ConfigError with one line per problem."""
    try:
        root_node = yaml.compose(text, Loader=Loader)
        config = yaml.load(text, Loader=Loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"{source}{where}: not valid YAML ({problem})") from None
    if config is None:
        raise ConfigError(f"{source}: the file is empty")
    if not isinstance(config, dict):
        raise ConfigError(f"{source}: expected a mapping of keys (model, dataset, ...), got {describe(config)}")

    problems = []
    for err in Draft7Validator(schema()).iter_errors(config):
        err = _specific(err)
        path = list(err.absolute_path)
        if err.validator == "additionalProperties":  # point at the unknown key itself, not its parent
            path += sorted(set(err.instance) - set(err.schema.get("properties", {})))[:1]
            line = _line_of(root_node, path)
            path = path[:-1]
        else:
            line = _line_of(root_node, path)
        problems.append((line or 0, f"{source}{f' line {line}' if line else ''}: {_explain(err, path)}"))
    if not problems:  # keys that are valid alone but do not fit the training method
        for path, message in method_problems(config):
            line = _line_of(root_node, path)
            problems.append((line or 0, f"{source}{f' line {line}' if line else ''}: {'.'.join(path)}: {message}"))
    if problems:
        raise ConfigError("\n".join(msg for _, msg in sorted(problems)))
    return with_defaults(config)


def _specific(err):
    """For a value that matches no branch of a oneOf, the error of the branch it came closest to."""
    while err.validator == "oneOf" and err.context:
        typed = [e for e in err.context if e.validator not in ("type", "const")]
        if not typed:
            return err
        err = best_match(typed)
    return err


def _explain(err, path: list) -> str:
    key = ".".join(str(p) for p in path)
    prefix = f"{key}: " if key else ""
    if err.validator == "type":
        expected = err.validator_value if isinstance(err.validator_value, str) else " or ".join(err.validator_value)
        return f"{prefix}expected {expected}, got {describe(err.instance)}"
    if err.validator == "additionalProperties":
        allowed = sorted(err.schema.get("properties", {}))
        extra = sorted(set(err.instance) - set(allowed))
        names = ", ".join(f"{key + '.' if key else ''}{name}" for name in extra)
        return f"{names}: unknown key (allowed here: {', '.join(allowed)})"
    if err.validator == "required":
        missing = [name for name in err.validator_value if name not in err.instance]
        return ", ".join(f"{key + '.' if key else ''}{name}" for name in missing) + ": required key is missing"
    if err.validator == "enum":
        return f"{prefix}expected one of {', '.join(map(str, err.validator_value))}, got {describe(err.instance)}"
    if err.validator == "oneOf":
        return f"{prefix}expected {_shapes(err.validator_value)}, got {describe(err.instance)}"
    if err.validator in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "minLength", "maxLength", "minItems"):
        words = {"minimum": "at least", "maximum": "at most", "exclusiveMinimum": "more than",
                 "exclusiveMaximum": "less than", "minLength": "a length of at least",
                 "maxLength": "a length of at most", "minItems": "at least this many items:"}
        return f"{prefix}must be {words[err.validator]} {err.validator_value}, got {describe(err.instance)}"
    return f"{prefix}{err.message}"


def _shapes(branches: list) -> str:
    return " or ".join(json.dumps(b["const"]) if "const" in b else
                       ("an array of " + b["items"].get("type", "value") + "s" if b.get("type") == "array" else
                        b.get("type", "value")) for b in branches)


def _line_of(node, path: list) -> int | None:
    """1-based line of the value at `path` in the composed YAML tree (best effort)."""
    line = node.start_mark.line + 1 if node is not None else None
    for part in path:
        if isinstance(node, yaml.MappingNode):
            match = next(((k, v) for k, v in node.value if k.value == str(part)), None)
            if match is None:
                return line
            node = match[1]
            line = match[0].start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            return line
    return line


def with_defaults(config: dict) -> dict:
    """A copy of `config` with every schema default filled in, every section present, and `model`
    always in its object form ({name, revision, dtype, ...})."""
    config = copy.deepcopy(config)
    if isinstance(config.get("model"), str):
        config["model"] = {"name": config["model"]}
    config = _fill(config, schema())
    model_branch = next(b for b in schema()["properties"]["model"]["oneOf"] if b.get("type") == "object")
    _fill(config["model"], model_branch)
    for section in ("length_penalty", "kl"):
        config["loss"].setdefault(section, {})
        _fill(config["loss"][section], schema()["properties"]["loss"]["properties"][section])
    config["evaluation"].setdefault("targets", {})
    _fill(config["evaluation"]["targets"], schema()["properties"]["evaluation"]["properties"]["targets"])
    config["training"].setdefault("early_stopping", {})
    _fill(config["training"]["early_stopping"], schema()["properties"]["training"]["properties"]["early_stopping"])
    return config


def _fill(value: dict, node: dict) -> dict:
    for key, sub in node.get("properties", {}).items():
        if key not in value:
            if "default" in sub:
                value[key] = copy.deepcopy(sub["default"])
            elif sub.get("type") == "object" and not sub.get("required"):
                value[key] = {}
        if isinstance(value.get(key), dict) and sub.get("type") == "object":
            _fill(value[key], sub)
    return value


def method_problems(config: dict) -> list[tuple[list, str]]:
    """Keys that do not fit training.method, as (key path, message): checks JSON Schema cannot word well."""
    method = config.get("training", {}).get("method", "sft")
    if method == "sft":
        return []
    problems = []
    if config.get("dataset", {}).get("packing"):
        problems.append((["dataset", "packing"], f"packing joins SFT samples; training.method {method} "
                                                 "scores whole answers, so set packing: false"))
    for term in ("length_penalty", "kl"):
        weight = ((config.get("loss") or {}).get(term) or {}).get("weight", 0)
        if isinstance(weight, (int, float)) and weight > 0:
            problems.append((["loss", term, "weight"], f"loss.{term} is an SFT term; training.method {method} "
                                                       f"keeps the model near the base through {method}.beta instead"))
    kto = config.get("kto") or {}
    batch = config.get("training", {}).get("batch_size", 4)
    if method == "kto" and kto.get("loss_type", "kto") == "kto" and isinstance(batch, int) and batch < 2:
        problems.append((["training", "batch_size"], "KTO estimates its KL term from the other rows of a batch; "
                                                     "use a batch_size of at least 2"))
    return problems
