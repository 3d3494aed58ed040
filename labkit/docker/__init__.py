"""Running the docker CLI against endpoints: commands, builders, and what an engine is."""
