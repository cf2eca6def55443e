# Tandem's image, for those who build with Docker: `docker build --build-arg VERSION=v1.2.3
# --build-arg REVISION=$(git rev-parse HEAD) -t ghcr.io/tandem-io/tandem:v1.2.3 .`
# `make image` builds the same image without Docker (bin/tandem-image.tar, reproducible);
# hack/image/main_test.go checks that the final stage and hack/image agree on the binary's
# path, the user, the entrypoint, PATH and the labels.

# The build runs on the builder's own platform and cross-compiles, so multi-platform
# builds (buildx --platform) need no emulation.
# The builder is pinned by the digest of its multi-platform index, so that the same
# commit builds with the same toolchain and base however the tag moves; its Go is the
# go line of go.mod (hack/image/main_test.go checks both). To move to a newer Go or a
# rebuilt image, read the index digest with
#   docker buildx imagetools inspect golang:1.26.8-bookworm
# and replace tag and digest together.
FROM --platform=$BUILDPLATFORM golang:1.26.8-bookworm@sha256:dc9ad6c05acc7a88e5b71bde60a5fe3bd4b9f0db209011711b464107438a8107 AS build
ARG TARGETOS=linux
ARG TARGETARCH
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH go build -trimpath -buildvcs=false \
      -ldflags "-s -w -X github.com/tandem-io/tandem/internal/version.Version=${VERSION}" \
      -o /out/tandem ./cmd/tandem

FROM scratch
ARG VERSION=dev
ARG REVISION=unknown
COPY --from=build /out/tandem /usr/local/bin/tandem
ENV PATH=/usr/local/bin
USER 65532:65532
LABEL org.opencontainers.image.title="tandem" \
      org.opencontainers.image.source="https://github.com/tandem-io/tandem" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}"
ENTRYPOINT ["/usr/local/bin/tandem"]
