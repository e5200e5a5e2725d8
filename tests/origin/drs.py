"""GA4GH DRS 1.x endpoints of the test origin (see README.md, "DRS").

Imported by origin.py; OriginHandler mixes in HandlerMixin, which relies on the
handler's _json, _read_body, state (State.drs is a Registry), plain_url,
signed_url and file_facts.
"""

import json
import re
import threading
import time
from urllib.parse import unquote

PREFIX = "/ga4gh/drs/v1/"
OBJECTS_PREFIX = PREFIX + "objects/"
CHECKSUM_TYPES = ("md5", "sha-256", "crc32c", "etag")
ACCESS_KINDS = ("url", "id")
CONFIG_KEYS = {"id", "path", "name", "checksums", "access", "access_id", "expires",
               "unsigned", "headers", "token", "status", "msg"}
_ACCESS_RE = re.compile(r"^(?P<id>.+)/access/(?P<access>[^/]+)$")
_HEADER_RE = re.compile(r"^([!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \t]*(.*?)[ \t]*$")


class DrsConfigError(ValueError):
    pass


# ---------------------------------------------------------------------------
# Configuration.


def _check(condition, message):
    if not condition:
        raise DrsConfigError(message)


def _checksum_spec(item, where):
    """A computed type ("md5", ...) or an explicit {"type", "checksum"} object."""
    if isinstance(item, str):
        _check(item in CHECKSUM_TYPES, f"{where} must be one of {list(CHECKSUM_TYPES)} "
               "or a {\"type\", \"checksum\"} object")
        return item
    _check(isinstance(item, dict) and set(item) == {"type", "checksum"}
           and all(isinstance(v, str) and v for v in item.values()),
           f"{where} must be a checksum type or {{\"type\": T, \"checksum\": V}}")
    return dict(item)


def parse_header_line(line, where):
    """"Name: value" -> (name, value)."""
    match = _HEADER_RE.match(line) if isinstance(line, str) else None
    _check(match is not None, f"{where} must look like \"Name: value\"")
    return match.group(1), match.group(2)


def validate_config(raw):
    _check(isinstance(raw, dict), "drs config must be a JSON object")
    unknown = set(raw) - CONFIG_KEYS
    _check(not unknown, f"unknown drs config keys: {sorted(unknown)}")
    cfg = {
        "id": raw.get("id"), "path": raw.get("path"), "name": raw.get("name"),
        "checksums": raw.get("checksums", ["md5"]), "access": raw.get("access", "url"),
        "access_id": raw.get("access_id", "a1"), "expires": raw.get("expires", 3600),
        "unsigned": raw.get("unsigned", False), "headers": raw.get("headers", []),
        "token": raw.get("token"), "status": raw.get("status"), "msg": raw.get("msg"),
    }
    _check(isinstance(cfg["id"], str) and cfg["id"], "id must be a non-empty string")
    _check(isinstance(cfg["path"], str) and cfg["path"].startswith("/"),
           "path must be a string starting with /")
    _check(cfg["name"] is None or isinstance(cfg["name"], str), "name must be a string")
    _check(isinstance(cfg["checksums"], list), "checksums must be a list")
    cfg["checksums"] = [_checksum_spec(c, f"checksums[{i}]")
                        for i, c in enumerate(cfg["checksums"])]
    _check(cfg["access"] in ACCESS_KINDS, f"access must be one of {list(ACCESS_KINDS)}")
    _check(isinstance(cfg["access_id"], str) and cfg["access_id"] and "/" not in cfg["access_id"],
           "access_id must be a non-empty string without /")
    _check(not isinstance(cfg["expires"], bool) and isinstance(cfg["expires"], int)
           and cfg["expires"] >= 1, "expires must be an integer >= 1")
    _check(isinstance(cfg["unsigned"], bool), "unsigned must be true or false")
    _check(isinstance(cfg["headers"], list), "headers must be a list of \"Name: value\"")
    cfg["header_map"] = dict(parse_header_line(h, f"headers[{i}]")
                             for i, h in enumerate(cfg["headers"]))
    _check(not cfg["headers"] or cfg["access"] == "id", "headers need access \"id\"")
    _check(cfg["token"] is None or (isinstance(cfg["token"], str) and cfg["token"]),
           "token must be a non-empty string")
    status = cfg["status"]
    _check(status is None or (not isinstance(status, bool) and isinstance(status, int)
                              and 400 <= status <= 599), "status must be an integer 400..599")
    _check(cfg["msg"] is None or isinstance(cfg["msg"], str), "msg must be a string")
    _check(cfg["msg"] is None or status is not None, "msg needs status")
    return cfg


def computed_types(cfg):
    return [c for c in cfg["checksums"] if isinstance(c, str)]


# ---------------------------------------------------------------------------
# Configs and statistics.


def _new_stats():
    return {"lookups": 0, "access": 0, "unauthorized": 0}


