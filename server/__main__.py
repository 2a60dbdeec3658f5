"""`python -m server`: prepare the model if needed, then serve it."""

from __future__ import annotations

import logging
import os
import signal
import sys
from pathlib import Path

import uvicorn

from server import embedded_model
from server.settings import Settings, load_settings


def resolve_model(settings: Settings) -> tuple[str, str]:
    """The folder or hub id vLLM loads, and the id clients ask for."""
    if settings.model is None:
        folder = embedded_model.prepare(settings.cache_dir)
        return str(folder), settings.served_model_name or embedded_model.MODEL_NAME
    return settings.model, settings.served_model_name or settings.model


def main(argv: list[str] | None = None) -> None:
    settings = load_settings(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    model, served_name = resolve_model(settings)
    if Path(model).is_dir():
        os.environ.setdefault("HF_HUB_OFFLINE", "1")

    from server.app import create_app
    from server.engine import Engine
    from server.engine_config import engine_args

    args = engine_args(settings, model, served_name)
    app = create_app(
        settings,
        lambda: Engine.start(args),
        on_engine_failure=lambda: signal.raise_signal(signal.SIGTERM),
    )
    uvicorn.run(app, host=settings.host, port=settings.port, log_level=settings.log_level)
    if app.state.startup_failed:
        sys.exit(1)


if __name__ == "__main__":
    main()
