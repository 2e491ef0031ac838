"""Opening the archive for the commands that only read it (`search`, `export`)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from bot.commands._common import settings_from
from bot.errors import ConfigError

if TYPE_CHECKING:
    from storage.db import Database


async def open_archive(args: argparse.Namespace) -> Database:
    """The archive at `storage.path` of the command's settings, open, with logging at
    warnings only (the command's output is its answer). A path with no archive is a config
    error: opening would create an empty one, and every search of it would answer "no
    match". Says on stderr when posts wait for `chanwatch reindex` (search can miss them
    until then)."""
    from bot.logging_setup import warnings_only
    from storage.db import Database

    settings = settings_from(args)
    warnings_only(debug=bool(getattr(args, "debug", False)))
    path = settings.storage.path
    if not await asyncio.to_thread(Path(path).is_file):
        raise ConfigError(
            f"storage.path: no archive at {path} (run chanwatch run or chanwatch import first)"
        )
    db = Database(path, busy_timeout_ms=settings.storage.busy_timeout_ms)
    await db.open()
    from bot.search_index import stale_index_warning, stale_post_count

    stale = await stale_post_count(db)
    if stale:
        print(f"warning: {stale_index_warning(stale)}", file=sys.stderr)
    return db
