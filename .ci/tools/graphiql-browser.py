"""Opens GraphiQL in headless Chromium with every request that does not go to
the server under test aborted (as on a network without internet), runs a
query, then a subscription, and prints what GraphiQL showed.

    .ci/.venv-browser/bin/python .ci/tools/graphiql-browser.py http://127.0.0.1:PORT/graphql

Output, one line each:
    query-result <JSON shown in GraphiQL's result pane>
    subscribed
    subscription-result <JSON shown once an event arrived>
    blocked <JSON list of URLs that were aborted>
    errors <JSON list of console errors and page errors>
The Rust test (tests/api/graphiql.rs) publishes a post after "subscribed".
Uses the system's chromium (CHROMIUM overrides its path); never downloads one.
"""

import json
import os
import shutil
import sys
from urllib.parse import urlsplit

from playwright.sync_api import sync_playwright

TIMEOUT_MS = 30_000
QUERY = "query Typename { __typename }"
SUBSCRIPTION = "subscription Feed { feedPostPublished { title } }"
EDITOR = ".graphiql-query-editor .CodeMirror"
RESULT = ".graphiql-response .CodeMirror"


def say(*parts):
    print(*parts, flush=True)


def editor_value(page, selector):
    return page.evaluate(
        "(s) => { const e = document.querySelector(s);"
        " return e && e.CodeMirror ? e.CodeMirror.getValue() : null; }",
        selector,
    )


def enter(page, text, kind):
    """Puts `text` in the query editor and waits until GraphiQL has parsed it
    (it keeps the parsed operations on the editor, after a debounce): only
    then does its run button know a subscription from a query."""
    page.evaluate("([s, q]) => document.querySelector(s).CodeMirror.setValue(q)", [EDITOR, text])
    page.wait_for_function(
        "([s, q, kind]) => { const cm = document.querySelector(s).CodeMirror;"
        " return cm.getValue() === q && !!cm.operations"
        " && cm.operations.length === 1 && cm.operations[0].operation === kind; }",
        arg=[EDITOR, text, kind],
        timeout=TIMEOUT_MS,
    )


def wait_for_result(page, expect):
    """Waits until the result pane shows `expect` and returns its text."""
    page.wait_for_function(
        "([s, want]) => { const e = document.querySelector(s);"
        " return !!e && e.CodeMirror.getValue().includes(want); }",
        arg=[RESULT, expect],
        timeout=TIMEOUT_MS,
    )
    return editor_value(page, RESULT)


def main():
    url = sys.argv[1]
    server = urlsplit(url)
    chromium = os.environ.get("CHROMIUM") or shutil.which("chromium")
    if not chromium:
        sys.exit("chromium is missing: run .ci/install-tools browser")
    blocked, errors = [], []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, headless=True)
        page = browser.new_page()

        def route(route):
            target = urlsplit(route.request.url)
            if (target.scheme, target.netloc) == (server.scheme, server.netloc):
                route.continue_()
            else:
                blocked.append(route.request.url)
                route.abort()

        page.route("**/*", route)
        page.on("console", lambda m: m.type == "error" and errors.append(m.text))
        page.on("pageerror", lambda e: errors.append(str(e)))
        try:
            page.goto(url, wait_until="load", timeout=TIMEOUT_MS)
            page.wait_for_selector(EDITOR, timeout=TIMEOUT_MS)
            enter(page, QUERY, "query")
            page.click(".graphiql-execute-button")
            result = wait_for_result(page, "__typename")
            say("query-result", json.dumps(json.loads(result)))
            enter(page, SUBSCRIPTION, "subscription")
            page.click(".graphiql-execute-button")
            say("subscribed")
            result = wait_for_result(page, "feedPostPublished")
            say("subscription-result", json.dumps(json.loads(result)))
        finally:
            say("blocked", json.dumps(blocked))
            say("errors", json.dumps(errors))
            browser.close()


if __name__ == "__main__":
    main()
