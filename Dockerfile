# syntax=docker/dockerfile:1
# Build: docker build -t ecs-image-cleanup .
# The builder's Go version must equal go.mod's go line; cmd/ecs-image-cleanup/dockerfile_test.go
# checks that, and runs this file's build command exactly as written.
FROM golang:1.27.3-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/ecs-image-cleanup ./cmd/ecs-image-cleanup

# A static binary on distroless: no shell, no package manager, a non-root user.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/ecs-image-cleanup /ecs-image-cleanup
USER nonroot:nonroot
ENTRYPOINT ["/ecs-image-cleanup"]
