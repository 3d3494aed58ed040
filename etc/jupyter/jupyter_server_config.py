"""The lab's own settings for the JupyterLab server that `make lab` and the browser test start.

They are read through JUPYTER_CONFIG_PATH, which the Makefile and the browser test point at this folder, and never
copied into the learner's ~/.jupyter. The server's own files (workspaces, settings changed in the UI, dismissed
notifications) go to JUPYTER_CONFIG_DIR, which the same two point at build/jupyter/ in the repository.
"""

import zmq

c = get_config()  # noqa: F821 (traitlets defines it for a config file)

# No news feed and no update check: the lab works offline and shows no announcements. The question "Would you like
# to get notified about official Jupyter news?" is turned off in labconfig/default_setting_overrides.json.
c.LabApp.news_url = None
c.LabApp.check_for_updates_class = "jupyterlab.NeverCheckForUpdate"

# Kernels talk to the server over TCP encrypted with CurveZMQ keys the server provisions; otherwise every kernel
# start logs "Kernel is running over TCP without encryption". (pyzmq's wheels all carry CurveZMQ.)
if zmq.has("curve"):
    c.KernelManager.transport_encryption = "auto"
