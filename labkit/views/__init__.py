"""Turning results into tables, diagrams and check lines; views never talk to an engine."""
