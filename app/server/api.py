"""The FastAPI application: routes, auth dependency, start-up. Logic lives in the services.

Blocking work (SQL, argon2) runs in the thread pool; the event loop only parses,
routes and fans out events. No ``from __future__ import annotations`` here: FastAPI reads
the route signatures at runtime, and they name closures (Caller) of create_app.
"""

import asyncio
import contextlib
import functools
import gc
from typing import Annotated, Any

import pydantic
import sqlalchemy as sa
from fastapi import Depends, FastAPI, Query, Request, Response, WebSocket, WebSocketDisconnect
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from app.server import auth, blobs, errors, push, quarantine, signalling, sneakernet
from app.server.auth import Principal
from app.server.config import Settings
from app.server.db import init_schema, make_engine, meta, now_iso, reader
from app.server.errors import ApiError
from app.server.events import EventHub
from app.server.limits import BodyLimit, check_schema_version, read_json
from app.server.pull import pull_json
from app.server.ratelimit import RateLimiter
from app.server.tables import device
from app.sync import wire

API = "/api/v1"


def create_app(settings: Settings, engine: sa.Engine | None = None) -> FastAPI:
    engine = engine or make_engine(settings.database_url)
    hub = EventHub(engine, settings.event_poll_s)
    limiter = RateLimiter(settings.rates(), max_keys=settings.rate_max_keys)  # per process (ratelimit.py)
    state: dict[str, Any] = {}

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI):
        await run_in_threadpool(init_schema, engine)  # create_all: first version, no migrations yet
        with engine.connect() as conn:
            state["secret"] = settings.secret or meta(conn).secret
        await hub.start()
        # Everything loaded so far lives as long as the server: keep the collector from rescanning it
        # (full collections were ~4% of a push profile).
        gc.collect()
        gc.freeze()
        yield
        await hub.stop()
        engine.dispose()

    app = FastAPI(title="Command Desk server", lifespan=lifespan, docs_url=None, redoc_url=None,
                  openapi_url=None)
    errors.install(app)

    def limit_for(path: str) -> int:
        if path.startswith(f"{API}/blobs/"):
            return settings.max_blob_bytes
        if path in (f"{API}/sync/push", f"{API}/sync/import"):
            return settings.max_push_bytes
        return settings.max_small_body_bytes

    app.add_middleware(BodyLimit, limit_for=limit_for)

    def principal(request: Request) -> Principal:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise ApiError(401, "unauthorized", "需要登录 / sign-in required",
                           headers={"WWW-Authenticate": "Bearer"})
        return auth.principal_from_token(engine, state["secret"], token.strip())

    Caller = Annotated[Principal, Depends(principal)]

    def limited(kind: str) -> Any:
        """Caller, after a token from its (user, device) bucket of ``kind``: else 429, body unread."""
        def dependency(who: Caller) -> Principal:
            limiter.check(kind, (who.user_id, who.device_id))
            return who
        return Annotated[Principal, Depends(dependency)]

    PushCaller, PullCaller, BlobCaller = limited("push"), limited("pull"), limited("blobs")

    def validated(model: type[pydantic.BaseModel], raw: Any) -> Any:
        try:
            return model.model_validate(raw)
        except pydantic.ValidationError as exc:
            raise ApiError(422, "invalid_request", "请求格式无效 / invalid request",
                           details=errors.validation_details(exc.errors())) from exc

    def epoch() -> str:
        with engine.connect() as conn:
            return meta(conn).server_epoch

    @app.get(f"{API}/health")
    def health() -> dict:
        return {"status": "ok", "schema_version": wire.SCHEMA_VERSION,
                "min_schema_version": wire.MIN_SCHEMA_VERSION, "server_time": now_iso(),
                "server_epoch": epoch()}

    @app.post(f"{API}/auth/login")
    def login(body: wire.LoginRequest, request: Request) -> dict:
        limiter.check_login(request.client.host if request.client else None, body.username)
        return auth.login(engine, settings, state["secret"], body.username, body.password, body.device_id,
                          body.device_public_key)

    @app.post(f"{API}/auth/refresh")
    def refresh(body: wire.RefreshRequest) -> dict:
        return auth.refresh(engine, settings, state["secret"], body.refresh_token, body.device_id,
                            body.device_public_key)

    async def run_batch(fn, *args) -> JSONResponse:
        try:
            done = await run_in_threadpool(fn, *args)
        except push.StopBatch as stop:
            if stop.committed_rev is not None:
                hub.publish_threadsafe(stop.committed_rev)
            raise stop.error from None
        if done["committed_rev"] is not None:
            hub.publish_threadsafe(done["committed_rev"])
        return JSONResponse(done["body"])

    @app.post(f"{API}/sync/push")
    async def push_route(request: Request, who: PushCaller) -> JSONResponse:
        if not who.can_write:
            raise ApiError(403, "read_only", "只读账户不能上传变更 / read-only account cannot push")
        raw = await read_json(request)
        if isinstance(raw, dict):
            mutations = raw.get("mutations")
            if isinstance(mutations, list) and len(mutations) > settings.max_mutations:
                raise ApiError(413, "batch_too_large", f"一次最多 {settings.max_mutations} 条变更 / at most "
                               f"{settings.max_mutations} mutations per push", limit=settings.max_mutations)
            check_schema_version(raw.get("schema_version"))
        body = validated(wire.PushRequest, raw)
        if body.device_id != who.device_id:
            raise ApiError(403, "device_mismatch",
                           "终端编号与登录令牌不符 / device_id differs from the token's")
        return await run_batch(functools.partial(push.push_batch, batch_sig=body.batch_sig), engine, who,
                               body.device_id, body.mutations)

    @app.post(f"{API}/sync/import")
    async def import_route(request: Request, who: PushCaller) -> JSONResponse:
        raw = await read_json(request)
        if not isinstance(raw, dict) or not isinstance(raw.get("mutations"), list):
            raise ApiError(422, "invalid_request", "导出文件格式无效 / not an outbox export")
        if len(raw["mutations"]) > settings.max_mutations:
            raise ApiError(413, "batch_too_large", "导出文件过大，请分批 / too many mutations in one file",
                           limit=settings.max_mutations)
        check_schema_version(raw.get("schema_version"))
        validated(wire.OutboxExport, raw)
        return await run_batch(sneakernet.import_outbox, engine, state["secret"], who, raw)

    @app.get(f"{API}/sync/pull")
    def pull_route(who: PullCaller, cursor: Annotated[int, Query(ge=0, le=2**62)] = 0,
                   limit: Annotated[int, Query(ge=1, le=settings.max_pull_limit)] = wire.DEFAULT_PULL_LIMIT,
                   schema_version: int | None = None) -> Response:
        check_schema_version(schema_version)
        # Built as JSON text by the database (pull.py): no dict, no jsonable_encoder, no re-encoding.
        return Response(pull_json(engine, who, cursor, limit), media_type="application/json")

    @app.get(f"{API}/sync/device-state")
    def device_state(who: PullCaller) -> dict:
        with reader(engine) as conn, conn.begin():
            m = meta(conn)
            seq = conn.execute(sa.select(device.c.last_device_seq)
                               .where(device.c.device_id == who.device_id)).scalar()
        return {"device_id": who.device_id, "last_device_seq": seq or 0, "server_epoch": m.server_epoch,
                "current_rev": m.current_rev}

    @app.put(f"{API}/blobs/{{sha256}}")
    async def put_blob(sha256: str, request: Request, who: BlobCaller) -> JSONResponse:
        data = await request.body()
        created = await run_in_threadpool(blobs.put_blob, engine, who, sha256, data)
        return JSONResponse({"sha256": sha256, "size": len(data)}, status_code=201 if created else 200)

    @app.get(f"{API}/blobs/{{sha256}}")
    def get_blob(sha256: str, who: BlobCaller) -> Response:
        data = blobs.get_blob(engine, who, sha256)
        return Response(data, media_type="application/octet-stream",
                        headers={"Cache-Control": "private, max-age=31536000, immutable"})

    @app.websocket(f"{API}/events")
    async def events(ws: WebSocket, token: str = "") -> None:
        await ws.accept()
        try:
            who = await run_in_threadpool(auth.principal_from_token, engine, state["secret"], token)
            limiter.check("events", (who.user_id, who.device_id))
        except ApiError as exc:
            await ws.send_json({"type": "error", "code": exc.code, "message": exc.message, **exc.extra})
            await ws.close(code={401: 4401, 429: 4429}.get(exc.status, 4403))
            return
        with hub.subscribe() as queue:
            await ws.send_json({"type": "rev", "rev": hub.rev})
            await _relay(ws, queue)

    quarantine_routes(app, engine, hub, Caller, validated)  # held mutations (app/server/quarantine.py)
    signalling.install(app, engine, state, API)  # video signalling relay (app/server/signalling.py)
    app.state.engine = engine
    app.state.hub = hub
    app.state.limiter = limiter
    return app


