"""A class on one host: learner accounts, one JupyterHub, a rootless sandbox per learner, a read-only base-image cache.

course.py (where the class keeps things, its roster), accounts.py (the learners' Unix accounts and their lab folders),
guard.py (each learner's registry port closed to the others), cache.py (the class-wide base-image cache), hub.py
(JupyterHub and its proxy), singleuser.py (what runs as the learner when their server starts), manage.py (`labkit class
up|status|down`), helm.py (Zero to JupyterHub chart values for a class on Kubernetes).
"""
