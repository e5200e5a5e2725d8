#!/usr/bin/env python3
"""Test origin for getmfs: a static HTTP/1.1 file server that can misbehave.

Serves the files under --root at their relative paths, with byte ranges, ETags,
If-Match, S3/GCS emulation (headers, presigned URLs) and injectable faults.
The control API lives under /__control__/; see README.md next to this file.

Standard library only. Prints exactly "PORT <n>" on stdout once listening and
nothing else on stdout afterwards; logs go to stderr (-v: one line per request,
never with the query string).
"""

import argparse
import base64
import calendar
import email.utils
import fcntl
import hashlib
import hmac
import json
import math
import os
import re
import secrets
import select
import socket
import struct
import sys
import termios
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, quote, unquote, urlencode, urlsplit

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import drs  # noqa: E402  (tests/origin/drs.py, next to this file)

CONTROL_PREFIX = "/__control__/"
READ_CHUNK = 1 << 20
SENDFILE_CHUNK = 8 << 20
IDLE_TIMEOUT_SECONDS = 120
DRAIN_WAIT_SECONDS = 2.0

# ---------------------------------------------------------------------------
# CRC32C (Castagnoli), pure Python, slicing-by-8.

_CRC32C_POLY = 0x82F63B78


def _make_crc32c_tables():
    t0 = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ _CRC32C_POLY if c & 1 else c >> 1
        t0.append(c)
    tables = [t0]
    for _ in range(7):
        prev = tables[-1]
        tables.append([(prev[i] >> 8) ^ t0[prev[i] & 0xFF] for i in range(256)])
    return tables


_CRC_TABLES = _make_crc32c_tables()


