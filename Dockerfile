# Both services, one image each: `docker compose build` (or
#   docker build --target auth-service -t auth-service .
#   docker build --target profile-service -t profile-service .)
#
# Every FROM comes from a build argument whose default is the upstream image
# users pull; the CI proof (scripts/compose-proof) passes locally built
# stand-ins instead, because its machines cannot pull images.
ARG RUST_IMAGE=rust:1.95-bookworm
ARG RUNTIME_IMAGE=gcr.io/distroless/cc-debian12:nonroot

# The workspace reduced to what decides the dependencies: every manifest,
# the lock file, and an empty stand-in for each crate root. It changes only
# when a manifest does, so the layer built from it below stays cached while
# the code changes (what cargo-chef does, without installing it).
FROM ${RUST_IMAGE} AS plan
WORKDIR /src
COPY . .
RUN mkdir -p /plan && cp Cargo.toml Cargo.lock /plan/ \
    && find . -mindepth 2 -name Cargo.toml -not -path './target/*' | while read -r manifest; do \
         dir=$(dirname "$manifest"); \
         mkdir -p "/plan/$dir/src" && cp "$manifest" "/plan/$dir/"; \
         if [ -f "$dir/src/lib.rs" ]; then : > "/plan/$dir/src/lib.rs"; fi; \
         for root in "$dir/src/main.rs" "$dir"/src/bin/*.rs "$dir"/src/bin/*/main.rs "$dir/build.rs"; do \
           if [ -f "$root" ]; then mkdir -p "/plan/$(dirname "$root")"; echo 'fn main() {}' > "/plan/$root"; fi; \
         done; \
       done

# The dependencies alone: compiled once, and again only when a manifest or
# Cargo.lock changes (the first build compiles everything, minutes).
FROM ${RUST_IMAGE} AS dependencies
WORKDIR /src
COPY --from=plan /plan/ ./
RUN cargo build --release --locked -p auth-service -p profile-service

FROM dependencies AS build
COPY . .
# The release build of the real code (the crate roots touched so cargo sees
# they are newer than the stand-ins), then the shared libraries the binaries
# need beyond what a glibc runtime image has (libpq and its dependencies),
# found with ldd.
RUN find . -name '*.rs' -not -path './target/*' -exec touch {} + \
    && cargo build --release --locked -p auth-service -p profile-service \
    && mkdir -p /out/bin /out/lib \
    && cp target/release/auth-service target/release/profile-service /out/bin/ \
    && for bin in /out/bin/*; do ldd "$bin"; done \
       | awk '$2 == "=>" && $3 ~ /^\// { print $3 }' | sort -u \
       | grep -Ev '/(libc|libm|libdl|libpthread|librt|libgcc_s)\.so' \
       | xargs -r cp -L -t /out/lib/

FROM ${RUNTIME_IMAGE} AS runtime
COPY --from=build /out/lib/ /usr/local/lib/auth-stack/
ENV LD_LIBRARY_PATH=/usr/local/lib/auth-stack \
    LOG_FORMAT=json
# Not root, and no shell: health checks use the binaries' own `healthcheck`.
USER 65532:65532
# The services drain in-flight requests on SIGTERM (up to 30 s).
STOPSIGNAL SIGTERM

FROM runtime AS profile-service
COPY --from=build /out/bin/profile-service /usr/local/bin/profile-service
EXPOSE 8002
HEALTHCHECK --interval=5s --timeout=4s --retries=12 CMD ["profile-service", "healthcheck"]
ENTRYPOINT ["profile-service"]

FROM runtime AS auth-service
COPY --from=build /out/bin/auth-service /usr/local/bin/auth-service
EXPOSE 8001
HEALTHCHECK --interval=5s --timeout=4s --retries=12 CMD ["auth-service", "healthcheck"]
ENTRYPOINT ["auth-service"]
