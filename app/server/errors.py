"""Every error leaves the server as ``{"error": {"code", "message", ...}}`` (SYNC_PROTOCOL.md).

Bad input is a 4xx with a code, never a 500 with a stack trace; a real bug is logged
here and answered with a bare ``server_error``.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger("command_desk.server")


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, *, headers: dict[str, str] | None = None,
                 **extra: Any):
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers
        self.extra = extra

    def body(self) -> dict[str, Any]:
        extra = dict(self.extra)
        top = extra.pop("_top", {})  # keys placed beside "error" (e.g. partial push results)
        return {"error": {"code": self.code, "message": self.message, **extra}, **top}


def error_response(status: int, code: str, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message, **extra}}, status_code=status)


_HTTP_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
               405: "method_not_allowed", 413: "too_large", 415: "unsupported_media_type"}


def install(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, exc: ApiError):
        return JSONResponse(exc.body(), status_code=exc.status, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError):
        return error_response(422, "invalid_request", "请求格式无效 / invalid request",
                              details=validation_details(exc.errors()))

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException):
        code = _HTTP_CODES.get(exc.status_code, "http_error")
        return JSONResponse({"error": {"code": code, "message": str(exc.detail)}},
                            status_code=exc.status_code, headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception):
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return error_response(500, "server_error", "服务器内部错误 / internal server error")


def validation_details(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Location and message only: echoing the offending input back could be large or hostile."""
    return [{"loc": [str(p) for p in e.get("loc", ())][:8], "msg": str(e.get("msg", ""))[:200]}
            for e in errors[:20]]
