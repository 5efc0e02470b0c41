# kassa in a container: a static binary on an empty base image, running as a
# user that is not root, with its data in the volume /data. How to build and
# run it, with SQLite or PostgreSQL: docs/docker.md.
#
#   docker build -t kassa --build-arg VERSION=v1.2.3 .
#   docker run -p 127.0.0.1:8080:8080 -v kassa-data:/data kassa
#
# cmd/kassa/docker_test.go keeps this file honest: the builder's Go is
# go.mod's, the last stage is not root, and the flags and KASSA_* variables
# below are ones kassa serve accepts.

# Go as go.mod asks (the newest 1.26.x).
FROM golang:1.26 AS build
WORKDIR /src
# Modules first, so that a change to the sources alone does not download
# them again.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
# kassa is pure Go (its SQLite driver too): without cgo the binary needs no
# libc and runs on an empty image. The context has no .git, so no VCS stamp:
# VERSION names the build instead.
RUN CGO_ENABLED=0 go build -trimpath -buildvcs=false \
        -ldflags "-s -w -X main.version=${VERSION}" -o /out/kassa ./cmd/kassa && \
    /out/kassa version
# scratch has no mkdir: the image's directories are made here. /data belongs
# to the user kassa runs as (a named volume takes its owner from the image;
# kassa makes its files there 0600); SQLite keeps large temporary files in
# /tmp.
RUN mkdir -p /out/data /out/tmp && chmod 1777 /out/tmp

FROM scratch
# CA certificates for kassa's HTTPS calls to the gateways.
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/tmp /tmp
COPY --from=build --chown=65532:65532 /out/data /data
COPY --from=build /out/kassa /kassa
# 65532 is "nonroot" in distroless images; scratch has no /etc/passwd, so
# the user is given by number.
USER 65532:65532
# The data directory as an environment variable rather than a flag of CMD,
# so that every command finds it: docker run … kassa account create --name Shop.
# Without --master-key-file or KASSA_MASTER_KEY, kassa generates a
# development master key in /data (and says so loudly): supply your own.
ENV KASSA_DATA_DIR=/data
VOLUME /data
EXPOSE 8080
# No HEALTHCHECK: scratch has no shell or curl to run one, and kassa has no
# health-checking command. Probe GET /healthz (process up) and GET /readyz
# (database reachable) from outside, as an orchestrator does.
ENTRYPOINT ["/kassa"]
CMD ["serve", "--addr", ":8080"]
