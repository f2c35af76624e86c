"""Read a Worker project's wrangler configuration (``wrangler.toml`` or ``wrangler.jsonc``).

The schema follows https://developers.cloudflare.com/workers/wrangler/configuration/ for the
keys this runtime understands; other keys are kept (``extra``) so real projects load as is.
JSONC allows comments and trailing commas (parsed by json5). A malformed file (bad syntax, a
wrong type, bytes that are not UTF-8) raises :class:`ConfigError` naming the file, the line and
column, and the key. A folder holding several config files uses the one wrangler would
(``wrangler.json``, then ``wrangler.jsonc``, then ``wrangler.toml``) and warns once
(:class:`ConfigWarning`) naming the file used and the ones ignored.

Local state (``course serve``, ``course d1 execute``) lives where wrangler keeps it:
``<project>/.wrangler/state`` (:func:`default_state_dir`).
"""
from __future__ import annotations

import re
import tomllib
import warnings
from pathlib import Path
from typing import Any, Optional

import json5
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

#: Files wrangler looks for, in its order of preference (``findWranglerConfig`` in
#: cloudflare/workers-sdk, packages/wrangler/src/config/config-helpers.ts).
CONFIG_FILENAMES = ("wrangler.json", "wrangler.jsonc", "wrangler.toml")
#: Where wrangler keeps a project's local state, relative to the project folder (``wrangler dev
#: --persist-to``'s default: https://developers.cloudflare.com/workers/wrangler/commands/#dev).
STATE_DIRNAME = Path(".wrangler") / "state"


class ConfigError(ValueError):
    """A wrangler config that cannot be used: says which file, where, and which key."""

    def __init__(self, path: Path | str, message: str, *, key: str | None = None,
                 line: int | None = None, column: int | None = None) -> None:
        self.path, self.key, self.line, self.column = Path(path), key, line, column
        where = str(path)
        if line is not None:
            where += f":{line}" + (f":{column}" if column is not None else "")
        text = f"{where}: " + (f"key '{key}': " if key else "") + message
        super().__init__(text)


class ConfigWarning(UserWarning):
    """A usable config with a surprise in it (several config files in one folder)."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class DurableObjectBinding(_Section):
    name: str
    class_name: str
    script_name: Optional[str] = None


class DurableObjectsConfig(_Section):
    bindings: list[DurableObjectBinding] = Field(default_factory=list)


class Migration(_Section):
    tag: str
    new_classes: list[str] = Field(default_factory=list)
    new_sqlite_classes: list[str] = Field(default_factory=list)
    renamed_classes: list[dict[str, str]] = Field(default_factory=list)
    deleted_classes: list[str] = Field(default_factory=list)


class KVNamespace(_Section):
    binding: str
    id: Optional[str] = None
    preview_id: Optional[str] = None


class D1Database(_Section):
    binding: str
    database_name: Optional[str] = None
    database_id: Optional[str] = None
    migrations_dir: str = "migrations"
    migrations_table: str = "d1_migrations"


class R2Bucket(_Section):
    binding: str
    bucket_name: Optional[str] = None


class QueueProducer(_Section):
    binding: str
    queue: str
    delivery_delay: Optional[int] = None


class QueueConsumer(_Section):
    queue: str
    max_batch_size: Optional[int] = None
    max_batch_timeout: Optional[float] = None
    max_retries: Optional[int] = None
    dead_letter_queue: Optional[str] = None
    retry_delay: Optional[int] = None
    max_concurrency: Optional[int] = None


class QueuesConfig(_Section):
    producers: list[QueueProducer] = Field(default_factory=list)
    consumers: list[QueueConsumer] = Field(default_factory=list)


class Triggers(_Section):
    crons: list[str] = Field(default_factory=list)


class AIBinding(_Section):
    binding: str


class ServiceBinding(_Section):
    binding: str
    service: str
    entrypoint: Optional[str] = None


class AnalyticsEngineDataset(_Section):
    binding: str
    dataset: Optional[str] = None


class WranglerConfig(_Section):
    """The parts of a wrangler config the emulated runtime uses."""

    name: str = "worker"
    main: Optional[str] = None
    compatibility_date: Optional[str] = None
    compatibility_flags: list[str] = Field(default_factory=list)
    vars: dict[str, Any] = Field(default_factory=dict)
    durable_objects: DurableObjectsConfig = Field(default_factory=DurableObjectsConfig)
    migrations: list[Migration] = Field(default_factory=list)
    kv_namespaces: list[KVNamespace] = Field(default_factory=list)
    d1_databases: list[D1Database] = Field(default_factory=list)
    r2_buckets: list[R2Bucket] = Field(default_factory=list)
    queues: QueuesConfig = Field(default_factory=QueuesConfig)
    triggers: Triggers = Field(default_factory=Triggers)
    ai: Optional[AIBinding] = None
    services: list[ServiceBinding] = Field(default_factory=list)
    analytics_engine_datasets: list[AnalyticsEngineDataset] = Field(default_factory=list)

    #: Where the config was read from (None for a config built in code).
    path: Optional[Path] = Field(default=None, exclude=True)

    @field_validator("vars")
    @classmethod
    def _vars_are_named(cls, value: dict[str, Any]) -> dict[str, Any]:
        for key in value:
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
                raise ValueError(f"var name {key!r} is not a valid identifier")
        return value

    @property
    def root(self) -> Path:
        return self.path.parent if self.path is not None else Path.cwd()

    def main_path(self) -> Path | None:
        return (self.root / self.main).resolve() if self.main else None


def find_config(directory: Path | str) -> Path:
    """The wrangler config file in ``directory`` (or ``directory`` itself if it is a file)."""
    p = Path(directory)
    if p.is_file():
        return p
    if not p.exists():
        raise FileNotFoundError(f"{p}: no such Worker project directory")
    found = [p / name for name in CONFIG_FILENAMES if (p / name).is_file()]
    if len(found) > 1:
        ignored = ", ".join(f.name for f in found[1:])
        warnings.warn(ConfigWarning(f"{p}: using {found[0].name} and ignoring {ignored} (wrangler reads the "
                                    f"first of {', '.join(CONFIG_FILENAMES)})"), stacklevel=2)
    if found:
        return found[0]
    raise ConfigError(p, f"no wrangler config found (looked for {', '.join(CONFIG_FILENAMES)})")


def read_config_text(path: Path) -> str:
    """The text of a config file, or ConfigError naming it when it is not UTF-8."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise ConfigError(path, f"not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start}); "
                          "save it as UTF-8", line=line, column=column) from None


