"""The query language and matching engine: pure (no I/O besides loading dictionaries).

One normaliser (``normalize``) serves alerts, the ``match`` and ``search`` commands,
digests and archive search; ``parse_query`` turns a query into an AST, ``compile_query``
makes it ready to evaluate, ``SubscriptionIndex`` matches all subscriptions at once and
``fts_expression`` narrows archive search. Heavy dictionaries load on first use.
"""

from bot.query.compiled import CompiledQuery, Hit, compile_query
from bot.query.document import Document, channel_keys
from bot.query.errors import QueryError
from bot.query.fts import FTS_NO_MATCH, fts_expression
from bot.query.index import SubscriptionIndex
from bot.query.nodes import Query
from bot.query.normalize import NORMALIZER_VERSION, Analysis, Normalizer, Token, get_normalizer
from bot.query.parser import parse_query

__all__ = [
    "FTS_NO_MATCH",
    "NORMALIZER_VERSION",
    "Analysis",
    "CompiledQuery",
    "Document",
    "Hit",
    "Normalizer",
    "Query",
    "QueryError",
    "SubscriptionIndex",
    "Token",
    "channel_keys",
    "compile_query",
    "fts_expression",
    "get_normalizer",
    "parse_query",
]
