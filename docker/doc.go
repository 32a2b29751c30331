// Package docker holds no library code: it is the home of the fiberbnn Docker image (Dockerfile, install.sh,
// versions.env, entrypoint.sh, healthcheck.sh, context.sh; see README.md there), and its tests check that
// recipe without a Docker engine:
//
//   - every version the image pins (versions.env, the Dockerfile's base image, the CUDA wheel lists) equals the
//     one the project pins elsewhere (go.mod, kernel/tools/go.mod, kernel/requirements.txt, kernel/pjrt), and
//     every wheel is pinned by version and sha256;
//   - the Dockerfile keeps its promises (base image by tag and digest, tini as PID 1, a non-root user, a
//     health check, a volume for the user's notebooks, only files the staged context holds);
//   - install.sh installs Go only from a tarball whose sha256 and version are the pinned ones;
//   - entrypoint.sh never starts JupyterLab without a token, and picks the GPU backend only when a GPU and the
//     CUDA plugin are both there;
//   - healthcheck.sh reports a server that does not answer;
//   - context.sh stages the checkout, the data and the toolchain as the Dockerfile expects.
package docker
