"""OCI images as bytes: media types, digests and a small registry client."""
