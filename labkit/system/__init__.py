"""The operating system: processes and pid files, mounts, ports, and what runs where."""
