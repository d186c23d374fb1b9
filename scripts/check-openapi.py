#!/usr/bin/env python3
"""Validates the server's OpenAPI document with an independent validator.

Usage: scripts/check-openapi.py openapi.json

Checks the document against the OpenAPI 3.1 schema and rules with openapi-spec-validator
(pip install openapi-spec-validator), prints every problem with its JSON path, and also
checks that every operationId is unique. Exits 0 when valid, 1 on any problem and 2 when
the file or the validator cannot be read.
"""

import json
import re
import sys

try:
    from openapi_spec_validator import OpenAPIV31SpecValidator
    from openapi_spec_validator.schemas import openapi_v31_schema_validator
except ImportError:
    print(
        "check-openapi: openapi-spec-validator is missing (pip install openapi-spec-validator)",
        file=sys.stderr,
    )
    sys.exit(2)

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def json_path(parts):
    """`$.paths['/a/{id}'].get.parameters[0]` from a list of keys and indexes."""
    out = "$"
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", part):
            out += f".{part}"
        else:
            out += "[" + json.dumps(part) + "]"
    return out


def operations(spec):
    paths = spec.get("paths")
    if not isinstance(paths, dict):
        return
    for url, item in paths.items():
        if not isinstance(item, dict):
            continue
        for method in METHODS:
            if isinstance(item.get(method), dict):
                yield url, method, item[method]


def locate(spec, message):
    """JSON path for the rule errors of openapi-spec-validator, which carry none."""
    m = re.match(r"Path parameter '(.*)' for '(\w+)' operation in '(.*)' was not resolved", message)
    if m:
        name, method, url = m.groups()
        item = spec["paths"].get(url, {})
        for parts, params in (
            (["paths", url, method, "parameters"], item.get(method, {}).get("parameters")),
            (["paths", url, "parameters"], item.get("parameters")),
        ):
            for i, param in enumerate(params or []):
                if isinstance(param, dict) and param.get("name") == name:
                    return json_path(parts + [i])
        return json_path(["paths", url, method])
    m = re.match(r"Operation ID '.*' for '(\w+)' in '(.*)' is not unique", message)
    if m:
        method, url = m.groups()
        return json_path(["paths", url, method, "operationId"])
    return "$"


def main(argv):
    if len(argv) != 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    try:
        with open(argv[1], encoding="utf-8") as f:
            spec = json.load(f)
    except (OSError, ValueError) as e:
        print(f"check-openapi: cannot read {argv[1]}: {e}", file=sys.stderr)
        return 2
    if not isinstance(spec, dict) or not str(spec.get("openapi", "")).startswith("3.1."):
        version = spec.get("openapi") if isinstance(spec, dict) else None
        print(f"$.openapi: expected an OpenAPI 3.1 document, got {version!r}")
        return 1

    problems = []
    # The JSON schema of OpenAPI 3.1 first: its errors carry their JSON path.
    schema_errors = sorted(
        openapi_v31_schema_validator.iter_errors(spec), key=lambda e: list(map(str, e.absolute_path))
    )
    for e in schema_errors:
        problems.append((json_path(e.absolute_path), e.message))
    # Then the rules (path templates, duplicate parameters and operationIds, schemas, ...),
    # which assume a structurally valid document.
    if not schema_errors:
        try:
            for e in OpenAPIV31SpecValidator(spec).iter_errors():
                if type(e).__name__ == "DuplicateOperationIDError":
                    continue  # reported below, with every occurrence
                path = json_path(e.absolute_path) if e.absolute_path else locate(spec, e.message)
                problems.append((path, e.message))
        except Exception as e:  # noqa: BLE001 - a validator crash is a failed check too
            problems.append(("$", f"the validator failed: {type(e).__name__}: {e}"))
    else:
        print("check-openapi: fix the structural errors first; the rule checks did not run")

    # Every operationId unique, every occurrence named (the validator names only the later ones).
    seen = {}
    for url, method, op in operations(spec):
        if isinstance(op.get("operationId"), str):
            seen.setdefault(op["operationId"], []).append(
                json_path(["paths", url, method, "operationId"])
            )
    for op_id, where in seen.items():
        if len(where) > 1:
            for path in where:
                problems.append((path, f"operationId {op_id!r} is used {len(where)} times"))

    for path, message in problems:
        print(f"{path}: {message}")
    count = sum(1 for _ in operations(spec))
    if problems:
        print(f"check-openapi: {argv[1]}: {len(problems)} problem(s) in {count} operations")
        return 1
    print(f"check-openapi: {argv[1]}: valid OpenAPI {spec['openapi']}, {count} operations")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
