# Builds the crm-api binary and runs it against the DATABASE_URL given at run time.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY vendor ./vendor
COPY src ./src
COPY migrations ./migrations
COPY sql ./sql
# Checked queries compile from the committed query data; no database at build time.
COPY .sqlx ./.sqlx
ENV SQLX_OFFLINE=true
RUN cargo build --release --locked

FROM debian:bookworm-slim
RUN useradd --system --uid 10001 crm
COPY --from=build /src/target/release/crm-api /usr/local/bin/crm-api
USER crm
ENV CRM_BIND=0.0.0.0:8080
EXPOSE 8080
ENTRYPOINT ["crm-api"]
CMD ["serve"]
