"""API Gateway mapping templates (Velocity), for non-proxy integrations, rendered with airspeed.

Templates are Velocity (VTL) and airspeed-ext renders them; this module supplies the variables API Gateway
defines ("API Gateway mapping template and access logging variable reference"), a documented subset:

* ``$input.body`` (the raw body), ``$input.json('$')`` / ``$input.json('$.a.b')`` (JSON text of a path),
  ``$input.path('$.a')`` (the value itself), ``$input.params()`` (``{"path", "querystring", "header"}``),
  ``$input.params('name')`` (path, then query string, then header);
* ``$context``: ``requestId``, ``extendedRequestId``, ``httpMethod``, ``resourcePath``, ``resourceId``, ``path``,
  ``stage``, ``apiId``, ``accountId``, ``domainName``, ``protocol``, ``requestTime``, ``requestTimeEpoch``,
  ``identity.sourceIp``, ``authorizer.*`` (what a Lambda authorizer returned in ``context``);
* ``$stageVariables``; ``$util.escapeJavaScript``, ``$util.parseJson``, ``$util.urlEncode``,
  ``$util.urlDecode``, ``$util.base64Encode``, ``$util.base64Decode``.

JSONPath supports the dotted form (``$``, ``$.a.b``, ``$.items[0]``) only.
"""

from __future__ import annotations

import base64
import json
import re
from functools import lru_cache
from typing import Any
from urllib.parse import quote, unquote

import airspeed

_STEP = re.compile(r"\.([A-Za-z0-9_\-]+)|\[(\d+)\]|\['([^']+)'\]")


def json_path(document: Any, path: str) -> Any:
    """The value at a dotted JSONPath (``$``, ``$.a.b``, ``$.a[0]``); None when a step is missing."""
    value = document
    rest = path.strip()
    if not rest.startswith("$"):
        raise ValueError(f"not a JSONPath: {path!r}")
    for match in _STEP.finditer(rest[1:]):
        key = match.group(1) or match.group(3)
        index = match.group(2)
        try:
            value = value[int(index)] if index is not None else value[key]
        except (KeyError, IndexError, TypeError):
            return None
    return value


class _Input:
    """``$input``: the request (or, in a response template, the integration's answer)."""

    def __init__(self, body: str, params: dict[str, dict[str, str]]):
        self.body = body
        self._params = params
        self._parsed: Any = ...

    def _document(self) -> Any:
        if self._parsed is ...:
            try:
                self._parsed = json.loads(self.body) if self.body else {}
            except ValueError:
                self._parsed = None
        return self._parsed

    def json(self, path: str = "$") -> str:
        return json.dumps(json_path(self._document(), path))

    def path(self, path: str = "$") -> Any:
        return json_path(self._document(), path)

    def params(self, name: str | None = None) -> Any:
        if name is None:
            return self._params
        for where in ("path", "querystring", "header"):
            if name in self._params.get(where, {}):
                return self._params[where][name]
        return ""


class _Util:
    """``$util``."""

    @staticmethod
    def escapeJavaScript(text: Any) -> str:  # noqa: N802 (API Gateway's name)
        return json.dumps(str(text))[1:-1].replace("'", "\\'")

    @staticmethod
    def parseJson(text: str) -> Any:  # noqa: N802
        return json.loads(text)

    @staticmethod
    def urlEncode(text: str) -> str:  # noqa: N802
        return quote(str(text), safe="")

    @staticmethod
    def urlDecode(text: str) -> str:  # noqa: N802
        return unquote(str(text))

    @staticmethod
    def base64Encode(text: str) -> str:  # noqa: N802
        return base64.b64encode(str(text).encode()).decode()

    @staticmethod
    def base64Decode(text: str) -> str:  # noqa: N802
        return base64.b64decode(str(text)).decode()


@lru_cache(maxsize=256)
def _compiled(template: str) -> airspeed.Template:
    return airspeed.Template(template)


def render(template: str, body: str, params: dict[str, dict[str, str]], context: dict[str, Any],
           stage_variables: dict[str, str]) -> str:
    """The template rendered for a request (or an integration answer) ``body``."""
    return _compiled(template).merge({"input": _Input(body, params), "context": context,
                                      "stageVariables": stage_variables, "util": _Util()})


def select_template(templates: dict[str, str], content_type: str) -> str | None:
    """The template for a Content-Type (``application/json`` when none is given), as API Gateway picks it."""
    media = (content_type or "application/json").split(";", 1)[0].strip().lower()
    return templates.get(media)