def default_state_dir(project_root: Path | str) -> Path:
    """Where a project's local state lives by default, as with wrangler: ``<root>/.wrangler/state``."""
    return Path(project_root) / STATE_DIRNAME


def parse_config_text(text: str, path: Path) -> dict[str, Any]:
    """Parse TOML or JSON(C) text into a dict, or raise ConfigError with the position."""
    if path.suffix == ".toml":
        try:
            return tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            m = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
            msg = re.sub(r"\s*\(at (line \d+, column \d+|end of document)\)", "", str(exc))
            # "at end of document": the problem is on the last line.
            line = int(m[1]) if m else text.rstrip("\n").count("\n") + 1
            raise ConfigError(path, f"invalid TOML: {msg}", line=line, column=int(m[2]) if m else None,
                              key=_key_at(text, line)) from None
    try:
        data = json5.loads(text)
    except ValueError as exc:
        m = re.match(r"<string>:(\d+) (.*?)(?: at column (\d+))?$", str(exc))
        if m:
            raise ConfigError(path, f"invalid JSONC: {m[2]}", line=int(m[1]),
                              column=int(m[3]) if m[3] else None, key=_key_at(text, int(m[1]))) from None
        raise ConfigError(path, f"invalid JSONC: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(path, "the top level must be an object")
    return data


def _key_at(text: str, line: int) -> str | None:
    """The key (or [table]) written on ``line`` or the nearest line above it, for syntax errors."""
    lines = text.splitlines()
    for raw in reversed(lines[: max(0, line)]):
        m = re.match(r'\s*\[\[?\s*([\w.\-]+)', raw) or re.match(r'\s*"?([\w.\-$]+)"?\s*[=:]', raw)
        if m:
            return m[1]
    return None


def _locate(text: str, loc: tuple[Any, ...]) -> tuple[int | None, int | None]:
    """Best-effort line/column of the deepest named key of ``loc`` in the source text."""
    names = [p for p in loc if isinstance(p, str)]
    for name in reversed(names):
        key = re.escape(name)
        m = re.search(rf'(?:"{key}"|(?<![\w"]){key}(?![\w"]))\s*[=:]', text) or \
            re.search(rf"^[ \t]*\[\[?[ \t]*(?:[\w.]+\.)?{key}\b", text, re.M)
        if m is not None:
            start = m.start()
            line = text.count("\n", 0, start) + 1
            col = start - (text.rfind("\n", 0, start) + 1) + 1
            return line, col
    return None, None


def _dotted(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def validate_config(data: dict[str, Any], path: Path, text: str = "") -> WranglerConfig:
    try:
        config = WranglerConfig.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = tuple(err["loc"])
        line, col = _locate(text, loc) if text else (None, None)
        more = f" (and {len(exc.errors()) - 1} more problem(s))" if len(exc.errors()) > 1 else ""
        raise ConfigError(path, f"{err['msg']}{more}", key=_dotted(loc), line=line, column=col) from None
    config.path = path
    return config


def load_config(directory: Path | str) -> WranglerConfig:
    """Read and validate the wrangler config of a project directory (or a config file path)."""
    path = find_config(directory).resolve()
    text = read_config_text(path)
    data = parse_config_text(text, path)
    config = validate_config(data, path, text)
    if config.main is None:
        raise ConfigError(path, "missing the entry point: set main = \"src/entry.py\"", key="main",
                          line=1)
    main = config.main_path()
    assert main is not None
    if not main.is_file():
        line, col = _locate(text, ("main",))
        raise ConfigError(path, f"the entry point {config.main!r} does not exist ({main})", key="main",
                          line=line, column=col)
    if main.suffix != ".py":
        line, col = _locate(text, ("main",))
        raise ConfigError(path, f"the entry point {config.main!r} is not a Python module; the course "
                          "runtime runs Python Workers", key="main", line=line, column=col)
    return config


def config_from_dict(data: dict[str, Any]) -> WranglerConfig:
    """A config declared in code (a notebook), with the same schema as wrangler's."""
    return validate_config(dict(data), Path("<code>"))


def read_dev_vars(root: Path) -> dict[str, str]:
    """Secrets from ``.dev.vars`` (KEY=VALUE lines), as ``wrangler dev`` reads them."""
    path = root / ".dev.vars"
    if not path.is_file():
        return {}
    out: dict[str, str] = {}
    for n, raw in enumerate(read_config_text(path).splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if "=" not in line:
            raise ConfigError(path, "expected KEY=VALUE", line=n, column=1)
        key, value = line.split("=", 1)
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        out[key.strip()] = value
    return out
