"""Engines the experiment runs on, seen by the rest of the lab only as endpoints."""
