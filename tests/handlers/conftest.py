"""Fixtures: the delivery rig."""

from tests.harness.delivery_rig import delivery

__all__ = ["delivery"]
