"""Ladder (sequence) diagrams of captures: the records and their building
(:mod:`.model`, with :mod:`.stations` and :mod:`.labels`), errata and
failures marked on them (:mod:`.marks`), their text rendering for a
terminal (:mod:`.text`) and SVG for the report (:mod:`.svg`), and a
check's captures read back from a verify output directory (:mod:`.load`)."""

from .marks import draw_failure, draw_failure_text, frames_of, mark_errata
from .model import Arrow, Ladder, Lifeline, build
from .svg import render_svg

__all__ = ["Arrow", "Ladder", "Lifeline", "build", "draw_failure", "draw_failure_text",
           "frames_of", "mark_errata", "render_svg"]
