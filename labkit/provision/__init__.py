"""Getting the sandbox's parts onto the machine: packages, prerequisites, base image."""
