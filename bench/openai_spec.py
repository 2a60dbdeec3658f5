"""Cut OpenAI's published OpenAPI document (MIT) down to what the spec-driven test needs: the
request bodies of POST /chat/completions, /completions and /responses with every schema
they reach, under this server's /v1 prefix. `nullable: true` (OpenAPI 3.0's spelling, which
the 3.1 document still uses in places) becomes a union with null, so that generators draw
the nulls the spec allows; bounds written as strings become numbers; objects are closed
(allOf parts merged) so that a drawn request holds only fields the spec names.

    .venv/bin/python -m bench openai_spec PATH/openai-openapi.yml tests/e2e/openai_requests.json
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from typing import Any

import yaml

OPERATIONS = ("/chat/completions", "/completions", "/responses")


def _refs(node: Any) -> set[str]:
    found: set[str] = set()
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            ref = item.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
                found.add(ref.rsplit("/", 1)[1])
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found


def _bound(value: Any) -> Any:
    """The document writes the seed's bounds as strings ("9.223372036854776e18"): as
    integers, within the 64-bit range that float stands for."""
    if not isinstance(value, str):
        return value
    return max(min(int(float(value)), 2**63 - 1), -(2**63))


def _nullable(node: Any) -> Any:
    if isinstance(node, list):
        return [_nullable(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: _nullable(value) for key, value in node.items()}
    for key in ("minimum", "maximum"):
        if key in node:
            node[key] = _bound(node[key])
    if node.pop("nullable", False) is True:
        described = {k: node.pop(k) for k in ("description", "default", "deprecated") if k in node}
        return {"anyOf": [node, {"type": "null"}], **described}
    return node


def _merged(node: dict[str, Any], schemas: dict[str, Any]) -> dict[str, Any] | None:
    """An allOf of object schemas as one object schema (None if a part is not one)."""
    merged: dict[str, Any] = {"type": "object", "properties": {}, "required": []}
    for part in node["allOf"]:
        while isinstance(part, dict) and "$ref" in part:
            part = schemas[part["$ref"].rsplit("/", 1)[1]]
        if isinstance(part, dict) and "allOf" in part:
            part = _merged(part, schemas)
        if not isinstance(part, dict) or set(part) & {"anyOf", "oneOf", "additionalProperties"}:
            return None
        for name, value in part.get("properties", {}).items():
            merged["properties"].setdefault(name, value)  # a repeated one: the first
        merged["required"] += [r for r in part.get("required", ()) if r not in merged["required"]]
    return merged


def _closed(node: Any, schemas: dict[str, Any]) -> Any:
    """Objects refuse properties they do not declare, as OpenAI's API does (the document
    leaves them open), so that drawn requests stay inside the spec."""
    if isinstance(node, list):
        return [_closed(item, schemas) for item in node]
    if not isinstance(node, dict):
        return node
    if "allOf" in node and (merged := _merged(node, schemas)) is not None:
        node = {**{k: v for k, v in node.items() if k != "allOf"}, **merged}
    node = {key: _closed(value, schemas) for key, value in node.items()}
    if "properties" in node and not set(node) & {"additionalProperties", "patternProperties"}:
        node["additionalProperties"] = False
    return node


def extract(document: dict[str, Any]) -> dict[str, Any]:
    schemas = document["components"]["schemas"]
    paths: dict[str, Any] = {}
    wanted: set[str] = set()
    for path in OPERATIONS:
        body = document["paths"][path]["post"]["requestBody"]
        wanted |= _refs(body)
        paths[f"/v1{path}"] = {
            "post": {
                "operationId": path.strip("/").replace("/", "_"),
                "requestBody": body,
                "responses": {"200": {"description": "OK"}},
            }
        }
    seen: set[str] = set()
    while wanted - seen:
        name = (wanted - seen).pop()
        seen.add(name)
        wanted |= _refs(schemas[name])
    return {
        "openapi": "3.1.0",
        "info": {"title": "OpenAI API (request bodies)", "version": document["info"]["version"]},
        "paths": paths,
        "components": {
            "schemas": {name: _nullable(_closed(schemas[name], schemas)) for name in sorted(seen)}
        },
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", help="OpenAI's OpenAPI document (YAML)")
    parser.add_argument("target", help="where the cut document goes (JSON)")
    args = parser.parse_args(argv)
    source, target = args.source, args.target
    with open(source) as handle:
        document = yaml.load(handle, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    extracted = extract(document)
    with open(target, "w") as handle:
        json.dump(extracted, handle, indent=1, sort_keys=True)
        handle.write("\n")
    print(f"{len(extracted['components']['schemas'])} schemas -> {target}")
