"""Static check of the trainer against the contract (training/contract.schema.json):

- every key the trainer reads from the manifest (a string subscript `x["key"]` or `x.get("key")` in the
  trainer's files) is a key the schema declares, and optional keys are read only with .get();
- every key the schema declares for the manifest is read by the trainer (no key TypeScript writes
  for nothing);
- the report dict the trainer writes has exactly the schema's report keys, nested dicts included.

Usage: /usr/bin/python3 training/test_contract.py [FILE.py ...]  (default: train.py and model.py).
Exit status 1 with one line per problem. Standard library only.
"""
import ast
import os
import sys

from contract import schema

HERE = os.path.dirname(os.path.abspath(__file__))


def manifest_keys(spec, required=True, out=None):
    """{key: required?} over every object in the manifest schema (a key is required if it is anywhere)."""
    out = {} if out is None else out
    if spec.get("type") == "object":
        req = set(spec.get("required", []))
        for key, sub in spec.get("properties", {}).items():
            out[key] = out.get(key, False) or (required and key in req)
            manifest_keys(sub, required and key in req, out)
    if spec.get("type") == "array":
        manifest_keys(spec.get("items", {}), required, out)
    return out


def reads(tree):
    """(key, how, line) for every string-keyed read: how is 'subscript' or 'get'."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load):
            if isinstance(node.slice, ast.Constant) and isinstance(node.slice.value, str):
                found.append((node.slice.value, "subscript", node.lineno))
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "get"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            found.append((node.args[0].value, "get", node.lineno))
    return found


def dict_problems(node, spec, path):
    """Keys of a dict literal (or a list/comprehension of them) against an object schema."""
    problems = []
    if isinstance(node, (ast.ListComp, ast.List)):
        elts = [node.elt] if isinstance(node, ast.ListComp) else node.elts
        for elt in elts:
            problems += dict_problems(elt, spec.get("items", {}), f"{path}[]")
        return problems
    if not isinstance(node, ast.Dict) or spec.get("type") != "object":
        return problems
    keys = {k.value: v for k, v in zip(node.keys, node.values) if isinstance(k, ast.Constant)}
    props = spec.get("properties", {})
    for key in sorted(set(keys) - set(props)):
        problems.append(f"line {node.lineno}: report key {path}.{key} is not in the contract")
    for key in sorted(set(spec.get("required", [])) - set(keys)):
        problems.append(f"line {node.lineno}: report key {path}.{key} is required by the contract but not written")
    for key, value in keys.items():
        if key in props:
            problems += dict_problems(value, props[key], f"{path}.{key}")
    return problems


def check(files):
    contract = schema()
    keys = manifest_keys(contract["manifest"])
    problems, read = [], set()
    report_written = False
    for path in files:
        with open(path) as f:
            tree = ast.parse(f.read(), path)
        name = os.path.basename(path)
        for key, how, line in reads(tree):
            read.add(key)
            if key not in keys:
                problems.append(f"{name}:{line}: reads manifest key \"{key}\", which the contract does not declare")
            elif not keys[key] and how != "get":
                problems.append(f"{name}:{line}: reads optional manifest key \"{key}\" without .get()")
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "report" for t in node.targets):
                report_written = True
                problems += [f"{name}: {p}" for p in dict_problems(node.value, contract["report"], "report")]
    for key in sorted(set(keys) - read):
        problems.append(f"the contract declares manifest key \"{key}\" but the trainer never reads it")
    if not report_written:
        problems.append("the trainer never assigns its `report` dict")
    return problems


if __name__ == "__main__":
    targets = sys.argv[1:] or [os.path.join(HERE, "train.py"), os.path.join(HERE, "model.py")]
    found = check(targets)
    for p in found:
        print(p)
    if not found:
        print(f"training contract: {len(targets)} files agree with {os.path.relpath(os.path.join(HERE, 'contract.schema.json'))}")
    sys.exit(1 if found else 0)
