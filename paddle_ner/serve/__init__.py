"""Serving a trained model: ``python -m paddle_ner.serve RUN_DIR_OR_EXPORT_DIR``.

* ``cli.py``      the command line: load the model, bind, run uvicorn, stop gracefully
* ``service.py``  which directory and engine to serve, and ``GET /v1/model``'s description
* ``batcher.py``  dynamic batching: concurrent requests share a model call, off the event loop
* ``app.py``      the FastAPI app: ``POST /v1/ner``, ``GET /v1/model``, ``GET /healthz``, the page
* ``render.py``   the entity view as static HTML (``predict --format html``)
* ``static/``     the page: plain HTML, CSS and JS, no external assets

Importing this package is cheap (no FastAPI, no Paddle); ``build_parser`` and ``main`` are the CLI's.
"""
from paddle_ner.serve.cli import build_parser, main

__all__ = ["build_parser", "main"]