class Registry:
    """The DRS objects and their counters; thread-safe."""

    def __init__(self):
        self._lock = threading.Lock()
        self._configs = {}
        self._stats = {}

    def reset(self):
        with self._lock:
            self._configs.clear()
            self._stats.clear()

    def set(self, cfg):
        with self._lock:
            self._configs[cfg["id"]] = cfg
            self._stats.setdefault(cfg["id"], _new_stats())

    def get(self, object_id):
        with self._lock:
            return self._configs.get(object_id)

    def count(self, object_id, counter):
        with self._lock:
            self._stats.setdefault(object_id, _new_stats())[counter] += 1

    def stats_json(self):
        with self._lock:
            return {"objects": {k: dict(v) for k, v in self._stats.items()}}


# ---------------------------------------------------------------------------
# Requests.


def parse_request_path(raw_path):
    """(object id, access id or None) from a raw (percent-encoded) path, or None."""
    if not raw_path.startswith(OBJECTS_PREFIX):
        return None
    rest = raw_path[len(OBJECTS_PREFIX):]
    match = _ACCESS_RE.match(rest)
    if match:
        return unquote(match.group("id")), unquote(match.group("access"))
    return (unquote(rest), None) if rest else None


def rfc3339(epoch):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


class HandlerMixin:
    """The DRS part of OriginHandler."""

    def _configure_drs(self, body):
        try:
            raw = json.loads(body.decode() or "null")
            configs = [validate_config(item) for item in (raw if isinstance(raw, list) else [raw])]
            for cfg in configs:
                _check(self.file_facts(cfg["path"], computed_types(cfg)) is not None,
                       f"path {cfg['path']} is not a regular file under --root")
        except (ValueError, UnicodeDecodeError) as e:
            self._json(400, {"ok": False, "error": str(e)})
            return
        for cfg in configs:
            self.state.drs.set(cfg)
            if cfg["header_map"]:
                self.state.set_require_headers(cfg["path"], cfg["header_map"])
        self._json(200, {"ok": True, "ids": [c["id"] for c in configs]})

    def _drs_error(self, code, msg, headers=()):
        body = json.dumps({"msg": msg, "status_code": code}) + "\n"
        self._simple(code, body, "application/json", headers, head=self.command == "HEAD")

    def _drs(self, split):
        if self.command == "POST":
            self._read_body()
            self._drs_error(405, "POST (passports) is not supported; use GET",
                            [("Allow", "GET")])
            return
        if self.command != "GET":
            self._drs_error(405, "only GET is supported", [("Allow", "GET")])
            return
        parsed = parse_request_path(split.path)
        if parsed is None:
            self._drs_error(404, f"no DRS endpoint at {split.path}")
            return
        object_id, access_id = parsed
        self.state.drs.count(object_id, "lookups" if access_id is None else "access")
        cfg = self.state.drs.get(object_id)
        if cfg is None:
            self._drs_error(404, f"no DRS object with id {object_id}")
        elif self._drs_authorized(cfg):
            if access_id is None:
                self._drs_object(cfg)
            else:
                self._drs_access(cfg, access_id)

    def _drs_authorized(self, cfg):
        """The bearer-token check; answers 401/403 and returns False when it fails."""
        if cfg["token"] is None:
            return True
        given = self.headers.get("Authorization")
        if given is None or not given.startswith("Bearer "):
            self.state.drs.count(cfg["id"], "unauthorized")
            self._drs_error(401, "a bearer token is required",
                            [("WWW-Authenticate", 'Bearer realm="getmfs-origin"')])
            return False
        if given[len("Bearer "):].strip() != cfg["token"]:
            self.state.drs.count(cfg["id"], "unauthorized")
            self._drs_error(403, "the bearer token is not valid for this object")
            return False
        return True

    def _drs_url(self, cfg):
        if cfg["unsigned"]:
            return self.plain_url(cfg["path"])
        return self.signed_url(cfg["path"], expires=cfg["expires"])

    def _drs_object(self, cfg):
        if cfg["status"] is not None:
            self._drs_error(cfg["status"], cfg["msg"] or f"{cfg['status']} injected by the "
                            "test origin")
            return
        facts = self.file_facts(cfg["path"], computed_types(cfg))
        if facts is None:
            self._drs_error(500, f"the object's file {cfg['path']} is gone")
            return
        size, mtime, values = facts
        port = self.server.server_address[1]
        obj = {"id": cfg["id"], "self_uri": f"drs://127.0.0.1:{port}/{cfg['id']}",
               "size": size, "created_time": rfc3339(mtime),
               "checksums": [c if isinstance(c, dict) else {"type": c, "checksum": values[c]}
                             for c in cfg["checksums"]]}
        if cfg["name"] is not None:
            obj["name"] = cfg["name"]
        if cfg["access"] == "url":
            method = {"type": "https", "access_url": {"url": self._drs_url(cfg)}}
        else:
            method = {"type": "https", "access_id": cfg["access_id"]}
        obj["access_methods"] = [method]
        self._json(200, obj)

    def _drs_access(self, cfg, access_id):
        if access_id != cfg["access_id"]:
            self._drs_error(404, f"object {cfg['id']} has no access method {access_id}")
            return
        reply = {"url": self._drs_url(cfg)}
        if cfg["headers"]:
            reply["headers"] = list(cfg["headers"])
        self._json(200, reply)
