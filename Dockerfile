# Multi-stage build: a static CGO_ENABLED=0 binary on a minimal, non-root image.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/hotline ./cmd/hotline \
 && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
WORKDIR /app
COPY --from=build /out/hotline /app/hotline
COPY --from=build /src/configs/hotline.yaml /app/configs/hotline.yaml
COPY --from=build --chown=nonroot:nonroot /out/data /app/data
# Listen on all interfaces inside the container; the host decides exposure.
ENV HOTLINE_HTTP_ADDR=0.0.0.0:8080
EXPOSE 8080
USER nonroot:nonroot
VOLUME ["/app/data"]
ENTRYPOINT ["/app/hotline"]
CMD ["serve"]
