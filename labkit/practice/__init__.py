"""Practice: the lab's questions to the learner, and how each answer is checked.

model.py               what a question, a verdict and a feedback are
bank.py                the questions, each with its proof in the notebooks and its hint (the keys are the instructor's)
seal.py, sealed.json   choice and value answers as the package keeps them: salted digests, sealed feedback
keys.py                the instructor's key (instructor/keys.toml), and how it is sealed
choice_answers.py      choice and value answers: normalised, and checked against their sealed keys
command_answers.py     command answers: validated as a docker build / buildx command, run on the lab's engine,
                       what it pushed inspected
dockerfile_answers.py  Dockerfile answers: read by BuildKit, built for two platforms on the lab's engine, judged by
                       what was built
pushed.py              what a tag holds in the lab's registry: one image or an index, each image's platform, digest
                       and programs
tries.py               one learner's tries: the feedback for each answer, a hint from the first wrong try on
challenge.py           the challenge: a multi-platform image assembled from single-platform variants, checked there
quiz.py                the terminal quiz: one question at a time, --json, --answer, --key
"""
