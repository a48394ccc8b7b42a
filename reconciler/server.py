"""``mzi serve``: the webhook receiver (Starlette on uvicorn) and its workers.

One path for every event: verify, parse, record in the durable queue, answer — before
any call to Zoho or Moodle. The workers (:mod:`reconciler.worker`) reconcile what the
queue names, exactly as ``mzi apply --target``. Routes:

* ``POST /webhooks/zoho`` and ``/webhooks/zoho/{kind}``: Zoho workflow webhooks and
  Notifications API callbacks.
* ``POST /webhooks/moodle``: ``local_mzi``'s outbox.
* ``GET /healthz`` (the process answers), ``/readyz`` (the state store answers),
  ``/metrics`` (Prometheus text).

Verification comes first (:mod:`reconciler.signatures`): a missing or wrong signature
or token is 401, a body over ``[serve] max_body_bytes`` 413, anything that is not a
payload mzi knows 400 — each with a JSON body ``{"error": code, "message": …}`` and one
log line that names the reason and the route, never a secret or a body. Bad input never
gets a 5xx: the only 5xx is 503 from ``/readyz`` (or an accept) while the state store is
unreachable, which is mzi's problem, said as such.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .config import Config
from .errors import MziError, StateError
from .events import BadEvent, Event, notification_token, parse_moodle, parse_zoho
from .metrics import CONTENT_TYPE, Metrics
from .queue import EventQueue, QueueStats
from .signatures import Refused, verify_moodle, verify_zoho
from .specs import Spec, load_specs
from .state import StateStore
from .worker import Signals, Worker, policy_of

log = logging.getLogger("mzi.serve")


class TooLarge(Exception):
    """The body is over ``[serve] max_body_bytes``."""


@dataclass
class Secrets:
    """What webhooks are checked against, read from the environment once at start."""

    hmac_key: str
    static_token: str
    watch_token: str


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": code, "message": message}, status_code=status)


async def _body(request: Request, limit: int) -> bytes:
    """The raw body, refused past ``limit`` bytes without reading the rest."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise TooLarge()
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise TooLarge()
        chunks.append(chunk)
    return b"".join(chunks)


