"""Schemathesis hooks for fuzzing the GraphQL API (loaded through SCHEMATHESIS_HOOKS).

- `FreshSession` signs every generated request in with its own session, read
  from the file named by FUZZ_TOKENS_FILE (one bearer token a line; the test
  inserts one user per token). With one shared token, the first fuzzed
  `signOut`, `deleteAccount` or `changePassword` would end it, and every later
  request would only reach the UNAUTHENTICATED check.
- `no_internal_error` is the one check that runs: a 5xx status or an error
  with `extensions.code` INTERNAL_SERVER_ERROR fails the run. Schemathesis's
  own `not_a_server_error` also counts every error that names a field and is
  not BAD_USER_INPUT (UNAUTHENTICATED, NOT_FOUND, RATE_LIMITED, ...) as a
  server error, while those are the contract's answers to bad requests.
"""

import itertools
import json
import os
import threading

import schemathesis

with open(os.environ["FUZZ_TOKENS_FILE"], encoding="utf-8") as tokens_file:
    _TOKENS = [line.strip() for line in tokens_file if line.strip()]
if not _TOKENS:
    raise RuntimeError("FUZZ_TOKENS_FILE holds no token")
_NEXT_TOKEN = itertools.cycle(_TOKENS)
_LOCK = threading.Lock()


@schemathesis.auth(refresh_interval=None)
class FreshSession:
    """A new signed-in user for every request (tokens are reused once all are spent)."""

    def get(self, case, ctx):
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
