"""`python -m bot` is the same program as the `chanwatch` console script."""

from bot.cli import entry_point

if __name__ == "__main__":
    entry_point()
