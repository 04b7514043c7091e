"""Checks of this family: being written."""

CHECKS: list = []