def crc32c_update(crc, data):
    """Feeds bytes into a CRC32C register (pre/post inversion done by caller)."""
    t0, t1, t2, t3, t4, t5, t6, t7 = _CRC_TABLES
    view = memoryview(data)
    whole = len(view) - len(view) % 8
    for lo, hi in struct.iter_unpack("<II", view[:whole]):
        lo ^= crc
        crc = (t7[lo & 0xFF] ^ t6[(lo >> 8) & 0xFF] ^ t5[(lo >> 16) & 0xFF] ^
               t4[lo >> 24] ^ t3[hi & 0xFF] ^ t2[(hi >> 8) & 0xFF] ^
               t1[(hi >> 16) & 0xFF] ^ t0[hi >> 24])
    for b in view[whole:]:
        crc = t0[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc


def crc32c(data, value=0):
    return crc32c_update(value ^ 0xFFFFFFFF, data) ^ 0xFFFFFFFF


assert crc32c(b"hello world") == 0xC99465AA
assert crc32c(b"123456789") == 0xE3069283

# ---------------------------------------------------------------------------
# Object digests, computed once per (file identity, content variant).


def _xor_table(value):
    return bytes(b ^ value for b in range(256))


class _Digests:
    def __init__(self):
        self.lock = threading.Lock()
        self.md5 = None        # bytes
        self.crc32c = None     # int
        self.sha256 = None     # bytes
        self.parts = {}        # part size -> list of md5 digests (bytes)


class DigestCache:
    def __init__(self):
        self._lock = threading.Lock()
        self._entries = {}

    def get(self, fd, identity, size, xor, want_crc, part_size, want_sha256=False):
        with self._lock:
            entry = self._entries.get((identity, xor))
            if entry is None:
                entry = self._entries[(identity, xor)] = _Digests()
        with entry.lock:
            need_md5 = entry.md5 is None
            need_crc = want_crc and entry.crc32c is None
            need_sha = want_sha256 and entry.sha256 is None
            need_parts = bool(part_size) and part_size not in entry.parts
            if need_md5 or need_crc or need_sha or need_parts:
                self._compute(fd, size, xor, entry, need_md5, need_crc, need_sha,
                              part_size if need_parts else 0)
            return entry

    @staticmethod
    def _compute(fd, size, xor, entry, need_md5, need_crc, need_sha, part_size):
        md5 = hashlib.md5()
        sha = hashlib.sha256()
        crc = 0xFFFFFFFF
        parts = []
        part_hash = hashlib.md5()
        part_left = part_size
        table = _xor_table(xor) if xor else None
        offset = 0
        while offset < size:
            data = os.pread(fd, min(READ_CHUNK, size - offset), offset)
            if not data:
                break
            offset += len(data)
            if table:
                data = data.translate(table)
            if need_md5:
                md5.update(data)
            if need_crc:
                crc = crc32c_update(crc, data)
            if need_sha:
                sha.update(data)
            if part_size:
                view = memoryview(data)
                while view:
                    take = min(part_left, len(view))
                    part_hash.update(view[:take])
                    view = view[take:]
                    part_left -= take
                    if part_left == 0:
                        parts.append(part_hash.digest())
                        part_hash = hashlib.md5()
                        part_left = part_size
        if need_md5:
            entry.md5 = md5.digest()
        if need_crc:
            entry.crc32c = crc ^ 0xFFFFFFFF
        if need_sha:
            entry.sha256 = sha.digest()
        if part_size:
            if part_left != part_size or not parts:
                parts.append(part_hash.digest())
            entry.parts[part_size] = parts


def s3_etag_hex(digests, part_size):
    """The unquoted S3 ETag: MD5 hex, or "<md5 of the part MD5s>-N" (part_size > 0)."""
    if not part_size:
        return digests.md5.hex()
    parts = digests.parts[part_size]
    return f"{hashlib.md5(b''.join(parts)).hexdigest()}-{len(parts)}"


# ---------------------------------------------------------------------------
# Configuration and faults.

EMULATIONS = ("plain", "s3", "gcs")
CONFIG_KEYS = {
    "path", "emulate", "s3_part_size", "require_signature", "content_md5",
    "content_disposition", "content_disposition_raw", "etag", "goog_hash_split",
    "require_headers", "faults",
}
COMMON_FAULT_KEYS = {"type", "times", "after", "from_offset", "method"}
FAULT_KEYS = {
    "status": {"code", "retry_after", "body", "headers", "content_type"},
    "reset": {"after_bytes"},
    "short": {"after_bytes"},
    "stall": {"after_bytes", "seconds"},
    "close_after_headers": set(),
    "drop": set(),
    "corrupt": {"offset", "xor"},
    "ignore_range": set(),
    "wrong_range": {"shift", "lie"},
    "wide_range": {"to"},
    "delay": {"seconds"},
    "bandwidth": {"bytes_per_second"},
    "change": {"xor"},
    "vanish": set(),
}
FAULT_ALIASES = {"slow_first_byte": "delay", "status_code": "status"}
# Faults that only make sense for (and only count) requests carrying a Range.
RANGE_ONLY_FAULTS = {"ignore_range", "wrong_range", "wide_range"}


class ConfigError(ValueError):
    pass


def _check_int(value, name, minimum=None):
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{name} must be an integer")
    if minimum is not None and value < minimum:
        raise ConfigError(f"{name} must be >= {minimum}")
    return value


def _check_number(value, name):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise ConfigError(f"{name} must be a non-negative number")
    return float(value)


def validate_config(raw):
    if not isinstance(raw, dict):
        raise ConfigError("config must be a JSON object")
    unknown = set(raw) - CONFIG_KEYS
    if unknown:
        raise ConfigError(f"unknown config keys: {sorted(unknown)}")
    path = raw.get("path")
    if not isinstance(path, str) or not path.startswith("/"):
        raise ConfigError("path must be a string starting with /")
    if path.startswith(CONTROL_PREFIX):
        raise ConfigError("the control API cannot be configured")
    cfg = {
        "path": path,
        "emulate": raw.get("emulate", "plain"),
        "s3_part_size": raw.get("s3_part_size", 0) or 0,
        "require_signature": bool(raw.get("require_signature", False)),
        "content_md5": bool(raw.get("content_md5", False)),
        "content_disposition": raw.get("content_disposition"),
        "content_disposition_raw": raw.get("content_disposition_raw"),
        "etag": raw.get("etag", True),
        "goog_hash_split": bool(raw.get("goog_hash_split", False)),
        "require_headers": raw.get("require_headers", {}),
        "faults": [],
    }
    if cfg["emulate"] not in EMULATIONS:
        raise ConfigError(f"emulate must be one of {EMULATIONS}")
    _check_int(cfg["s3_part_size"], "s3_part_size", 0)
    for key in ("content_disposition", "content_disposition_raw"):
        if cfg[key] is not None and not isinstance(cfg[key], str):
            raise ConfigError(f"{key} must be a string")
    if not isinstance(cfg["etag"], (bool, str)):
        raise ConfigError("etag must be true, false or a string")
    check_header_map(cfg["require_headers"], "require_headers")
    faults = raw.get("faults", [])
    if not isinstance(faults, list):
        raise ConfigError("faults must be a list")
    for i, fault in enumerate(faults):
        cfg["faults"].append(validate_fault(fault, i))
    return cfg


def check_header_map(value, name):
    """A {header name: value} object of non-empty names and string values."""
    if not isinstance(value, dict) or not all(
            isinstance(k, str) and k and isinstance(v, str) for k, v in value.items()):
        raise ConfigError(f"{name} must be an object of header name -> string value")
    return value


def validate_fault(raw, index):
    where = f"faults[{index}]"
    if not isinstance(raw, dict):
        raise ConfigError(f"{where} must be an object")
    kind = FAULT_ALIASES.get(raw.get("type"), raw.get("type"))
    if kind not in FAULT_KEYS:
        raise ConfigError(f"{where}.type must be one of {sorted(FAULT_KEYS)}")
    unknown = set(raw) - COMMON_FAULT_KEYS - FAULT_KEYS[kind]
    if unknown:
        raise ConfigError(f"{where}: unknown keys for {kind}: {sorted(unknown)}")
    fault = dict(raw)
    fault["type"] = kind
    fault["times"] = raw.get("times")
    if fault["times"] is not None:
        _check_int(fault["times"], f"{where}.times", 0)
    fault["after"] = _check_int(raw.get("after", 0), f"{where}.after", 0)
    fault["from_offset"] = raw.get("from_offset")
    if fault["from_offset"] is not None:
        _check_int(fault["from_offset"], f"{where}.from_offset", 0)
    method = raw.get("method")
    if method is not None and method not in ("GET", "HEAD"):
        raise ConfigError(f"{where}.method must be GET or HEAD")
    if kind == "status":
        _check_int(raw.get("code"), f"{where}.code", 100)
        if raw["code"] > 599:
            raise ConfigError(f"{where}.code must be <= 599")
        if "retry_after" in raw and not isinstance(raw["retry_after"], (int, str)):
            raise ConfigError(f"{where}.retry_after must be an integer or a string")
        if "body" in raw and not isinstance(raw["body"], str):
            raise ConfigError(f"{where}.body must be a string")
        if "headers" in raw and not isinstance(raw["headers"], dict):
            raise ConfigError(f"{where}.headers must be an object")
    elif kind in ("reset", "short", "stall"):
        fault["after_bytes"] = _check_int(raw.get("after_bytes", 0), f"{where}.after_bytes", 0)
        if kind == "stall":
            fault["seconds"] = _check_number(raw.get("seconds", 3600), f"{where}.seconds")
    elif kind == "corrupt":
        fault["offset"] = _check_int(raw.get("offset"), f"{where}.offset", 0)
        fault["xor"] = _check_int(raw.get("xor", 0xFF), f"{where}.xor", 1)
        if fault["xor"] > 255:
            raise ConfigError(f"{where}.xor must be 1..255")
    elif kind == "wrong_range":
        fault["shift"] = _check_int(raw.get("shift", 1), f"{where}.shift")
        if fault["shift"] == 0:
            raise ConfigError(f"{where}.shift must not be 0")
        fault["lie"] = bool(raw.get("lie", False))
    elif kind == "wide_range":
        fault["to"] = raw.get("to", "object")
        if fault["to"] not in ("object", "end"):
            raise ConfigError(f"{where}.to must be object or end")
    elif kind == "delay":
        fault["seconds"] = _check_number(raw.get("seconds"), f"{where}.seconds")
    elif kind == "bandwidth":
        fault["bytes_per_second"] = _check_int(raw.get("bytes_per_second"),
                                               f"{where}.bytes_per_second", 1)
    elif kind == "change":
        fault["xor"] = _check_int(raw.get("xor", 0x55), f"{where}.xor", 1)
        if fault["xor"] > 255:
            raise ConfigError(f"{where}.xor must be 1..255")
    fault["_seen"] = 0
    return fault


def public_config(cfg):
    out = dict(cfg)
    out["faults"] = [{k: v for k, v in f.items() if not k.startswith("_")}
                     for f in cfg["faults"]]
    return out


DEFAULT_CONFIG = validate_config({"path": "/"})


def _new_path_stats():
    return {
        "requests": 0, "gets": 0, "heads": 0, "range_requests": 0,
        "status_200": 0, "status_206": 0, "status_other": 0, "statuses": {},
        "body_bytes": 0, "if_match": 0, "ranges": [], "connections": set(),
        "faults_fired": {},
    }


class State:
    """Everything shared between connection threads; one lock guards it all."""

    def __init__(self, secret):
        self.lock = threading.Lock()
        self.secret = secret
        self.configs = {}
        self.stats = {}
        self.connections = 0
        self.total_requests = 0
        self.next_conn_id = 0
        self.drs = drs.Registry()

    def new_connection(self):
        with self.lock:
            self.connections += 1
            self.next_conn_id += 1
            return self.next_conn_id

    def reset(self):
        with self.lock:
            self.configs.clear()
            self.stats.clear()
            self.connections = 0
            self.total_requests = 0
        self.drs.reset()

    def set_config(self, cfg):
        with self.lock:
            self.configs[cfg["path"]] = cfg

    def set_require_headers(self, path, headers):
        """Sets one config key of a path, keeping the rest (and its fault counters)."""
        with self.lock:
            cfg = dict(self.configs.get(path) or validate_config({"path": path}))
            cfg["require_headers"] = dict(headers)
            self.configs[path] = cfg

    def config_for(self, path):
        with self.lock:
            return self.configs.get(path, DEFAULT_CONFIG)

    def _path_stats(self, path):
        stats = self.stats.get(path)
        if stats is None:
            stats = self.stats[path] = _new_path_stats()
        return stats

    def record_request(self, path, method, conn_id, range_header, if_match):
        with self.lock:
            self.total_requests += 1
            s = self._path_stats(path)
            s["requests"] += 1
            if method == "GET":
                s["gets"] += 1
            elif method == "HEAD":
                s["heads"] += 1
            if range_header is not None:
                s["range_requests"] += 1
                s["ranges"].append(range_header)
            if if_match is not None:
                s["if_match"] += 1
            s["connections"].add(conn_id)

    def record_status(self, path, code):
        with self.lock:
            s = self._path_stats(path)
            if code == 200:
                s["status_200"] += 1
            elif code == 206:
                s["status_206"] += 1
            else:
                s["status_other"] += 1
            key = str(code)
            s["statuses"][key] = s["statuses"].get(key, 0) + 1

    def record_body_bytes(self, path, n):
        with self.lock:
            self._path_stats(path)["body_bytes"] += n

    def match_faults(self, cfg, method, has_range, req_start, req_end):
        """Advances the per-fault counters; returns {type: fault} of those firing."""
        fired = {}
        with self.lock:
            for fault in cfg["faults"]:
                kind = fault["type"]
                if fault.get("method") and fault["method"] != method:
                    continue
                if kind in RANGE_ONLY_FAULTS and not has_range:
                    continue
                if fault["from_offset"] is not None and req_start < fault["from_offset"]:
                    continue
                if kind == "corrupt" and not (req_start <= fault["offset"] <= req_end):
                    continue
                n = fault["_seen"]
                fault["_seen"] = n + 1
                if n < fault["after"]:
                    continue
                if fault["times"] is not None and n >= fault["after"] + fault["times"]:
                    continue
                if kind == "corrupt":
                    fired.setdefault(kind, []).append(fault)
                else:
                    fired.setdefault(kind, fault)
            if fired:
                s = self._path_stats(cfg["path"])
                for kind, value in fired.items():
                    count = len(value) if isinstance(value, list) else 1
                    s["faults_fired"][kind] = s["faults_fired"].get(kind, 0) + count
        return fired

    def stats_json(self, path=None):
        with self.lock:
            def export(s):
                out = dict(s)
                out["connections"] = len(s["connections"])
                out["ranges"] = list(s["ranges"])
                out["statuses"] = dict(s["statuses"])
                out["faults_fired"] = dict(s["faults_fired"])
                return out
            if path is not None:
                return export(self.stats.get(path, _new_path_stats()))
            return {
                "connections_accepted": self.connections,
                "requests": self.total_requests,
                "paths": {p: export(s) for p, s in self.stats.items()},
            }


# ---------------------------------------------------------------------------
# Signed URLs (a simplified SigV4 / GOOG4 scheme; see README.md).

DATE_FORMAT = "%Y%m%dT%H%M%SZ"


def parse_amz_date(text):
    try:
        return calendar.timegm(time.strptime(text, DATE_FORMAT))
    except (ValueError, TypeError):
        return None


def string_to_sign(path, date, expires):
    return f"GET\n{path}\n{date}\n{expires}"


def signature(secret, path, date, expires):
    return hmac.new(secret, string_to_sign(path, date, expires).encode(),
                    hashlib.sha256).hexdigest()


def signed_query(secret, style, path, date, expires):
    sig = signature(secret, path, date, expires)
    if style == "gcs":
        params = [
            ("X-Goog-Algorithm", "GOOG4-RSA-SHA256"),
            ("X-Goog-Credential",
             f"tester@getmfs-test.iam.gserviceaccount.com/{date[:8]}/auto/storage/goog4_request"),
            ("X-Goog-Date", date),
            ("X-Goog-Expires", str(expires)),
            ("X-Goog-SignedHeaders", "host"),
            ("X-Goog-Signature", sig),
        ]
    else:
        params = [
            ("X-Amz-Algorithm", "AWS4-HMAC-SHA256"),
            ("X-Amz-Credential", f"AKIAGETMFSTEST/{date[:8]}/us-east-1/s3/aws4_request"),
            ("X-Amz-Date", date),
            ("X-Amz-Expires", str(expires)),
            ("X-Amz-SignedHeaders", "host"),
            ("X-Amz-Signature", sig),
        ]
    return urlencode(params, quote_via=quote, safe="")


def iso_time(epoch):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


# ---------------------------------------------------------------------------
# HTTP.


class ClientGone(Exception):
    """The connection is unusable; stop handling it quietly."""


def parse_range(header, size):
    """Returns None (serve whole), ("ok", start, end) or ("unsatisfiable", start)."""
    if header is None:
        return None
    spec = header.strip()
    if not spec.lower().startswith("bytes="):
        return None
    spec = spec[6:].strip()
    if "," in spec:
        return None  # multipart/byteranges is not supported: serve the whole object
    first, sep, last = spec.partition("-")
    first, last = first.strip(), last.strip()
    if not sep:
        return None
    if first == "":
        if not last.isdigit():
            return None
        n = int(last)
        if n == 0 or size == 0:
            return ("unsatisfiable", 0)
        return ("ok", max(0, size - n), size - 1)
    if not first.isdigit() or (last and not last.isdigit()):
        return None
    start = int(first)
    if last and int(last) < start:
        return None  # syntactically invalid: ignore the header (RFC 9110 14.1.1)
    if start >= size:
        return ("unsatisfiable", start)
    end = int(last) if last else size - 1
    return ("ok", start, min(end, size - 1))


class TokenBucket:
    def __init__(self, rate):
        self.rate = rate
        self.capacity = max(4096, rate // 10)
        self.tokens = self.capacity
        self.stamp = time.monotonic()

    def chunk_size(self):
        return max(1, min(64 * 1024, self.capacity))

    def take(self, n):
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens < n:
            time.sleep((n - self.tokens) / self.rate)
            self.tokens = n
            self.stamp = time.monotonic()
        self.tokens -= n


_QUERY_RE = re.compile(r"\?[^\s'\"]*")


class OriginHandler(drs.HandlerMixin, BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = IDLE_TIMEOUT_SECONDS
    error_content_type = "text/plain; charset=utf-8"
    error_message_format = "%(code)d %(message)s\n"

    # -- plumbing ---------------------------------------------------------

    def setup(self):
        super().setup()
        self.state = self.server.state
        self.conn_id = self.state.new_connection()
        self.buckets = {}
        self.server_header = "getmfs-origin"
        self.stats_path = None
        self.headers_sent = False

    def version_string(self):
        return self.server_header

    def log_message(self, fmt, *args):
        if self.server.verbose:
            # Never log a query string (signed URLs carry credentials).
            text = _QUERY_RE.sub("?<redacted>", fmt % args)
            sys.stderr.write(f"origin: {text}\n")

    def log_request(self, code="-", size="-"):
        if self.server.verbose:
            path = urlsplit(getattr(self, "path", "") or "").path
            sys.stderr.write(f"origin: conn={self.conn_id} {self.command} {path} {code}\n")

    def send_response(self, code, message=None):
        super().send_response(code, message)
        if self.stats_path is not None:
            self.state.record_status(self.stats_path, code)

    def end_headers(self):
        super().end_headers()
        self.headers_sent = True

    def handle_one_request(self):
        self.stats_path = None
        self.headers_sent = False
        try:
            super().handle_one_request()
        except (ClientGone, ConnectionError, TimeoutError, OSError, ValueError):
            self.close_connection = True

    def finish(self):
        try:
            super().finish()
        except OSError:
            pass

    def _dispatch(self, func):
        try:
            func()
        except (ClientGone, ConnectionError, TimeoutError):
            self.close_connection = True
        except Exception:  # pylint: disable=broad-except
            sys.stderr.write("origin: internal error:\n" + traceback.format_exc())
            self.close_connection = True
            if not self.headers_sent:
                try:
                    self._simple(500, "internal error in test origin\n")
                except OSError:
                    pass

    def do_GET(self):
        self._dispatch(self._handle)

    def do_HEAD(self):
        self._dispatch(self._handle)

    def do_POST(self):
        self._dispatch(self._handle)

    def _simple(self, code, body, content_type="text/plain; charset=utf-8",
                headers=(), head=False):
        data = body.encode() if isinstance(body, str) else body
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        if data and not head:
            self._write(data, count=False)

    def _write(self, data, count=True):
        """Writes body bytes; count=True adds them to the path's body_bytes."""
        try:
            self.wfile.write(data)
        except OSError as e:
            raise ClientGone() from e
        if count and self.stats_path is not None:
            self.state.record_body_bytes(self.stats_path, len(data))

    def _json(self, code, obj):
        self._simple(code, json.dumps(obj, indent=1, sort_keys=True) + "\n",
                     "application/json")

    def _read_body(self):
        length = self.headers.get("Content-Length")
        if length is None:
            return b""
        try:
            n = int(length)
        except ValueError:
            raise ClientGone()
        return self.rfile.read(n)

    def _handle(self):
        split = urlsplit(self.path)
        if split.path.startswith(CONTROL_PREFIX):
            self._control(split)
        elif split.path.startswith(drs.PREFIX):
            self._drs(split)
        elif self.command == "POST":
            self._read_body()
            self._simple(405, "method not allowed\n", headers=[("Allow", "GET, HEAD")])
        else:
            self._object(split)

    # -- control API ------------------------------------------------------

    def _control(self, split):
        name = split.path[len(CONTROL_PREFIX):]
        query = parse_qs(split.query, keep_blank_values=True)
        body = self._read_body() if self.command == "POST" else b""

        def arg(key, default=None):
            values = query.get(key)
            return values[0] if values else default

        if name == "health":
            self._json(200, {"ok": True})
        elif name == "config" and self.command == "POST":
            try:
                raw = json.loads(body.decode() or "null")
                items = raw if isinstance(raw, list) else [raw]
                configs = [validate_config(item) for item in items]
            except (ValueError, UnicodeDecodeError) as e:
                self._json(400, {"ok": False, "error": str(e)})
                return
            for cfg in configs:
                self.state.set_config(cfg)
                self._warm_digests(cfg)
            self._json(200, {"ok": True, "paths": [c["path"] for c in configs]})
        elif name == "config" and self.command == "GET":
            with self.state.lock:
                configs = {p: public_config(c) for p, c in self.state.configs.items()}
            path = arg("path")
            if path is not None:
                self._json(200, configs.get(path, public_config(DEFAULT_CONFIG)))
            else:
                self._json(200, configs)
        elif name == "reset" and self.command == "POST":
            self.state.reset()
            self._json(200, {"ok": True})
        elif name == "stats" and self.command == "GET":
            self._json(200, self.state.stats_json(arg("path")))
        elif name == "sign" and self.command == "GET":
            self._sign(arg)
        elif name == "drs" and self.command == "POST":
            self._configure_drs(body)
        elif name == "drs_stats" and self.command == "GET":
            self._json(200, self.state.drs.stats_json())
        else:
            self._json(404, {"ok": False, "error": f"unknown control endpoint {name}"})

    def _warm_digests(self, cfg):
        """Computes the digests a config will need now, not during a test's request."""
        fs_path = self._resolve(cfg["path"])
        if fs_path is None:
            return
        try:
            fd = os.open(fs_path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            return
        try:
            st = os.fstat(fd)
            if st.st_mode & 0o170000 != 0o100000:
                return
            identity = (st.st_dev, st.st_ino, st.st_mtime_ns, st.st_size)
            part_size = cfg["s3_part_size"] if cfg["emulate"] == "s3" else 0
            xors = {0} | {f["xor"] for f in cfg["faults"] if f["type"] == "change"}
            for xor in sorted(xors):
                self.server.digests.get(fd, identity, st.st_size, xor,
                                        cfg["emulate"] == "gcs", part_size)
        finally:
            os.close(fd)

    def _sign(self, arg):
        path = arg("path")
        if not path or not path.startswith("/"):
            self._json(400, {"ok": False, "error": "path must start with /"})
            return
        emulate = self.signing_style(path, arg("emulate"))
        try:
            expires = int(arg("expires", "3600"))
        except ValueError:
            self._json(400, {"ok": False, "error": "expires must be an integer"})
            return
        date = arg("date") or time.strftime(DATE_FORMAT, time.gmtime())
        if parse_amz_date(date) is None:
            self._json(400, {"ok": False, "error": "date must look like 20240101T000000Z"})
            return
        self._json(200, {"url": self.signed_url(path, emulate, expires, date),
                         "emulate": emulate, "date": date, "expires": expires})

    def base_url(self):
        host, port = self.server.server_address[:2]
        return f"{'https' if self.server.tls else 'http'}://{host}:{port}"

    def plain_url(self, path):
        return self.base_url() + quote(path, safe="/-_.~")

    def signing_style(self, path, emulate=None):
        """s3 or gcs: emulate if given, else the path's emulation (s3 when plain)."""
        emulate = emulate or self.state.config_for(path)["emulate"]
        return emulate if emulate in ("s3", "gcs") else "s3"

    def signed_url(self, path, emulate=None, expires=3600, date=None):
        """A presigned URL for path; emulate None: the path's (s3 when plain)."""
        emulate = self.signing_style(path, emulate)
        date = date or time.strftime(DATE_FORMAT, time.gmtime())
        wire_path = quote(path, safe="/-_.~")
        query = signed_query(self.state.secret, emulate, wire_path, date, expires)
        return f"{self.plain_url(path)}?{query}"

    def file_facts(self, path, kinds):
        """(size, mtime, {kind: value}) of the file at URL path, or None when missing.

        kinds: a subset of drs.CHECKSUM_TYPES ("md5", "sha-256", "crc32c", "etag").
        """
        fs_path = self._resolve(path)
        if fs_path is None:
            return None
        try:
            fd = os.open(fs_path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            return None
        try:
            st = os.fstat(fd)
            if st.st_mode & 0o170000 != 0o100000:
                return None
            part_size = self.state.config_for(path)["s3_part_size"] if "etag" in kinds else 0
            identity = (st.st_dev, st.st_ino, st.st_mtime_ns, st.st_size)
            d = self.server.digests.get(fd, identity, st.st_size, 0, "crc32c" in kinds,
                                        part_size, want_sha256="sha-256" in kinds)
        finally:
            os.close(fd)
        values = {"md5": lambda: d.md5.hex(), "sha-256": lambda: d.sha256.hex(),
                  "crc32c": lambda: f"{d.crc32c:08x}",
                  "etag": lambda: s3_etag_hex(d, part_size)}
        return st.st_size, st.st_mtime, {k: values[k]() for k in kinds}

    # -- objects ----------------------------------------------------------

    def _resolve(self, path):
        root = self.server.root
        candidate = os.path.realpath(os.path.join(root, path.lstrip("/")))
        if candidate != root and not candidate.startswith(root + os.sep):
            return None
        return candidate

    def _object(self, split):
        method = self.command
        head = method == "HEAD"
        path = unquote(split.path)
        cfg = self.state.config_for(path)
        emulate = cfg["emulate"]
        self.stats_path = path
        range_header = self.headers.get("Range")
        if_match = self.headers.get("If-Match")
        self.state.record_request(path, method, self.conn_id, range_header, if_match)
        self.server_header = {"s3": "AmazonS3", "gcs": "UploadServer"}.get(
            emulate, "getmfs-origin")
        self.request_id = secrets.token_hex(8).upper()

        fd = -1
        fs_path = self._resolve(path)
        try:
            if fs_path is not None:
                try:
                    fd = os.open(fs_path, os.O_RDONLY | os.O_CLOEXEC)
                    st = os.fstat(fd)
                    if not (st.st_mode & 0o170000 == 0o100000):
                        os.close(fd)
                        fd = -1
                except OSError:
                    fd = -1
            size = st.st_size if fd >= 0 else 0
            parsed = parse_range(range_header, size) if fd >= 0 else None
            if parsed is not None and parsed[0] == "ok":
                req_start, req_end = parsed[1], parsed[2]
            elif parsed is not None:
                req_start, req_end = parsed[1], parsed[1]
            else:
                req_start, req_end = 0, max(0, size - 1)
            fired = self.state.match_faults(cfg, method, range_header is not None,
                                            req_start, req_end)
            if "bandwidth" in fired:
                rate = fired["bandwidth"]["bytes_per_second"]
                bucket = self.buckets.get(path)
                if bucket is None or bucket.rate != rate:
                    bucket = self.buckets[path] = TokenBucket(rate)
            else:
                bucket = None
            if "delay" in fired:
                time.sleep(fired["delay"]["seconds"])
            if "drop" in fired:
                self._abort(wait_for_drain=False)
                return
            if "status" in fired:
                self._status_fault(fired["status"], head)
                return
            if not self._check_signature(cfg, split, head):
                return
            if not self._check_required_headers(cfg, head):
                return
            if fd < 0 or "vanish" in fired:
                self._not_found(emulate, path, head)
                return
            self._serve(fd, st, cfg, fired, parsed, bucket, if_match, head)
        finally:
            if fd >= 0:
                os.close(fd)

    def _status_fault(self, fault, head):
        code = fault["code"]
        body = fault.get("body")
        if body is None:
            body = f"{code} injected by the test origin\n"
        headers = []
        if "retry_after" in fault:
            headers.append(("Retry-After", str(fault["retry_after"])))
        for name, value in fault.get("headers", {}).items():
            headers.append((name, str(value)))
        headers.extend(self._emulation_ids())
        if code in (204, 304) or code < 200:
            self.send_response(code)
            for name, value in headers:
                self.send_header(name, value)
            if code >= 200:
                self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self._simple(code, body, fault.get("content_type", "text/plain; charset=utf-8"),
                     headers, head)

    def _emulation_ids(self):
        emulate = self.state.config_for(self.stats_path)["emulate"]
        if emulate == "s3":
            return [("x-amz-request-id", self.request_id),
                    ("x-amz-id-2", base64.b64encode(self.request_id.encode() * 3).decode())]
        if emulate == "gcs":
            return [("X-GUploader-UploadID", "getmfs-" + self.request_id.lower())]
        return []

    def _xml_error(self, code, error_code, message, head, extra=""):
        body = ('<?xml version="1.0" encoding="UTF-8"?>\n'
                f"<Error><Code>{error_code}</Code><Message>{message}</Message>{extra}"
                f"<RequestId>{self.request_id}</RequestId></Error>")
        self._simple(code, body, "application/xml", self._emulation_ids(), head)

    def _not_found(self, emulate, path, head):
        if emulate in ("s3", "gcs"):
            self._xml_error(404, "NoSuchKey", "The specified key does not exist.", head,
                            f"<Key>{path.lstrip('/')}</Key>")
        else:
            self._simple(404, "not found\n", head=head)

    def _check_required_headers(self, cfg, head):
        """require_headers: each header must be present with exactly that value."""
        for name, value in cfg["require_headers"].items():
            if (self.headers.get(name) or "").strip() != value:
                self._xml_error(403, "AccessDenied", "missing access header", head,
                                f"<Header>{name}</Header>")
                return False
        return True

    def _check_signature(self, cfg, split, head):
        """Returns True when the request may proceed; otherwise has responded."""
        query = parse_qs(split.query, keep_blank_values=True)
        params = {k.lower(): v[0] for k, v in query.items()}
        if any(k.startswith("x-amz-") for k in params):
            style, prefix = "s3", "x-amz-"
        elif any(k.startswith("x-goog-") for k in params):
            style, prefix = "gcs", "x-goog-"
        else:
            if cfg["require_signature"]:
                if cfg["emulate"] == "gcs":
                    self._xml_error(403, "AccessDenied", "Access denied.", head,
                                    "<Details>Anonymous caller does not have "
                                    "storage.objects.get access to the object.</Details>")
                else:
                    self._xml_error(403, "AccessDenied", "Access Denied", head)
                return False
            return True
        if head and cfg["emulate"] in ("s3", "gcs"):
            # A presigned URL is signed for GET; HEAD computes another signature.
            self.send_response(403)
            for name, value in self._emulation_ids():
                self.send_header(name, value)
            self.send_header("Content-Type", "application/xml")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return False
        algorithm = params.get(prefix + "algorithm")
        date = params.get(prefix + "date")
        expires = params.get(prefix + "expires")
        sig = params.get(prefix + "signature")
        credential = params.get(prefix + "credential")
        signed_headers = params.get(prefix + "signedheaders")
        good_algorithms = ({"AWS4-HMAC-SHA256"} if style == "s3"
                           else {"GOOG4-RSA-SHA256", "GOOG4-HMAC-SHA256"})
        date_epoch = parse_amz_date(date)
        if (algorithm not in good_algorithms or not credential or signed_headers is None
                or date_epoch is None or expires is None or not expires.isdigit()
                or sig is None):
            if style == "s3":
                self._xml_error(400, "AuthorizationQueryParametersError",
                                "Query-string authentication version 4 requires the "
                                "X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, "
                                "X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires "
                                "parameters.", head)
            else:
                self._xml_error(400, "InvalidArgument", "Invalid argument.", head,
                                "<Details>Missing or malformed X-Goog signature "
                                "parameters.</Details>")
            return False
        expected = signature(self.state.secret, split.path, date, expires)
        if not hmac.compare_digest(expected, sig.lower()):
            if style == "s3":
                self._xml_error(403, "SignatureDoesNotMatch",
                                "The request signature we calculated does not match the "
                                "signature you provided. Check your key and signing "
                                "method.", head)
            else:
                self._xml_error(403, "SignatureDoesNotMatch",
                                "The request signature we calculated does not match the "
                                "signature you provided. Check your Google secret key "
                                "and signing method.", head)
            return False
        expiry = date_epoch + int(expires)
        now = time.time()
        if now > expiry:
            if style == "s3":
                self._xml_error(403, "AccessDenied", "Request has expired", head,
                                f"<X-Amz-Expires>{expires}</X-Amz-Expires>"
                                f"<Expires>{iso_time(expiry)}</Expires>"
                                f"<ServerTime>{iso_time(now)}</ServerTime>")
            else:
                at = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(expiry))
                self._xml_error(400, "ExpiredToken", "The provided token has expired.",
                                head, "<Details>The provided token has expired. Request "
                                f"signature expired at: {at}</Details>")
            return False
        return True

    def _serve(self, fd, st, cfg, fired, parsed, bucket, if_match, head):
        emulate = cfg["emulate"]
        size = st.st_size
        change = fired.get("change")
        xor = change["xor"] if change else 0
        identity = (st.st_dev, st.st_ino, st.st_mtime_ns, size)
        part_size = cfg["s3_part_size"] if emulate == "s3" else 0
        digests = self.server.digests.get(fd, identity, size, xor, emulate == "gcs",
                                          part_size)
        if cfg["etag"] is False:
            etag = None
        elif isinstance(cfg["etag"], str):
            etag = cfg["etag"] if cfg["etag"].startswith(('"', 'W/"')) else f'"{cfg["etag"]}"'
            if change:
                etag = etag[:-1] + '-changed"'
        else:
            etag = f'"{s3_etag_hex(digests, part_size)}"'

        if if_match is not None:
            wanted = [t.strip() for t in if_match.split(",")]
            if "*" not in wanted and (etag is None or etag not in wanted):
                if emulate in ("s3", "gcs"):
                    self._xml_error(412, "PreconditionFailed",
                                    "At least one of the pre-conditions you specified did "
                                    "not hold", head, "<Condition>If-Match</Condition>")
                else:
                    self._simple(412, "precondition failed\n", head=head)
                return

        if parsed is not None and "ignore_range" in fired:
            parsed = None
        if parsed is not None and parsed[0] == "unsatisfiable":
            headers = [("Content-Range", f"bytes */{size}")] + self._emulation_ids()
            if emulate in ("s3", "gcs"):
                self._xml_error(416, "InvalidRange",
                                "The requested range is not satisfiable", head,
                                f"<RangeRequested>{self.headers.get('Range')}</RangeRequested>"
                                f"<ActualObjectSize>{size}</ActualObjectSize>")
            else:
                self._simple(416, "range not satisfiable\n", headers=headers, head=head)
            return

        if parsed is None:
            code, body_start, length, content_range = 200, 0, size, None
        else:
            start, end = parsed[1], parsed[2]
            length = end - start + 1
            body_start = start
            content_range = f"bytes {start}-{end}/{size}"
            wrong = fired.get("wrong_range")
            if wrong:
                if wrong["lie"]:
                    body_start = min(max(0, start + wrong["shift"]), size - length)
                else:
                    s2 = min(max(0, start + wrong["shift"]), size - 1)
                    e2 = min(max(s2, end + wrong["shift"]), size - 1)
                    body_start, length = s2, e2 - s2 + 1
                    content_range = f"bytes {s2}-{e2}/{size}"
            wide = fired.get("wide_range")
            if wide:
                # A truthful label wider than asked: the whole object, or on to its end.
                s2 = start if wide["to"] == "end" else 0
                body_start, length = s2, size - s2
                content_range = f"bytes {s2}-{size - 1}/{size}"
            code = 206

        mtime = st.st_mtime + (1 if change else 0)
        self.send_response(code)
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Type",
                         "binary/octet-stream" if emulate == "s3" else "application/octet-stream")
        self.send_header("Content-Length", str(length))
        if content_range:
            self.send_header("Content-Range", content_range)
        if etag is not None:
            self.send_header("ETag", etag)
        self.send_header("Last-Modified", email.utils.formatdate(mtime, usegmt=True))
        for name, value in self._emulation_ids():
            self.send_header(name, value)
        if emulate == "gcs":
            crc_b64 = base64.b64encode(struct.pack(">I", digests.crc32c)).decode()
            md5_b64 = base64.b64encode(digests.md5).decode()
            if cfg["goog_hash_split"]:
                self.send_header("x-goog-hash", f"crc32c={crc_b64}")
                self.send_header("x-goog-hash", f"md5={md5_b64}")
            else:
                self.send_header("x-goog-hash", f"crc32c={crc_b64},md5={md5_b64}")
            self.send_header("x-goog-generation",
                             str(st.st_mtime_ns // 1000 + (1 if change else 0)))
            self.send_header("x-goog-metageneration", "1")
            self.send_header("x-goog-stored-content-length", str(size))
            self.send_header("x-goog-stored-content-encoding", "identity")
            self.send_header("x-goog-storage-class", "STANDARD")
        if cfg["content_md5"]:
            self.send_header("Content-MD5", base64.b64encode(digests.md5).decode())
        if cfg["content_disposition_raw"] is not None:
            self.send_header("Content-Disposition", cfg["content_disposition_raw"])
        elif cfg["content_disposition"] is not None:
            self.send_header("Content-Disposition",
                             content_disposition(cfg["content_disposition"]))
        self.end_headers()
        if head:
            return

        limit = length
        ending = None
        for kind in ("close_after_headers", "reset", "short", "stall"):
            if kind in fired:
                ending = fired[kind]
                limit = 0 if kind == "close_after_headers" else min(length, ending["after_bytes"])
                break
        corrupt = fired.get("corrupt", [])
        if xor or corrupt or bucket or self.server.tls:   # (sendfile would bypass TLS)
            self._send_transformed(fd, body_start, limit, xor, corrupt, bucket)
        else:
            self._sendfile(fd, body_start, limit)
        if ending is None:
            return
        kind = ending["type"]
        if kind == "reset":
            self._abort(wait_for_drain=True)
        elif kind == "stall":
            time.sleep(ending["seconds"])
            self.close_connection = True
        else:
            self.close_connection = True

    def _sendfile(self, fd, offset, count):
        sock = self.connection
        sent = 0
        while sent < count:
            try:
                n = os.sendfile(sock.fileno(), fd, offset + sent,
                                min(count - sent, SENDFILE_CHUNK))
            except (BlockingIOError, InterruptedError):
                _, writable, _ = select.select([], [sock], [], IDLE_TIMEOUT_SECONDS)
                if not writable:
                    raise ClientGone()
                continue
            except OSError as e:
                raise ClientGone() from e
            if n == 0:
                # The file shrank under us; the promised length cannot be met.
                self._abort(wait_for_drain=False)
                raise ClientGone()
            sent += n
            self.state.record_body_bytes(self.stats_path, n)

    def _send_transformed(self, fd, offset, count, xor, corrupt, bucket):
        table = _xor_table(xor) if xor else None
        chunk = bucket.chunk_size() if bucket else READ_CHUNK
        pos = offset
        end = offset + count
        while pos < end:
            data = os.pread(fd, min(chunk, end - pos), pos)
            if not data:
                self._abort(wait_for_drain=False)
                raise ClientGone()
            if table:
                data = data.translate(table)
            if corrupt:
                buf = None
                for fault in corrupt:
                    rel = fault["offset"] - pos
                    if 0 <= rel < len(data):
                        buf = buf or bytearray(data)
                        buf[rel] ^= fault["xor"]
                if buf is not None:
                    data = bytes(buf)
            if bucket:
                bucket.take(len(data))
            self._write(data)
            pos += len(data)

    def _abort(self, wait_for_drain):
        """Closes the connection with a TCP RST (SO_LINGER 0)."""
        self.close_connection = True
        sock = self.connection
        try:
            if wait_for_drain:
                # Let the peer receive what was written before the reset discards it.
                deadline = time.monotonic() + DRAIN_WAIT_SECONDS
                while time.monotonic() < deadline:
                    buf = fcntl.ioctl(sock.fileno(), termios.TIOCOUTQ, b"\0\0\0\0")
                    if struct.unpack("i", buf)[0] == 0:
                        break
                    time.sleep(0.002)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            os.close(sock.detach())
        except OSError:
            pass


def content_disposition(filename):
    try:
        filename.encode("ascii")
        escaped = filename.replace("\\", "\\\\").replace('"', '\\"')
        return f'attachment; filename="{escaped}"'
    except UnicodeEncodeError:
        fallback = filename.encode("ascii", "replace").decode().replace('"', "_")
        return (f'attachment; filename="{fallback}"; '
                f"filename*=UTF-8''{quote(filename, safe='')}")


class OriginServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    request_queue_size = 512

    def handle_error(self, request, client_address):
        exc = sys.exc_info()[1]
        if isinstance(exc, (ClientGone, ConnectionError, TimeoutError, OSError)):
            return
        sys.stderr.write("origin: error while handling a connection:\n" +
                         traceback.format_exc())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", required=True, help="directory to serve")
    parser.add_argument("--bind", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--secret", default=None,
                        help="HMAC key for signed URLs (default: random per run)")
    parser.add_argument("--exit-on-stdin-eof", action="store_true",
                        help="exit when stdin reaches end of file (parent died)")
    parser.add_argument("--tls-cert", default=None, help="serve HTTPS with this certificate (PEM)")
    parser.add_argument("--tls-key", default=None, help="and this private key (PEM)")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args()

    root = os.path.realpath(args.root)
    if not os.path.isdir(root):
        sys.stderr.write(f"origin: --root {args.root} is not a directory\n")
        return 2
    secret = (args.secret.encode() if args.secret is not None
              else secrets.token_bytes(32))
    try:
        server = OriginServer((args.bind, args.port), OriginHandler)
    except OSError as e:
        sys.stderr.write(f"origin: cannot listen on {args.bind}:{args.port}: {e}\n")
        return 1
    server.tls = bool(args.tls_cert)
    if server.tls:
        import ssl
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(args.tls_cert, args.tls_key)
        server.socket = context.wrap_socket(server.socket, server_side=True)
    server.root = root
    server.verbose = args.verbose
    server.digests = DigestCache()
    server.state = State(secret)
    sys.stdout.write(f"PORT {server.server_address[1]}\n")
    sys.stdout.flush()
    sys.stdout = sys.stderr  # nothing else may reach stdout

    if args.exit_on_stdin_eof:
        def watch_stdin():
            try:
                while os.read(0, 4096):
                    pass
            except OSError:
                pass
            os._exit(0)
        threading.Thread(target=watch_stdin, daemon=True).start()

    try:
        server.serve_forever(poll_interval=0.5)
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
