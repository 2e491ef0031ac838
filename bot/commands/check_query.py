"""`chanwatch check-query QUERY [--json]`: validate a query and show how it was understood."""

from __future__ import annotations

import argparse
import json
import sys

from bot.commands._common import add_query_argument


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `check-query` command."""
    p = subparsers.add_parser(
        "check-query",
        help="validate a query and show how it is understood",
        description=(
            "Parse QUERY and print how it is understood (words with their lemmas, phrases, "
            "names with their spelling key, channels, regexes, and the AND/OR/NOT structure). "
            "Exit 2 with the problem and its column when the query is invalid."
        ),
    )
    add_query_argument(p)
    p.add_argument(
        "--json",
        action="store_true",
        help='print one JSON object: {"valid", "query", "description"} or {"valid": false, '
        '"error", "reason", "column"}',
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Print the description; invalid queries raise QueryError (exit 2)."""
    from bot.query import QueryError, compile_query

    if not getattr(args, "json", False):
        print(compile_query(args.query).describe())
        return 0
    try:
        compiled = compile_query(args.query)
    except QueryError as exc:
        payload = {
            "valid": False,
            "query": args.query,
            "error": str(exc),
            "reason": exc.reason,
            "column": exc.column,
        }
        print(json.dumps(payload, ensure_ascii=False))
        print(str(exc), file=sys.stderr)
        return exc.exit_code
    payload2 = {"valid": True, "query": args.query, "description": compiled.describe()}
    print(json.dumps(payload2, ensure_ascii=False))
    return 0
