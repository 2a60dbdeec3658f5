"""`python -m server`: prepare the model if needed, then serve it."""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
from pathlib import Path

import uvicorn

from server.engine import embedded_model
from server.settings import Settings, load_settings


def resolve_model(settings: Settings) -> tuple[str, str]:
    """The folder or hub id vLLM loads, and the id clients ask for."""
    if settings.model is None:
        folder = embedded_model.prepare(settings.cache_dir)
        return str(folder), settings.served_model_name or embedded_model.MODEL_NAME
    return settings.model, settings.served_model_name or settings.model


def main(argv: list[str] | None = None) -> None:
    settings = load_settings(sys.argv[1:] if argv is None else argv)
    configure_logging(settings)
    if settings.model is None or Path(settings.model).is_dir():
        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # read when huggingface_hub is imported
    converting = None
    if settings.model is None:
        converting = embedded_model.convert_in_background(settings.cache_dir)

    from vllm.platforms import current_platform

    from server.engine.config import check_parallelism, engine_args, engine_environment
    from server.engine.device import check_device
    from server.engine.engine import Engine
    from server.http.app import create_app

    check_device(current_platform)
    model, served_name = resolve_model(settings)  # waits for a conversion still running
    if converting is not None:
        converting.wait()
    check_parallelism(settings, current_platform.is_cpu())
    environment = engine_environment(settings)
    if environment:
        logging.getLogger(__name__).info("engine environment: %s", environment)
        os.environ.update(environment)
    args = engine_args(settings, model, served_name)
    app = create_app(
        settings,
        lambda metrics: Engine.start(args, metrics),
        on_engine_failure=lambda: signal.raise_signal(signal.SIGTERM),
    )
    # uvicorn re-raises the signal that stopped it once it has shut down; a stop asked for
    # by SIGTERM or Ctrl-C is a clean exit (0), an engine failure is not (1).
    for stop in (signal.SIGTERM, signal.SIGINT):
        signal.signal(stop, lambda *_: None)
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        access_log=False,  # the server's own access log carries request ids
        timeout_graceful_shutdown=settings.shutdown_timeout,
        log_config=None,
    )
    if app.state.engine_failed:
        sys.exit(1)


class JSONFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self.formatTime(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(getattr(record, "access", {}))  # an access line's fields, flat
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry)


def configure_logging(settings: Settings) -> None:
    handler = logging.StreamHandler()
    if settings.log_format == "json":
        handler.setFormatter(JSONFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=settings.log_level.upper(), handlers=[handler], force=True)


if __name__ == "__main__":
    main()
