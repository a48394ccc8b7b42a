"""Configuration: ``mzi.toml`` validated by pydantic, secrets from the environment.

The default ``mzi.toml`` points both systems at the embedded sandbox so ``mzi plan``
works on a fresh clone. Switching a system to ``backend = "live"`` makes its secrets
mandatory; they are read from environment variables (never from the file) and a missing
one is named in the error.

Which file is in use is never silent: :func:`describe_source` says it (the CLI prints it
on stderr), because a cron job started in the wrong folder would otherwise "succeed"
against the embedded sandbox forever. For the same reason a sandbox on one side and a
live system on the other is refused unless the file says ``allow_mixed_backends = true``.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .errors import ConfigError
from .http import RetryPolicy

#: Zoho data centres: API domain and accounts (OAuth) server per DC
ZOHO_DATA_CENTRES: dict[str, tuple[str, str]] = {
    "com": ("https://www.zohoapis.com", "https://accounts.zoho.com"),
    "eu": ("https://www.zohoapis.eu", "https://accounts.zoho.eu"),
    "in": ("https://www.zohoapis.in", "https://accounts.zoho.in"),
    "com.au": ("https://www.zohoapis.com.au", "https://accounts.zoho.com.au"),
    "jp": ("https://www.zohoapis.jp", "https://accounts.zoho.jp"),
    "ca": ("https://www.zohoapis.ca", "https://accounts.zohocloud.ca"),
    "sa": ("https://www.zohoapis.sa", "https://accounts.zoho.sa"),
}


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class HttpSettings(_Section):
    concurrency: int = Field(10, ge=1, le=100, description="requests in flight at once")
    timeout_seconds: float = Field(30.0, gt=0, le=600, description="seconds before one request is given up (and retried)")
    max_retries: int = Field(5, ge=0, le=20, description="retries of a failed request, with exponential backoff and jitter")

    def policy(self) -> RetryPolicy:
        return RetryPolicy(concurrency=self.concurrency, timeout=self.timeout_seconds, max_retries=self.max_retries)


class ZohoSettings(HttpSettings):
    backend: Literal["sandbox", "live"] = Field("sandbox", description="sandbox: the embedded emulator; live: your Zoho CRM")
    data_centre: Literal["com", "eu", "in", "com.au", "jp", "ca", "sa"] = Field(
        "com", description="the data centre of your Zoho account: its API domain and accounts server")
    client_id_env: str = Field("MZI_ZOHO_CLIENT_ID", description="environment variable holding the OAuth client id")
    client_secret_env: str = Field("MZI_ZOHO_CLIENT_SECRET",
                                   description="environment variable holding the OAuth client secret")
    refresh_token_env: str = Field("MZI_ZOHO_REFRESH_TOKEN",
                                   description="environment variable holding the OAuth refresh token")
    full_refresh_after_hours: float = Field(24.0, gt=0, description="--changed-only still reads in full this often "
                                                                    "(only full reads see edits made in Moodle)")
    metadata_max_age_hours: float = Field(24.0, ge=0, description="reuse cached field metadata this long; 0: ask every run")
    read_api: Literal["coql", "list"] = Field(
        "coql", description="how kinds are listed: coql (Query API, 2,000 records a call) or list (Get Records, 200 a "
                            "call) (docs/performance.md)")
    subform_read_api: Literal["coql", "list"] = Field(
        "list", description="how subform rows are read with read_api = coql: list (with their parents, 200 parents a "
                            "call, 1 credit) or coql (from the subform module, 2,000 rows a call, 3 credits): coql "
                            "makes fewer calls but costs more credits once a parent has more than ~2 rows "
                            "(docs/performance.md)")
    notify_url: str = Field("", description="where Zoho's Notifications API calls mzi serve (mzi zoho watch)")
    watch_token_env: str = Field("MZI_ZOHO_WATCH_TOKEN",
                                 description="environment variable holding the token Zoho echoes in notifications")
    channel_id_base: int = Field(1_000_000, ge=1, description="first id of mzi's notification channels")
    channel_hours: float = Field(24.0, gt=0, le=168, description="channel lifetime; renew before it ends")

    @property
    def api_domain(self) -> str:
        return ZOHO_DATA_CENTRES[self.data_centre][0]

    @property
    def accounts_url(self) -> str:
        return ZOHO_DATA_CENTRES[self.data_centre][1]

    def watch_token(self) -> str:
        """The token Zoho echoes in every notification, so mzi serve can check it."""
        if self.backend == "sandbox":
            return os.environ.get(self.watch_token_env, "").strip() or "mzi-sandbox-watch-token"
        return _require_env(self.watch_token_env, "zoho")

    def secrets(self) -> tuple[str, str, str]:
        """(client id, client secret, refresh token) from the environment."""
        return tuple(_require_env(name, "zoho") for name in (self.client_id_env, self.client_secret_env, self.refresh_token_env))  # type: ignore[return-value]


#: Moodle auth plugins a web-service-created user may have: core's, plus the common SAML2
#: plugin. The plugin must also be enabled on the site (Site administration > Plugins > Authentication).
AUTH_METHODS = ("manual", "nologin", "email", "ldap", "cas", "db", "oauth2", "shibboleth", "lti", "mnet", "saml2")


class MoodleSettings(HttpSettings):
    backend: Literal["sandbox", "live"] = Field("sandbox", description="sandbox: the embedded emulator; live: your Moodle")
    url: str = Field("", description="the Moodle site's URL (live needs it), e.g. https://moodle.example.edu")
    token_env: str = Field("MZI_MOODLE_TOKEN", description="environment variable holding the web-service token "
                                                           "of service mzi")
    concurrency: int = Field(4, ge=1, le=50, description="requests in flight at once")
    timeout_seconds: float = Field(60.0, gt=0, le=600, description="seconds before one request is given up (and retried)")
    max_input_vars: int = Field(5000, ge=100, description="PHP's max_input_vars on the Moodle server: sizes every batch")
    timezone: str = Field("Asia/Amman", description="the site's zone: a course date is the unix time of local midnight")
    course_category_id: int = Field(0, ge=0, description="category of new courses; 0 = the plugin's setting")
    create_users: bool = Field(False, description="a student or teacher no Moodle user matches gets one "
                                                  "(a planned create) instead of being blocked")
    new_user_auth: str = Field("manual", description="auth method of the users create_users makes")
    withdrawn_enrolment: Literal["suspend", "unenrol"] = Field(
        "suspend", description="what the course enrolment of an enrollment gone from Zoho (or of a teacher taken "
                               "off a class) becomes: suspend keeps the grades, unenrol removes it")
    iv_role: str = Field("internalverifier", min_length=1,
                         description="shortname of the course role of the Internal Verifier: a grade given by a "
                                     "holder of it goes to Zoho as IV_Name, not Grader_Name")

    @field_validator("new_user_auth")
    @classmethod
    def _known_auth(cls, value: str) -> str:
        if value not in AUTH_METHODS:
            raise ValueError(f"new_user_auth {value!r} is not a Moodle authentication method mzi can create users "
                             f"with; one of: {', '.join(AUTH_METHODS)}")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"timezone {value!r} is not an IANA zone name (e.g. \"Asia/Amman\", \"UTC\")") from None
        return value

    @model_validator(mode="after")
    def _live_needs_url(self) -> "MoodleSettings":
        if self.backend == "live" and not self.url.startswith(("http://", "https://")):
            raise ValueError("backend 'live' needs url = \"https://your.moodle\"")
        return self

    def token(self) -> str:
        return _require_env(self.token_env, "moodle")


class SandboxSettings(_Section):
    students: int = Field(150, ge=1, le=200_000, description="size of the generated demo school")
    seed: int = Field(7, description="seed of the generated demo school (same seed, same school)")
    blocked_example: bool = Field(False, description="add one enrollment whose student exists nowhere (plans as blocked)")
    unmatched_users: bool = Field(False, description="leave some students without a Moodle user and let two users "
                                                     "share one address (their user links plan as blocked)")
    host: str = Field("127.0.0.1", description="address `mzi sandbox serve` listens on")
    zoho_port: int = Field(8701, ge=1, le=65535, description="port of the Zoho emulator (`mzi sandbox serve`)")
    moodle_port: int = Field(8702, ge=1, le=65535, description="port of the Moodle emulator (`mzi sandbox serve`)")


class ServeSettings(_Section):
    """``mzi serve``: where it listens, how it verifies webhooks, how its queue retries."""

    host: str = Field("127.0.0.1", description="address mzi serve listens on (behind a reverse proxy: loopback)")
    port: int = Field(8780, ge=1, le=65535, description="port mzi serve listens on")
    workers: int = Field(2, ge=1, le=64, description="reconciles running side by side in this process")
    secret_env: str = Field("MZI_WEBHOOK_SECRET", description="HMAC-SHA256 key of signed webhooks (Zoho, Moodle)")
    token_env: str = Field("MZI_WEBHOOK_TOKEN", description="static token Zoho workflow webhooks may send instead")
    max_body_bytes: int = Field(65_536, ge=1024, le=10_485_760, description="a larger webhook body is refused (413)")
    replay_window_seconds: int = Field(300, ge=10, le=86_400, description="a signed Moodle event older than this is refused")
    debounce_seconds: float = Field(2.0, ge=0, le=3600, description="wait this long after an address's last event")
    max_delay_seconds: float = Field(30.0, ge=0, le=86_400, description="but never longer than this after its first")
    batch_size: int = Field(20, ge=1, le=500, description="addresses one targeted apply reconciles at most")
    max_attempts: int = Field(8, ge=1, le=100, description="failed reconciles of an address before it is a dead letter")
    retry_base_seconds: float = Field(5.0, gt=0, le=3600, description="first retry delay of a failed reconcile (doubles)")
    retry_max_seconds: float = Field(900.0, gt=0, le=86_400, description="longest retry delay")
    reclaim_after_seconds: float = Field(60.0, gt=0, le=86_400,
                                         description="work claimed by a process that stopped is taken back after this")
    keep_events_days: float = Field(30.0, gt=0, description="how long the event log keeps accepted events")
    poll_seconds: float = Field(1.0, gt=0, le=60, description="how often an idle worker looks at the shared queue")

    def secret(self) -> str:
        """The webhook HMAC key; mzi serve refuses to start without one (an empty key proves nothing)."""
        return _require_env(self.secret_env, "serve", what="mzi serve verifies webhooks with it")

    def static_token(self) -> str:
        """The static token of Zoho workflow webhooks ('' when unset: only signatures are accepted)."""
        return os.environ.get(self.token_env, "").strip()


class SafetySettings(_Section):
    max_delete_fraction: float = Field(0.2, ge=0, le=1, description="the mass-change guard: share of a kind's live "
                                       "records one apply may delete, or empty one field of, without --allow-mass-change")
    max_delete_floor: int = Field(10, ge=0, description="deletes always allowed up to this many per kind")


#: the environment variable naming the configuration file when -c is not given
CONFIG_ENV = "MZI_CONFIG"


class Config(_Section):
    state_dir: Path = Field(Path("state"), description="run log, apply lock, watermarks, sandbox data "
                                                       "(relative to this file)")
    state_url: str = Field("", description="postgresql://… to keep the state (run log, lock, watermarks, webhook "
                                           "queue) in PostgreSQL instead of state_dir/mzi.sqlite")
    specs_dir: Path | None = Field(None, description="your own *.toml specs, overriding bundled kinds of the same file name")
    allow_mixed_backends: bool = Field(
        False, description="allow one system on the sandbox and the other live (a test site is a real use)")
    zoho: ZohoSettings = ZohoSettings()
    moodle: MoodleSettings = MoodleSettings()
    sandbox: SandboxSettings = SandboxSettings()
    safety: SafetySettings = SafetySettings()
    serve: ServeSettings = ServeSettings()
    path: Path | None = Field(None, exclude=True)

    @model_validator(mode="after")
    def _backends_match(self) -> "Config":
        """Sandbox on one side and live on the other mixes a demo school with real data:
        sandbox Zoho would push invented students into a real Moodle, and live Zoho with a
        sandbox Moodle copies real personal data into a local emulator and can write
        emulator ids back into real Zoho records. Either needs saying on purpose."""
        zoho, moodle = self.zoho.backend, self.moodle.backend
        if zoho != moodle and not self.allow_mixed_backends:
            raise ValueError(
                f"[zoho] backend is {zoho!r} but [moodle] backend is {moodle!r}: mzi would "
                + ("push the demo school into a real Moodle" if zoho == "sandbox"
                   else "copy real Zoho data into the emulator and may write emulator ids back to Zoho")
                + "; set both backends alike, or put allow_mixed_backends = true at the top of the file "
                  "if this is intended")
        return self

    @property
    def sandbox_dir(self) -> Path:
        return self.state_dir / "sandbox"

    @property
    def state_db(self) -> Path:
        return self.state_dir / "mzi.sqlite"

    @property
    def state_location(self) -> Path | str:
        """Where the state store is: ``state_url`` (PostgreSQL) when set, else the SQLite file."""
        return self.state_url or self.state_db

    @field_validator("state_url")
    @classmethod
    def _postgres_url(cls, value: str) -> str:
        if value and not value.startswith(("postgresql://", "postgres://")):
            raise ValueError("state_url must be a PostgreSQL URL (postgresql://user@host:5432/dbname); "
                             "leave it out to keep the state in SQLite under state_dir")
        return value


def _require_env(name: str, system: str, what: str = "") -> str:
    value = os.environ.get(name, "").strip()
    if not value:
        if what:
            raise ConfigError(f"environment variable {name} is not set ([{system}]: {what})")
        raise ConfigError(f"{system} backend is 'live' but environment variable {name} is not set")
    return value


def _resolve(base: Path, value: Path | None) -> Path | None:
    if value is None or str(value) == "":
        return None
    return value if value.is_absolute() else (base / value)


def _read(path: Path) -> str:
    """The file's text; a folder, an unreadable or a non-UTF-8 file is a ConfigError."""
    if path.is_dir():
        raise ConfigError(f"{path} is a directory; pass the configuration file itself, e.g. -c {path / 'mzi.toml'}")
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start}); save the file as UTF-8") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the configuration file: {exc.strerror}") from None


