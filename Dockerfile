# syntax=docker/dockerfile:1
# ioc-monitor image: one image, several roles chosen by the `ioc` sub-command
# (`worker`, `exporter`, `simulate`, ...). Build from the repository root:
#
#   pip freeze --exclude-editable > constraints.txt   # pinned versions, repo root
#   docker build -t ioc-monitor:local .
#   docker run --rm ioc-monitor:local --help
#
# constraints.txt pins every transitive dependency so image builds are reproducible.

ARG PYTHON_IMAGE=python:3.11-slim

# --- build stage: install the project into an isolated virtualenv -------------------------
FROM ${PYTHON_IMAGE} AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1

RUN python -m venv /opt/venv
ENV PATH="/opt/venv/bin:${PATH}"

WORKDIR /src
COPY pyproject.toml constraints.txt ./
COPY ioc_monitor/ ioc_monitor/
COPY streams/ streams/
COPY services/ services/
RUN pip install -c constraints.txt . \
    && ioc --help >/dev/null

# --- runtime stage -----------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime

LABEL org.opencontainers.image.title="ioc-monitor" \
      org.opencontainers.image.description="Event-driven operations monitor for one-stop public-service centres (IOC)"

ENV PATH="/opt/venv/bin:${PATH}" \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1

# Unprivileged user; its home is the working directory (faust keeps its table data here).
RUN groupadd --system --gid 10001 ioc \
    && useradd --system --uid 10001 --gid ioc --home-dir /var/lib/ioc --create-home \
       --shell /usr/sbin/nologin ioc

COPY --from=build /opt/venv /opt/venv

USER ioc:ioc
WORKDIR /var/lib/ioc

# The exporter listens here (IOC_EXPORTER_PORT, default 9464).
EXPOSE 9464

ENTRYPOINT ["ioc"]
CMD ["--help"]
