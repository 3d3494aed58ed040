"""What the tests and the benchmarks share, one module for each thing it makes:

runs.py            `labkit` runs, the experiment's steps, a build in the background, the events a fault waits for,
                   the one polling helper (`wait_for`)
learners.py        users of this machine who run the rootless sandbox as themselves
classes.py         a class for the tests: `labkit class up`, logins through the hub, each learner's commands
bridged_engine.py  a third dockerd with a bridge network, in a network namespace of its own (host mode's engine)
signals.py         children that start with the signals' default actions, and background jobs as a shell runs them
emulation.py       binfmt_misc as a documented order of setting up finds it, put back afterwards
untouched.py       snapshots of the user's Docker folders, which the lab must leave as it found them
browser.py         JupyterLab in headless chromium, cells run as a learner runs them
captured.py        engine facts and index reports read from the captured real outputs under tests/data
"""