def quarantine_routes(app: FastAPI, engine: sa.Engine, hub: EventHub, Caller: Any, validated: Any) -> None:
    """GET /quarantine, POST /quarantine/{mutation_id}/approve|decline (leaders and admins)."""

    @app.get(f"{API}/quarantine")
    def quarantine_list(who: Caller, status: str = "held") -> dict:
        if status not in ("held", "approved", "declined", "all"):
            raise ApiError(422, "invalid_request", "status 无效 / unknown status")
        return {"items": quarantine.list_items(engine, who, None if status == "all" else status)}

    def decide(mutation_id: str, who: Principal, raw: Any, approve: bool) -> dict:
        body = validated(wire.QuarantineDecision, raw or {})
        done = quarantine.decide(engine, who, mutation_id, approve, body.comment)
        hub.publish_threadsafe(done["committed_rev"])
        return done["result"]

    @app.post(f"{API}/quarantine/{{mutation_id}}/approve")
    async def quarantine_approve(mutation_id: str, request: Request, who: Caller) -> dict:
        raw = await read_json(request) if await request.body() else None
        return await run_in_threadpool(decide, mutation_id, who, raw, True)

    @app.post(f"{API}/quarantine/{{mutation_id}}/decline")
    async def quarantine_decline(mutation_id: str, request: Request, who: Caller) -> dict:
        raw = await read_json(request) if await request.body() else None
        return await run_in_threadpool(decide, mutation_id, who, raw, False)


async def _relay(ws: WebSocket, queue: asyncio.Queue[int]) -> None:
    """Forward revisions until the console goes away (noticed through receive())."""
    gone = asyncio.create_task(_drain(ws))
    try:
        while not gone.done():
            getter = asyncio.create_task(queue.get())
            await asyncio.wait({getter, gone}, return_when=asyncio.FIRST_COMPLETED)
            if not getter.done():
                getter.cancel()
                break
            await ws.send_json({"type": "rev", "rev": getter.result()})
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        gone.cancel()


async def _drain(ws: WebSocket) -> None:
    # Consoles send nothing here (video signalling has its own socket, app/server/signalling.py);
    # reading is only how a close is noticed.
    with contextlib.suppress(WebSocketDisconnect, RuntimeError):
        while True:
            await ws.receive_text()
