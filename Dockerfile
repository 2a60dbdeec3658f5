# GPU image: the official vLLM CUDA image plus this server. Build and run with
# `docker compose up` (docker-compose.yml); the engine profile (config/*.yaml) comes from SAMPLING_SERVER_CONFIG.
ARG VLLM_VERSION=0.32.0
FROM vllm/vllm-openai:v${VLLM_VERSION}

ENV PYTHONUNBUFFERED=1 \
    HF_HOME=/cache/huggingface \
    SAMPLING_SERVER_HOST=0.0.0.0 \
    SAMPLING_SERVER_PORT=8000 \
    SAMPLING_SERVER_CONFIG=config/phi35-awq-6gb.yaml \
    SAMPLING_SERVER_CACHE_DIR=/cache/sampling-server

WORKDIR /app
COPY pyproject.toml README.md ./
COPY server ./server
COPY config ./config
# The project's own dependencies (pyproject.toml, as in the CPU image), installed with uv as
# vLLM's image installs its own, into the image's system Python. Every distribution already
# there is pinned to its version: a dependency that would move vLLM, torch or anything else
# fails the build instead (tests/unit/test_deploy.py runs this step on a scratch environment).
# --break-system-packages: that Python may carry Debian's EXTERNALLY-MANAGED marker; the pins
# keep Debian's own packages unchanged all the same.
RUN uv pip list --system --format freeze > /tmp/base-image.txt \
    && uv pip install --system --break-system-packages --no-cache \
        --constraint /tmp/base-image.txt --editable . \
    && rm /tmp/base-image.txt

# vLLM's images from v0.28 on are built on Ubuntu 24.04, whose base image already has the
# user `ubuntu` with UID 1000 (older ones, on 22.04, have none): free UID 1000 if it is
# taken, then run as `app` with it; /cache (the HF cache volume) belongs to that user.
RUN old="$(getent passwd 1000 || true)" \
    && if [ -n "$old" ]; then userdel "${old%%:*}"; fi \
    && useradd --create-home --uid 1000 --user-group app \
    && mkdir -p /cache \
    && chown app:app /cache
USER 1000
VOLUME ["/cache"]
EXPOSE 8000

HEALTHCHECK --interval=30s --timeout=5s --start-period=600s --retries=3 \
    CMD ["python3", "-c", "import urllib.request as u; u.urlopen('http://127.0.0.1:8000/health', timeout=4)"]

ENTRYPOINT ["python3", "-m", "server"]
