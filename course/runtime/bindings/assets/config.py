"""The ``assets`` section of a wrangler config, validated, with Cloudflare's defaults.

https://developers.cloudflare.com/workers/static-assets/binding/ : ``directory`` (required),
``binding`` (optional: ``env.<binding>.fetch``), ``html_handling`` (default
``auto-trailing-slash``), ``not_found_handling`` (default ``none``) and ``run_worker_first``
(default false; true, or route patterns such as ``["/api/*", "!/api/docs/*"]``).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from course.runtime.kernel.config import ConfigError

#: https://developers.cloudflare.com/workers/static-assets/routing/advanced/html-handling/
HTML_HANDLING = ("auto-trailing-slash", "force-trailing-slash", "drop-trailing-slash", "none")
#: https://developers.cloudflare.com/workers/static-assets/routing/
NOT_FOUND_HANDLING = ("none", "single-page-application", "404-page")
KNOWN_KEYS = {"directory", "binding", "html_handling", "not_found_handling", "run_worker_first"}


@dataclass(frozen=True)
class AssetsConfig:
    directory: Path
    binding: str | None
    html_handling: str
    not_found_handling: str
    run_worker_first: bool | tuple[str, ...]

    def worker_first(self, path: str) -> bool:
        """Whether a request for ``path`` goes to the Worker before any asset."""
        if isinstance(self.run_worker_first, bool):
            return self.run_worker_first
        rules = self.run_worker_first
        if any(_glob(rule[1:]).fullmatch(path) for rule in rules if rule.startswith("!")):
            return False  # a negative rule wins
        return any(_glob(rule).fullmatch(path) for rule in rules if not rule.startswith("!"))


def _glob(pattern: str) -> re.Pattern[str]:
    """A run_worker_first route pattern: ``*`` matches any characters, ``/`` included."""
    return re.compile(".*".join(re.escape(part) for part in pattern.split("*")))


def parse(section: Any, config_path: Path | None, root: Path) -> AssetsConfig:
    where = config_path or Path("<code>")
    if not isinstance(section, dict):
        raise ConfigError(where, f"assets must be a table/object with a directory, got {section!r}", key="assets")
    unknown = set(section) - KNOWN_KEYS
    if unknown:
        raise ConfigError(where, f"assets has unknown keys {sorted(unknown)} (known: {sorted(KNOWN_KEYS)})", key="assets")
    directory = section.get("directory")
    if not isinstance(directory, str) or not directory:
        raise ConfigError(where, "assets.directory is required: the folder of files to serve, e.g. \"./public\"",
                          key="assets")
    folder = (root / directory).resolve()
    if not folder.is_dir():
        raise ConfigError(where, f"assets.directory {directory!r} is not a folder (looked for {folder})", key="assets")
    binding = section.get("binding")
    if binding is not None and (not isinstance(binding, str) or not binding.isidentifier()):
        raise ConfigError(where, f"assets.binding must be a name such as \"ASSETS\", got {binding!r}", key="assets")
    html = section.get("html_handling", "auto-trailing-slash")
    if html not in HTML_HANDLING:
        raise ConfigError(where, f"assets.html_handling {html!r} is not one of {', '.join(HTML_HANDLING)}", key="assets")
    not_found = section.get("not_found_handling", "none")
    if not_found not in NOT_FOUND_HANDLING:
        raise ConfigError(where, f"assets.not_found_handling {not_found!r} is not one of "
                                 f"{', '.join(NOT_FOUND_HANDLING)}", key="assets")
    first = section.get("run_worker_first", False)
    if isinstance(first, list) and all(isinstance(r, str) and r.lstrip("!").startswith("/") for r in first):
        first = tuple(first)
    elif not isinstance(first, bool):
        raise ConfigError(where, f"assets.run_worker_first must be true, false or a list of route patterns starting "
                                 f"with / (\"!/...\" to exclude), got {first!r}", key="assets")
    return AssetsConfig(folder, binding, html, not_found, first)
