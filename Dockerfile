# syntax=docker/dockerfile:1
# Build stage: a virtualenv with the bot installed and the translations compiled.
FROM python:3.11-slim AS build
WORKDIR /app
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY locales ./locales
COPY data ./data
RUN pip install . \
 && pybabel compile -D bot -d locales --statistics \
 && voterbot check

# Runtime stage: slim, non-root, the database in a volume.
FROM python:3.11-slim
RUN useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin voterbot \
 && mkdir -p /app/var && chown voterbot /app/var
WORKDIR /app
COPY --from=build /opt/venv /opt/venv
COPY --from=build /app/locales ./locales
COPY --from=build /app/data ./data
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    DATABASE_URL=sqlite:////app/var/voterbot.sqlite3 \
    CONTENT_DIR=/app/data
USER voterbot
VOLUME ["/app/var"]
# Healthy while the database answers with the current schema (its Alembic revision, read-only;
# not `select 1`: a damaged or foreign file turns it red). Webhook replicas are also checked on /readyz.
HEALTHCHECK --interval=30s --timeout=10s --start-period=20s --retries=3 \
  CMD ["voterbot", "health"]
CMD ["voterbot", "run"]
