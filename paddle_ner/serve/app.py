"""The HTTP API and the page: a FastAPI app around a :class:`~paddle_ner.serve.batcher.Batcher`.

Routes (``/docs`` is FastAPI's OpenAPI page):

* ``POST /v1/ner`` ``{"texts": [...]}`` -> ``{"results": [...]}``, one result per text, each
  exactly the JSON line ``python -m paddle_ner.predict`` prints for it.
* ``GET /v1/model``: model, labels, entity types, engine, the run that trained it, manifest
  checksum, the server's limits and batching settings.
* ``GET /healthz``: ``{"status": "ok"}`` plus batch counters.
* ``GET /``: the page (``static/``).

Errors are JSON ``{"error": {"code", "message"}}`` with a 4xx status for every fault of the
request (see :class:`Limits` and ``parse_texts``); a 500 only for a fault of the model itself.
The body is read and parsed here rather than by FastAPI's validation, so that a body over the
size limit is refused before it is read whole, and each fault gets its own status and message.
"""
from __future__ import annotations

import dataclasses
import json
import logging
from pathlib import Path
from typing import List, Optional

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from paddle_ner.serve.batcher import Batcher

logger = logging.getLogger(__name__)

STATIC = Path(__file__).resolve().parent / "static"


@dataclasses.dataclass(frozen=True)
class Limits:
    """What one ``POST /v1/ner`` may hold; anything larger is refused with a 413."""

    max_texts: int = 256  # texts per request
    max_text_chars: int = 10_000  # characters (code points) per text
    max_body_bytes: int = 1 << 20  # bytes of request body (1 MiB)


