"""Ladder (sequence) diagrams of captures: the model (:mod:`.model`), its
text rendering for a terminal (:mod:`.text`), and loading a check's
captures from a verify output directory (:mod:`.load`)."""

from .model import Arrow, Ladder, Lifeline, build, draw_failure, draw_failure_text, mark_errata

__all__ = ["Arrow", "Ladder", "Lifeline", "build", "draw_failure", "draw_failure_text",
           "mark_errata"]
