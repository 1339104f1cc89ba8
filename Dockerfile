# syntax=docker/dockerfile:1
# newsmon in one slim image: the scheduler (`newsmon run`) and crawl workers (`newsmon worker`),
# with the PostgreSQL driver and the Redis queue (the postgres and distributed extras).
#
#   docker build -t newsmon:0.1.0 .
#   docker run --rm newsmon:0.1.0 newsmon --help
#
# Settings: the packaged config/settings.yaml and config/sources.yaml are copied to
# /etc/newsmon; mount your own folder there to replace them. Secrets come from the
# environment only: NEWSMON_DATABASE_URL, NEWSMON_REDIS_URL, NEWSMON_SMTP_PASSWORD.

# Build stage: the virtualenv (every dependency pinned in pyproject.toml; all ship wheels, so
# neither stage needs a compiler).
FROM python:3.11.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/newsmon
WORKDIR /src
COPY pyproject.toml README.md ./
COPY config ./config
COPY crawler ./crawler
COPY digest ./digest
COPY newsmon ./newsmon
COPY scheduler ./scheduler
COPY storage ./storage
COPY web ./web
RUN /opt/newsmon/bin/pip install ".[postgres,distributed,web]"

# Run stage: the virtualenv and the settings, a non-root user, nothing else.
FROM python:3.11.11-slim-bookworm
ENV PATH=/opt/newsmon/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    NEWSMON_CONFIG=/etc/newsmon/settings.yaml
RUN groupadd --system --gid 10001 newsmon \
    && useradd --system --uid 10001 --gid newsmon --home-dir /var/lib/newsmon \
       --create-home --shell /usr/sbin/nologin newsmon
COPY --from=build /opt/newsmon /opt/newsmon
COPY config/settings.yaml config/sources.yaml /etc/newsmon/
WORKDIR /var/lib/newsmon
USER newsmon:newsmon
VOLUME ["/var/lib/newsmon"]
# The service by default; the compose file runs `newsmon worker` from the same image.
CMD ["newsmon", "run", "--config", "/etc/newsmon/settings.yaml"]