def _validated(path: Path, data: dict[str, object]) -> Config:
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        details = "; ".join(_problem(e["loc"], e["msg"]) for e in exc.errors())
        raise ConfigError(f"{path}: {details}") from None


def _problem(loc: tuple[int | str, ...], msg: str) -> str:
    msg = msg.removeprefix("Value error, ")
    return f"{'.'.join(str(p) for p in loc)}: {msg}" if loc else msg


def _check_paths(path: Path, config: Config) -> None:
    """Paths in the file that cannot be what they name fail here, naming the key."""
    for key, value in (("state_dir", config.state_dir), ("specs_dir", config.specs_dir)):
        if value is None:
            continue
        blocker = next((p for p in (value, *value.parents) if p.exists() and not p.is_dir()), None)
        if blocker is not None:
            raise ConfigError(f"{path}: {key} = {str(value)!r}: {blocker} is a file, not a directory")


def default_config_path() -> Path | None:
    """``$MZI_CONFIG`` when set, else None (meaning ``./mzi.toml`` if there is one)."""
    value = os.environ.get(CONFIG_ENV, "").strip()
    return Path(value) if value else None


def load_config(path: Path | None = None) -> Config:
    """Read ``path`` (default ``$MZI_CONFIG``, else ``./mzi.toml``; built-in defaults when there is none).

    Relative paths inside the file are relative to the file, so ``mzi -c /etc/mzi.toml``
    behaves the same from any working directory.
    """
    path = path or default_config_path()
    explicit = path is not None
    path = (path or Path("mzi.toml")).absolute()  # messages name the file wherever cron ran
    if not path.exists():
        if explicit:
            raise ConfigError(f"{path}: no such configuration file")
        return Config()
    try:
        data = tomllib.loads(_read(path))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    config = _validated(path, data)
    base = path.resolve().parent
    config = config.model_copy(update={
        "path": path.resolve(),
        "state_dir": _resolve(base, config.state_dir),
        "specs_dir": _resolve(base, config.specs_dir),
    })
    _check_paths(path, config)
    return config


def describe_source(config: Config) -> str:
    """One line saying which configuration is in use, for stderr of every command."""
    if config.path is not None:
        return f"Using configuration {config.path}"
    return (f"No mzi.toml in {Path.cwd()}: using the embedded sandbox (built-in defaults); "
            f"pass -c FILE or set {CONFIG_ENV}")
