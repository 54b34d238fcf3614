"""The manifest/report contract with the TypeScript side, read from training/contract.schema.json
(generated from src/adapters/training/contract.ts by `npm run training:contract`).

The trainer reads the manifest only after `load_manifest` checked it against the schema, and writes its
report only after `check_report` did: a key one side writes and the other does not know fails here, with
its path, instead of deep inside training. training/test_contract.py checks statically that every key
the trainer reads is one the schema declares (and that it reads all of them).
Needs only the standard library (no jsonschema package: Debian packages only, no PyPI).
"""
import json
import os
import re

SCHEMA_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "contract.schema.json")


def schema():
    with open(SCHEMA_PATH) as f:
        return json.load(f)


class ContractError(ValueError):
    pass


def _check(value, spec, path, problems):
    t = spec.get("type")
    kinds = {
        "object": lambda v: isinstance(v, dict),
        "array": lambda v: isinstance(v, list),
        "string": lambda v: isinstance(v, str),
        "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
        "integer": lambda v: (isinstance(v, int) and not isinstance(v, bool)) or (isinstance(v, float) and v.is_integer()),
        "boolean": lambda v: isinstance(v, bool),
    }
    if t is not None and not kinds[t](value):
        problems.append(f"{path}: expected {t}, got {type(value).__name__}")
        return
    if "enum" in spec and value not in spec["enum"]:
        problems.append(f"{path}: {value!r} is not one of {spec['enum']}")
    if t in ("number", "integer"):
        if "minimum" in spec and value < spec["minimum"]:
            problems.append(f"{path}: {value} < {spec['minimum']}")
        if "exclusiveMinimum" in spec and value <= spec["exclusiveMinimum"]:
            problems.append(f"{path}: {value} <= {spec['exclusiveMinimum']}")
        if "maximum" in spec and value > spec["maximum"]:
            problems.append(f"{path}: {value} > {spec['maximum']}")
        if "exclusiveMaximum" in spec and value >= spec["exclusiveMaximum"]:
            problems.append(f"{path}: {value} >= {spec['exclusiveMaximum']}")
    if t == "string":
        if "minLength" in spec and len(value) < spec["minLength"]:
            problems.append(f"{path}: shorter than {spec['minLength']}")
        if "pattern" in spec and not re.search(spec["pattern"], value):
            problems.append(f"{path}: {value!r} does not match {spec['pattern']}")
    if t == "array":
        if "minItems" in spec and len(value) < spec["minItems"]:
            problems.append(f"{path}: fewer than {spec['minItems']} items")
        for i, item in enumerate(value):
            _check(item, spec.get("items", {}), f"{path}[{i}]", problems)
    if t == "object":
        props = spec.get("properties", {})
        for key in spec.get("required", []):
            if key not in value:
                problems.append(f"{path}.{key}: missing")
        extra = spec.get("additionalProperties", True)
        for key, v in value.items():
            if key in props:
                _check(v, props[key], f"{path}.{key}", problems)
            elif extra is False:
                problems.append(f"{path}.{key}: not in the contract")
            elif isinstance(extra, dict):
                _check(v, extra, f"{path}.{key}", problems)


def check(value, part):
    """Problems of `value` against the contract's `part` ("manifest" or "report"); empty when it conforms."""
    problems = []
    _check(value, schema()[part], part, problems)
    return problems


def load_manifest(path):
    with open(path) as f:
        manifest = json.load(f)
    problems = check(manifest, "manifest")
    if problems:
        raise ContractError(f"{path} breaks the training contract: " + "; ".join(problems))
    return manifest


def check_report(report):
    problems = check(report, "report")
    if problems:
        raise ContractError("the training report breaks the contract: " + "; ".join(problems))
    return report
