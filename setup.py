"""Build of the optional C kernel (``bot/query/_kernel.c``); metadata is in pyproject.toml.

The extension is optional: without a C compiler the install goes on and the index uses
its pure-Python kernel (``bot.query.kernel``).
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension("bot.query._kernel", ["bot/query/_kernel.c"], optional=True),
    ]
)
