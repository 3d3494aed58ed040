"""The experiment's four steps, each a function returning a plain result object.

Steps take endpoints and a working folder; they never care how the engine was provisioned.
"""
