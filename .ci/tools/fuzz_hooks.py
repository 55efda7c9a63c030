"""Schemathesis hooks for fuzzing the GraphQL API (loaded through SCHEMATHESIS_HOOKS).

- `FreshSession` signs every generated request in with its own session, read
  from the file named by FUZZ_TOKENS_FILE (one bearer token a line; the test
  inserts one user per token). With one shared token, the first fuzzed
  `signOut`, `deleteAccount` or `changePassword` would end it, and every later
  request would only reach the UNAUTHENTICATED check. A request that names a
  goal, post or reply of FUZZ_OWNERS_FILE (`<id> <token>` a line) is signed
  in as its owner instead, so updates and deletes get past their ownership
  checks (a stranger only ever reaches NOT_FOUND or FORBIDDEN).
- `explicit_nulls` rewrites half of the generated documents: every nullable
  argument and input field explicitly `null` (a quarter), or left out (a
  quarter), non-null ones as generated. hypothesis-graphql picks a random
  subset of an input object's fields and a value or `null` for each, so "all
  of them null" (an update with nothing to change) is rare in a CI budget;
  this makes it one case in four.
- `no_internal_error` is the one check that runs: a 5xx status or an error
  with `extensions.code` INTERNAL_SERVER_ERROR fails the run. Schemathesis's
  own `not_a_server_error` also counts every error that names a field and is
  not BAD_USER_INPUT (UNAUTHENTICATED, NOT_FOUND, RATE_LIMITED, ...) as a
  server error, while those are the contract's answers to bad requests.
"""

import itertools
import json
import os
import re
import threading

import graphql
import schemathesis
from hypothesis import strategies as st

with open(os.environ["FUZZ_TOKENS_FILE"], encoding="utf-8") as tokens_file:
    _TOKENS = [line.strip() for line in tokens_file if line.strip()]
if not _TOKENS:
    raise RuntimeError("FUZZ_TOKENS_FILE holds no token")
_NEXT_TOKEN = itertools.cycle(_TOKENS)
_LOCK = threading.Lock()
with open(os.environ["FUZZ_OWNERS_FILE"], encoding="utf-8") as owners_file:
    _OWNERS = dict(line.split() for line in owners_file if line.strip())
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@schemathesis.auth(refresh_interval=None)
class FreshSession:
    """The owner of the row a request names, else a new signed-in user for
    every request (tokens are reused once all are spent)."""

    def get(self, case, ctx):
        body = case.body if isinstance(case.body, str) else ""
        for found in _UUID.findall(body):
            if found in _OWNERS:
                return _OWNERS[found]
        with _LOCK:
            return next(_NEXT_TOKEN)

    def set(self, case, data, ctx):
        case.headers = case.headers or {}
        case.headers["Authorization"] = f"Bearer {data}"


@schemathesis.check
def no_internal_error(ctx, response, case):
    """Fails on a 5xx answer or an INTERNAL_SERVER_ERROR in the GraphQL errors."""
    if response.status_code >= 500:
        raise AssertionError(f"HTTP {response.status_code}: {response.content[:2000]!r}")
    try:
        body = json.loads(response.content)
    except ValueError:
        raise AssertionError(f"not JSON (HTTP {response.status_code}): {response.content[:2000]!r}")
    bodies = body if isinstance(body, list) else [body]
    for single in bodies:
        errors = single.get("errors") if isinstance(single, dict) else None
        for error in errors or []:
            code = ((error or {}).get("extensions") or {}).get("code")
            if code == "INTERNAL_SERVER_ERROR":
                raise AssertionError(f"INTERNAL_SERVER_ERROR: {json.dumps(error)}")


@schemathesis.hook
def flatmap_body(context, body):
    """The generated document (an AST), or it with nullable inputs null or left out."""
    if not isinstance(body, graphql.DocumentNode):
        return st.just(body)
    schema = context.operation.schema.client_schema
    return st.sampled_from(
        [body, body, _explicit_nulls(schema, body, omit=False), _explicit_nulls(schema, body, omit=True)]
    )


def _replace(node, **changes):
    # graphql-core's nodes are immutable: copy with some attributes replaced.
    return type(node)(**{**{key: getattr(node, key) for key in node.keys}, **changes})


def _explicit_nulls(schema, document, omit):
    definitions = []
    for definition in document.definitions:
        if isinstance(definition, graphql.OperationDefinitionNode):
            root = schema.get_root_type(definition.operation)
            selections = tuple(
                _field_with_nulls(root, selection, omit)
                if isinstance(selection, graphql.FieldNode) and root is not None
                else selection
                for selection in definition.selection_set.selections
            )
            definition = _replace(
                definition, selection_set=_replace(definition.selection_set, selections=selections)
            )
        definitions.append(definition)
    return _replace(document, definitions=tuple(definitions))


def _field_with_nulls(root, field, omit):
    definition = root.fields.get(field.name.value)
    if definition is None:
        return field
    given = {argument.name.value: argument for argument in field.arguments or ()}
    arguments = []
    for name, argument in definition.args.items():
        if graphql.is_non_null_type(argument.type):
            if name in given:
                value = _value_with_nulls(given[name].value, argument.type, omit)
                arguments.append(_replace(given[name], value=value))
        elif not omit:
            arguments.append(_null_argument(name))
    # Arguments the schema does not know (negative cases) stay as they were.
    arguments += [argument for name, argument in given.items() if name not in definition.args]
    return _replace(field, arguments=tuple(arguments))


def _null_argument(name):
    return graphql.ArgumentNode(name=graphql.NameNode(value=name), value=graphql.NullValueNode())


def _value_with_nulls(value, type_, omit):
    """`value` of the non-null `type_`, its nullable input fields null (or left out)."""
    named = graphql.get_nullable_type(type_)
    if isinstance(value, graphql.ListValueNode) and graphql.is_list_type(named):
        return _replace(value, values=tuple(_value_with_nulls(item, named.of_type, omit) for item in value.values))
    if not isinstance(value, graphql.ObjectValueNode) or not graphql.is_input_object_type(named):
        return value
    given = {field.name.value: field for field in value.fields}
    fields = []
    for name, field in named.fields.items():
        if graphql.is_non_null_type(field.type):
            if name in given:
                fields.append(_replace(given[name], value=_value_with_nulls(given[name].value, field.type, omit)))
        elif not omit:
            fields.append(graphql.ObjectFieldNode(name=graphql.NameNode(value=name), value=graphql.NullValueNode()))
    fields += [field for name, field in given.items() if name not in named.fields]
    return _replace(value, fields=tuple(fields))
