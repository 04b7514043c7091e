"""Checks derived from the topology model: they apply to any topology whose
model gives them something to prove, never to a lab by its name."""
