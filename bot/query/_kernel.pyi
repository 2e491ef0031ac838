"""Type stub of the C kernel (``bot/query/_kernel.c``)."""

class Kernel:
    """Marks for one index's candidate gathering (not thread-safe)."""

    def candidates(
        self, firsts: list[bytes], seconds: list[bytes], exclusions: list[bytes], size: int, /
    ) -> list[int]: ...
    def _set_epoch(self, value: int, /) -> None: ...
