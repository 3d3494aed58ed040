"""What the experiment is: its platforms, its image, its Dockerfile, and the builder image it would pull.

The one source for these constants: labkit, the benchmarks and the tests all read them from here.
"""

from __future__ import annotations

# The two platforms the experiment builds for, in the order the index lists them.
PLATFORMS: tuple[str, ...] = ("linux/amd64", "linux/arm64")

# Where step 3 pushes: REGISTRY/REPOSITORY:TAG. Step 2 names its (refused) image LOCAL_TAG, as the article does.
REPOSITORY = "demo"
TAG = "multi"
LOCAL_TAG = f"{REPOSITORY}:{TAG}"

# Step 1's Dockerfile, byte for byte.
DOCKERFILE = 'FROM busybox\nCMD ["echo", "Hello from multi-arch image"]\n'
GREETING = "Hello from multi-arch image"

# What `FROM busybox` resolves to.
BASE_REPOSITORY = "library/busybox"
BASE_TAG = "latest"

# Step 2's error on the default builder (docker driver, classic image store), as buildx prints it.
STEP2_ERROR = "Multi-platform build is not supported for the docker driver"

# The builder the article creates in step 3 (`docker buildx create --name multiarch --use`), and the image its
# docker-container driver runs, pulled from Docker Hub at its first start.
BUILDER_NAME = "multiarch"
BUILDKIT_IMAGE = "moby/buildkit:buildx-stable-1"
