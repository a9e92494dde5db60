# syntax=docker/dockerfile:1
# One image for the three services: `serve` (the edge processor), `push-handler` (Pub/Sub push → BigQuery / the lake)
# and `run` (the pull worker). Stage 1 builds the wheel from this tree; stage 2 installs it on a slim Python.
#
#   docker build -t streamlake .
#   docker run -p 8080:8080 -e PORT=8080 -v "$PWD/receipt.json:/etc/streamlake/receipt.json:ro" streamlake \
#       serve --topic projects/P/topics/receipts --schema /etc/streamlake/receipt.json
#
# On Cloud Run, $PORT is set and the services listen on 0.0.0.0:$PORT (see the README's "Deploying to Cloud Run").
ARG PYTHON=3.12

FROM python:${PYTHON}-slim-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends curl gcc libc6-dev \
    && rm -rf /var/lib/apt/lists/*
RUN curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal --default-toolchain stable
ENV PATH=/root/.cargo/bin:$PATH
RUN pip install --no-cache-dir "maturin>=1.7,<2"
WORKDIR /src
COPY Cargo.toml Cargo.lock pyproject.toml README.md ./
COPY rust rust
COPY python python
RUN maturin build --release --out /wheels

FROM python:${PYTHON}-slim-bookworm
RUN useradd --system --create-home streamlake
COPY --from=build /wheels /tmp/wheels
RUN pip install --no-cache-dir "$(ls /tmp/wheels/streamlake_fast-*.whl)[gcp,http]" && rm -rf /tmp/wheels
USER streamlake
WORKDIR /home/streamlake
ENV PORT=8080 PYTHONUNBUFFERED=1
EXPOSE 8080
ENTRYPOINT ["streamlake"]
CMD ["--help"]