class WebhookApp:
    """The routes over one queue connection; the workers have their own."""

    def __init__(self, config: Config, specs: Mapping[str, Spec], secrets: Secrets, store: StateStore,
                 signals: Signals, *, workers: int = 0) -> None:
        self.config = config
        self.specs = dict(specs)
        self.secrets = secrets
        self.store = store
        self.queue = EventQueue(store, policy_of(config))
        self.signals = signals
        self.workers = workers
        self.metrics = Metrics(self._stats)
        self.thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ready = threading.Event()

    def _stats(self) -> QueueStats | None:
        try:
            return self.queue.stats()
        except Exception:  # noqa: BLE001 - a store that does not answer shows as missing gauges, /readyz says why
            return None

    # -------------------------------------------------------------- the app
    def app(self) -> Starlette:
        routes = [
            Route("/webhooks/zoho", self.zoho, methods=["POST"]),
            Route("/webhooks/zoho/{kind}", self.zoho, methods=["POST"]),
            Route("/webhooks/moodle", self.moodle, methods=["POST"]),
            Route("/healthz", self.healthz, methods=["GET"]),
            Route("/readyz", self.readyz, methods=["GET"]),
            Route("/metrics", self.metrics_text, methods=["GET"]),
        ]
        return Starlette(routes=routes, lifespan=self._lifespan,
                         exception_handlers={HTTPException: self._http_error})  # type: ignore[dict-item]

    @contextlib.asynccontextmanager
    async def _lifespan(self, app: Starlette) -> AsyncIterator[None]:
        if self.workers:
            self.thread = threading.Thread(target=self._run_workers, name="mzi-workers", daemon=True)
            self.thread.start()
            await asyncio.to_thread(self._ready.wait, 30)
        try:
            yield
        finally:
            await asyncio.to_thread(self.stop)

    def _run_workers(self) -> None:
        """The workers' own thread and event loop: a reconcile's work (and, on the sandbox, the
        emulators it calls in-process) never holds up the loop that acknowledges webhooks."""
        async def main() -> None:
            self.signals = Signals()
            self._loop = asyncio.get_running_loop()
            self._ready.set()
            tasks = [asyncio.create_task(self._worker(n)) for n in range(self.workers)]
            await asyncio.gather(*tasks, return_exceptions=True)

        asyncio.run(main())

    async def _worker(self, number: int) -> None:
        """One worker, restarted after an unexpected failure (logged) until the server stops."""
        while not self.signals.stopping.is_set():
            try:
                await Worker(self.config, number, self.signals, self.metrics).run()
            except MziError as exc:
                log.error("worker %d stopped: %s; restarting in 5 s", number, exc)
                await asyncio.sleep(5)

    def _in_workers(self, action: Callable[[], object]) -> None:
        if self._loop is not None and not self._loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop ended meanwhile
                self._loop.call_soon_threadsafe(action)

    def stop(self, grace: float = 20.0) -> None:
        """Stop taking work; reconciles in flight finish their batches (up to ``grace`` seconds),
        then their rows go back to the queue (the workers' ``finally``)."""
        def stopping() -> None:
            self.signals.stopping.set()
            self.signals.gate.interrupt()

        self._in_workers(stopping)
        if self.thread is not None:
            self.thread.join(grace)
            self.thread = None

    async def _http_error(self, request: Request, exc: HTTPException) -> Response:
        return _error(exc.status_code, "not_found" if exc.status_code == 404 else "method_not_allowed"
                      if exc.status_code == 405 else "http_error", str(exc.detail))

    # -------------------------------------------------------------- routes
    def _refuse(self, request: Request, status: int, code: str, message: str) -> JSONResponse:
        self.metrics.refused.labels(code).inc()
        log.warning("refused %s %s: %d %s", request.method, request.url.path, status, code)
        return _error(status, code, message)

    async def _read(self, request: Request) -> bytes | JSONResponse:
        try:
            return await _body(request, self.config.serve.max_body_bytes)
        except TooLarge:
            return self._refuse(request, 413, "too_large",
                                f"the body is over {self.config.serve.max_body_bytes} bytes ([serve] max_body_bytes)")
        except ClientDisconnect:
            return self._refuse(request, 400, "incomplete", "the client went away before the body was complete")

    async def zoho(self, request: Request) -> Response:
        body = await self._read(request)
        if isinstance(body, Response):
            return body
        try:
            verify_zoho(body, request.headers, request.query_params, self.secrets.hmac_key, self.secrets.static_token,
                        self.secrets.watch_token, notification_token(body))
            event = parse_zoho(body, self.specs, request.path_params.get("kind"))
        except Refused as exc:
            return self._refuse(request, 401, exc.code, str(exc))
        except BadEvent as exc:
            return self._refuse(request, 400, exc.code, str(exc))
        return self._accept(request, event)

    async def moodle(self, request: Request) -> Response:
        body = await self._read(request)
        if isinstance(body, Response):
            return body
        try:
            verify_moodle(body, request.headers, self.secrets.hmac_key, self.config.serve.replay_window_seconds)
            event = parse_moodle(body, self.specs, request.headers.get("x-mzi-event-id", "").strip())
        except Refused as exc:
            return self._refuse(request, 401, exc.code, str(exc))
        except BadEvent as exc:
            return self._refuse(request, 400, exc.code, str(exc))
        return self._accept(request, event)

    def _accept(self, request: Request, event: Event) -> Response:
        if not event.targets:
            self.metrics.accepted.labels(event.source).inc()
            return JSONResponse({"status": "ignored", "event_id": event.event_id,
                                 "message": "no kind mzi reconciles is named by this event"}, status_code=200)
        try:
            fresh = self.queue.accept(event)
        except Exception as exc:  # noqa: BLE001 - the store failing is ours (503, Zoho/Moodle retry), never a lost 202
            log.error("cannot record event %s: %s", event.event_id, exc)
            return _error(503, "state_unavailable", "the event could not be recorded; send it again later")
        if not fresh:
            self.metrics.duplicates.labels(event.source).inc()
            return JSONResponse({"status": "duplicate", "event_id": event.event_id}, status_code=200)
        self.metrics.accepted.labels(event.source).inc()
        self._in_workers(self.signals.wake.set)
        return JSONResponse({"status": "accepted", "event_id": event.event_id,
                             "targets": [str(t) for t in event.targets]}, status_code=202)

    async def healthz(self, request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(self, request: Request) -> Response:
        try:
            self.store.ping()
        except StateError as exc:
            return _error(503, "state_unavailable", str(exc))
        return JSONResponse({"status": "ready"})

    async def metrics_text(self, request: Request) -> Response:
        return Response(self.metrics.render(), media_type=CONTENT_TYPE)


def secrets_of(config: Config) -> Secrets:
    """The webhook secrets from the environment; without the HMAC key mzi serve does not start."""
    return Secrets(config.serve.secret(), config.serve.static_token(), config.zoho.watch_token())


def build(config: Config, *, workers: int | None = None, secrets: Secrets | None = None) -> WebhookApp:
    """The app for ``config`` (tests pass ``workers=0`` and drive :class:`Worker` themselves)."""
    from .commands import withdrawal_policy

    specs = withdrawal_policy(load_specs(config.specs_dir), config.moodle.withdrawn_enrolment)
    store = StateStore(config.state_location)
    return WebhookApp(config, specs, secrets or secrets_of(config), store, Signals(),
                      workers=config.serve.workers if workers is None else workers)


def serve(config: Config, host: str, port: int, workers: int) -> None:
    """Run until SIGINT/SIGTERM: uvicorn stops accepting, the workers finish their batches."""
    import uvicorn

    import sys

    webhook = build(config, workers=workers)
    # the workers' thread computes plans (and, on the sandbox, runs both emulators): hand the
    # interpreter back to the acknowledging thread often, so webhooks are answered promptly
    sys.setswitchinterval(0.0005)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        uvicorn.run(webhook.app(), host=host, port=port, log_level="info", access_log=False,
                    proxy_headers=True, server_header=False)
    finally:
        webhook.store.close()


def describe(config: Config, host: str, port: int, workers: int) -> str:
    where = config.state_url and "PostgreSQL" or str(config.state_db)
    return (f"mzi serve on http://{host}:{port} with {workers} worker(s), queue in {where}: "
            "POST /webhooks/zoho, /webhooks/moodle; GET /healthz, /readyz, /metrics")
