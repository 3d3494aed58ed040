"""Practice: the lab's questions to the learner, and how each answer is checked.

model.py      what a question, a verdict and a feedback are
bank.py       the questions, each with its proof in the notebooks, its hint and (for instructors) its key
answers.py    choice and value answers: normalised and compared
commands.py   command answers: validated as a docker build / buildx command, run on the lab's engine, what it pushed inspected
dockerfiles.py  Dockerfile answers: built for two platforms on the lab's engine, each variant run
pushed.py     what a tag holds in the lab's registry: one image or an index, and each image's platform and digest
tries.py      one learner's tries: the feedback for each answer, a hint from the first wrong try on
challenge.py  the challenge: a multi-platform image assembled from single-platform variants, checked in the registry
quiz.py       the terminal quiz: one question at a time, --json, --answer, --key
"""
