# One image with both service binaries; docker-compose.yml picks the command.
# Build: docker build -t auth-stack .
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p auth-service -p profile-service

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpq5 ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --no-create-home app
COPY --from=build /src/target/release/auth-service /src/target/release/profile-service /usr/local/bin/
USER app
ENV LOG_FORMAT=json
EXPOSE 8001 8002
CMD ["auth-service"]