class ApiError(Exception):
    """A request the server refuses: HTTP ``status``, a stable ``code`` and a message for people."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def error_response(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


# --- schemas, for the OpenAPI page (requests are checked by parse_texts) -----------------------

class NerRequest(BaseModel):
    texts: List[str] = Field(description="texts to tag, one result each; [] gives []",
                             examples=[["刘晓东表示，南京大学将继续加大投入。"]])


class Entity(BaseModel):
    type: str
    start: int = Field(description="offset of the first character (code points, from 0)")
    end: int = Field(description="offset after the last character: text[start:end] == text")
    text: str


class NerResult(BaseModel):
    text: str
    tags: List[str] = Field(description="one BIO tag per character")
    entities: List[Entity]


class NerResponse(BaseModel):
    results: List[NerResult]


class ErrorBody(BaseModel):
    code: str
    message: str


class ErrorResponse(BaseModel):
    error: ErrorBody


# --- reading a request ------------------------------------------------------------------------

async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused (413) as soon as it is known to exceed ``limit`` bytes: from
    Content-Length before reading anything, or while reading a body sent without one."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise ApiError(400, "bad_request", f"Content-Length {declared!r} is not a number")
        if int(declared) > limit:
            raise ApiError(413, "body_too_large", f"the body has {int(declared)} bytes; the limit is {limit} "
                                                  f"(--max-body-bytes)")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ApiError(413, "body_too_large", f"the body has more than {limit} bytes, the limit "
                                                  f"(--max-body-bytes)")
        chunks.append(chunk)
    return b"".join(chunks)


def _kind(value) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", int: "a number",
            float: "a number", type(None): "null"}.get(type(value), type(value).__name__)


def parse_texts(body: bytes, limits: Limits) -> List[str]:
    """The texts of a ``{"texts": [...]}`` body, or an ApiError saying what is wrong with it:
    400 when it is not UTF-8 JSON, 422 when it does not have that shape, 413 over a limit."""
    try:
        data = json.loads(body.decode("utf-8"))
    except UnicodeDecodeError as err:
        raise ApiError(400, "invalid_json", f"the body is not UTF-8 ({err.reason} at byte {err.start})") from None
    except json.JSONDecodeError as err:
        raise ApiError(400, "invalid_json", f"the body is not valid JSON: {err}") from None
    except RecursionError:
        raise ApiError(400, "invalid_json", "the body is not valid JSON: nested too deeply") from None
    if not isinstance(data, dict):
        raise ApiError(422, "invalid_request", f'the body must be a JSON object {{"texts": [...]}}, got {_kind(data)}')
    if "texts" not in data:
        raise ApiError(422, "invalid_request", 'missing field "texts" (a list of strings)')
    unknown = sorted(set(data) - {"texts"})
    if unknown:
        raise ApiError(422, "invalid_request", f'unknown field {", ".join(map(json.dumps, unknown))}; '
                                               f'the only field is "texts"')
    texts = data["texts"]
    if not isinstance(texts, list):
        raise ApiError(422, "invalid_request", f'"texts" must be a list of strings, got {_kind(texts)}')
    if len(texts) > limits.max_texts:
        raise ApiError(413, "too_many_texts", f"{len(texts)} texts; the limit is {limits.max_texts} per request "
                                              f"(--max-texts)")
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise ApiError(422, "invalid_request", f"texts[{i}] must be a string, got {_kind(text)}")
        if len(text) > limits.max_text_chars:
            raise ApiError(413, "text_too_long", f"texts[{i}] has {len(text)} characters; the limit is "
                                                 f"{limits.max_text_chars} (--max-text-chars)")
        # JSON's \ud800 escapes decode to lone surrogates, which are not characters: no file that
        # `predict` reads can hold one, and no UTF-8 response can carry one back.
        for j, char in enumerate(text):
            if "\ud800" <= char <= "\udfff":
                raise ApiError(422, "invalid_text", f"texts[{i}] holds a lone surrogate (U+{ord(char):04X}) at "
                                                    f"character {j}: not Unicode text")
    return texts


# --- the app ----------------------------------------------------------------------------------

def create_app(batcher: Batcher, description: dict, limits: Optional[Limits] = None) -> FastAPI:
    """The app serving ``batcher``'s model; starts the batcher on startup and drains it on
    shutdown (after the server has finished its requests in flight)."""
    import contextlib

    limits = limits or Limits()
    description = {**description, "limits": dataclasses.asdict(limits),
                   "batching": {"max_batch": batcher.max_batch, "max_wait_ms": batcher.max_wait * 1000,
                                **description.get("batching", {})}}

    @contextlib.asynccontextmanager
    async def lifespan(app):
        await batcher.start()
        yield
        await batcher.close()

    app = FastAPI(title="paddle-ner", version=description["server"]["paddle-ner"], lifespan=lifespan,
                  description=f"Chinese NER: `{description['model']}` served with the {description['engine']} "
                              f"engine. Results are those of `python -m paddle_ner.predict`.")

    @app.exception_handler(ApiError)
    async def api_error(request: Request, err: ApiError):
        return error_response(err.status, err.code, err.message)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, err: StarletteHTTPException):
        code = {404: "not_found", 405: "method_not_allowed"}.get(err.status_code, "http_error")
        response = error_response(err.status_code, code, str(err.detail))
        for name, value in (err.headers or {}).items():
            response.headers[name] = value
        return response

    errors = {status: {"model": ErrorResponse} for status in (400, 413, 422)}

    @app.post("/v1/ner", response_model=NerResponse, responses=errors, summary="Tag texts",
              openapi_extra={"requestBody": {"required": True, "content": {
                  "application/json": {"schema": NerRequest.model_json_schema()}}}})
    async def ner(request: Request):
        """One result per text, in order: ``text``, one BIO tag per character, and entities with
        character offsets (``end`` exclusive), exactly as ``python -m paddle_ner.predict`` prints.
        An empty list gives an empty list."""
        texts = parse_texts(await read_body(request, limits.max_body_bytes), limits)
        try:
            results = await batcher.submit(texts)
        except Exception as err:  # noqa: BLE001 - the model failed (e.g. NonFiniteScores), not the request
            logger.exception("the model failed on a request of %d texts", len(texts))
            raise ApiError(500, "model_error", f"{type(err).__name__}: {err}") from None
        return JSONResponse({"results": results})

    @app.get("/v1/model", summary="The model served")
    async def model():
        return description

    @app.get("/healthz", summary="Liveness")
    async def healthz():
        return {"status": "ok", "queued": batcher.queued, "batches": batcher.batches, "texts": batcher.texts,
                "model_seconds": round(batcher.model_seconds, 3)}

    @app.get("/", include_in_schema=False)
    async def page():
        return FileResponse(STATIC / "index.html", media_type="text/html; charset=utf-8")

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app
