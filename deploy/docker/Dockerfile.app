# Parley's own processes: the action server, the chat gateways, the worker and the one-shot
# migration. One Dockerfile with a target per role, so all roles share the (large: torch,
# faster-whisper) install layers and differ only in command, port and health check:
#
#   docker build -f deploy/docker/Dockerfile.app --target actions -t parley-actions .
#   docker build -f deploy/docker/Dockerfile.app --target gateway -t parley-gateway .
#   docker build -f deploy/docker/Dockerfile.app --target worker  -t parley-worker  .
#
# The build context is the repository root. Nothing secret is baked in: the master key,
# database passwords and channel tokens come from the environment at run time
# (deploy/README.md).
ARG PYTHON_IMAGE=python:3.11-slim

FROM ${PYTHON_IMAGE} AS app
# torch is pinned in pyproject.toml; from PyPI that version is the multi-GB CUDA build, so it
# comes from PyTorch's CPU index (override for a mirror: --build-arg TORCH_INDEX_URL=…).
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    RASA_TELEMETRY_ENABLED=false \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    PARLEY_PROFILE=prod \
    PARLEY_ROOT=/app \
    PARLEY_VAR_DIR=/var/lib/parley \
    PARLEY_MODELS_DIR=/app/models \
    PARLEY_JOBS_DIR=/app/jobs

RUN groupadd --system --gid 10001 parley \
 && useradd --system --uid 10001 --gid parley --home-dir /app --no-create-home \
      --shell /usr/sbin/nologin parley \
 && mkdir -p /var/lib/parley && chown parley:parley /var/lib/parley
WORKDIR /app

# 1. Dependencies only, read from pyproject.toml: this layer is rebuilt when the dependency
#    list changes, not on every code change.
COPY pyproject.toml README.md ./
RUN python -c "import tomllib; deps = tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']; open('/tmp/requirements.txt', 'w').write('\n'.join(deps) + '\n'); open('/tmp/torch.txt', 'w').write(next(d for d in deps if d.split('=')[0].strip() == 'torch') + '\n')" \
 && pip install --index-url "${TORCH_INDEX_URL}" -r /tmp/torch.txt \
 && pip install -r /tmp/requirements.txt \
 && rm /tmp/requirements.txt /tmp/torch.txt

# 2. Parley itself. Installed in editable mode on purpose: the packages read data files next
#    to their modules (nlu/scoring/calibration.json) that a wheel build would leave out, and
#    this is exactly how `make setup` installs it.
COPY parley ./parley
COPY bot ./bot
COPY actions ./actions
COPY nlu ./nlu
COPY scheduling ./scheduling
COPY privacy ./privacy
COPY storage ./storage
COPY screening ./screening
COPY employers ./employers
COPY jobs ./jobs
COPY deploy/docker/healthcheck.py /usr/local/bin/parley-healthcheck
RUN pip install --no-deps -e . \
 && python -c "from pathlib import Path; from nlu.speech.model import model_dir; model_dir(Path('/app/models'))" \
 && chmod 0755 /usr/local/bin/parley-healthcheck

USER 10001:10001
# Encrypted file store (recordings, export archives), the development mailbox, logs. Shared by
# the action servers, the gateways and the worker: mount one volume here in every container.
VOLUME ["/var/lib/parley"]

# ---- action server: `parley serve-actions` (rasa-sdk's app; one process per container) ----
FROM app AS actions
ENV PARLEY_ACTIONS_HOST=0.0.0.0 PARLEY_ACTIONS_PORT=5055
EXPOSE 5055
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
  CMD ["parley-healthcheck", "actions"]
CMD ["parley", "serve-actions"]

# ---- chat gateways: the web chat by default; `parley serve-telegram`, `serve-slack` or
# `serve-voice` as the command for the others (each needs its own credentials) ----
FROM app AS gateway
ENV PARLEY_WEB_HOST=0.0.0.0 PARLEY_WEB_PORT=8080 \
    PARLEY_TELEGRAM_HOST=0.0.0.0 PARLEY_SLACK_HOST=0.0.0.0 PARLEY_VOICE_HOST=0.0.0.0
EXPOSE 8080 8081 8082 8083
# Checks the /healthz of whichever gateway the container runs (see healthcheck.py).
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["parley-healthcheck", "gateway"]
CMD ["parley", "serve-web"]

# ---- worker: the purge job and the scheduling pass; also the one-shot migration
# (`parley jobs load jobs`: brings the database schema up to date and imports the job files) ----
FROM app AS worker
# The worker has no HTTP endpoint; the health check proves its database is reachable.
HEALTHCHECK --interval=60s --timeout=10s --start-period=30s --retries=3 \
  CMD ["parley-healthcheck", "worker"]
CMD ["parley", "worker"]
