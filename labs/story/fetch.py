"""Safe image loading from a URL, a local path, an upload, raw bytes or a PIL image.

The app runs as a public web page, so the URL box is an attack surface (SSRF):
only http/https; every hop (at most 3 redirects) is resolved and each address
checked before connecting, and the connection goes to the checked address, so a
DNS answer cannot change between check and connect. Bodies stop at a size limit,
the whole fetch at a deadline; labs.story.images decodes the body (or an upload)
under the same checks: format, pixel count and memory, all read from the header.

The limits are labs.story.config.FetchLimits. LABS_ALLOW_PRIVATE_URLS=1 (or
allow_private=True) lets loopback, private and link-local hosts through, for
someone running the app on their own network; cloud metadata endpoints,
multicast, reserved and unspecified stay refused.
"""

from __future__ import annotations

import http.client
import ipaddress
import os
import socket
import ssl
import threading
import time
from pathlib import Path
from urllib.parse import quote, urljoin, urlsplit

from PIL import Image

from labs.core.errors import LabsError
from labs.story.config import FetchLimits
from labs.story.images import Upload, decode_image, prepare_image, read_file, read_upload
from labs.story.images import size_text as _size

ALLOW_PRIVATE_ENV = "LABS_ALLOW_PRIVATE_URLS"
USER_AGENT = "Mozilla/5.0 (compatible; labs-image-story/1.0)"
# Cloud instance-metadata endpoints: refused even with the private opt-in.
METADATA_ADDRESSES = frozenset(ipaddress.ip_address(a) for a in (
    "169.254.169.254", "169.254.170.2", "100.100.100.200", "fd00:ec2::254"))
NAT64 = ipaddress.ip_network("64:ff9b::/96")
_PATH_SAFE = "/%:@!$&'()*+,;=-._~"
_QUERY_SAFE = _PATH_SAFE + "?"


def _private_allowed(limits: FetchLimits) -> bool:
    if limits.allow_private is not None:
        return limits.allow_private
    return os.environ.get(ALLOW_PRIVATE_ENV, "").strip().lower() in {"1", "true", "yes", "on"}


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one routes to (mapped, NAT64, 6to4, Teredo), if any."""
    if ip.ipv4_mapped:
        return ip.ipv4_mapped
    if ip in NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip.sixtofour:
        return ip.sixtofour
    if ip.teredo:
        return ip.teredo[1]
    return None


def address_refusal(ip: ipaddress.IPv4Address | ipaddress.IPv6Address, allow_private: bool) -> str | None:
    """Why this address may not be fetched from, or None if it may."""
    if ip.version == 6:
        inner = _embedded_ipv4(ip)
        if inner is not None:
            return address_refusal(inner, allow_private)
    if ip in METADATA_ADDRESSES:
        return "a cloud metadata address"
    if ip.is_unspecified:
        return "an unspecified address"
    if ip.is_multicast:
        return "a multicast address"
    # Loopback before reserved (IPv6 ::1 lies in the reserved ::/8), reserved before
    # private (255.255.255.255 counts as both).
    if ip.is_loopback:
        return None if allow_private else "a loopback address"
    if ip.is_reserved:
        return "a reserved address"
    if ip.is_link_local or ip.is_private:
        return None if allow_private else f"a {'link-local' if ip.is_link_local else 'private'} address"
    if not ip.is_global:  # e.g. carrier-grade NAT 100.64.0.0/10
        return None if allow_private else "a non-public address"
    return None


def _resolve(host: str, port: int, allow_private: bool, timeout: float) -> list[tuple]:
    answer: dict = {}

    def lookup():
        try:
            answer["infos"] = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError) as err:
            answer["error"] = err

    # In a thread, because a DNS lookup ignores socket timeouts.
    t = threading.Thread(target=lookup, daemon=True)
    t.start()
    t.join(max(timeout, 0.01))
    if "infos" not in answer:
        why = answer.get("error") or f"no answer within {timeout:.1f} s"
        raise LabsError(f"cannot resolve host {host!r} ({why}): check the URL")
    infos = answer["infos"]
    # Refuse if ANY answer is off-limits: mixed answers are a classic rebinding trick.
    for *_, sockaddr in infos:
        ip = ipaddress.ip_address(sockaddr[0].split("%")[0])
        why = address_refusal(ip, allow_private)
        if why:
            hint = "" if allow_private or "metadata" in why or "multicast" in why else \
                f"; to fetch from your own network set {ALLOW_PRIVATE_ENV}=1"
            raise LabsError(f"refusing to fetch from {host} ({ip}): {why}{hint}")
    return infos


class _PinnedHTTP(http.client.HTTPConnection):
    """Connects to an already-checked address while sending the original Host header."""

    def __init__(self, host, port, addrs, timeout):
        super().__init__(host, port, timeout=timeout)
        self._addrs = addrs
        self.live: socket.socket | None = None

    def _open(self):
        last = None
        for family, socktype, proto, _, sockaddr in self._addrs:
            sock = socket.socket(family, socktype, proto)
            sock.settimeout(self.timeout)
            try:
                sock.connect(sockaddr)
                return sock
            except OSError as err:
                sock.close()
                last = err
        raise last or OSError("no address")

    def connect(self):
        # http.client drops self.sock once a closing response starts; the body is still
        # read through it, so keep our own handle for timeouts and the watchdog.
        self.sock = self.live = self._open()


class _PinnedHTTPS(_PinnedHTTP):
    default_port = 443

    def connect(self):
        ctx = ssl.create_default_context()
        self.sock = self.live = ctx.wrap_socket(self._open(), server_hostname=self.host)


def fetch_url(url: str, limits: FetchLimits = FetchLimits()) -> bytes:
    """The body of an http(s) URL, within the limits; LabsError with one clear line otherwise."""
    allow_private = _private_allowed(limits)
    deadline = time.monotonic() + limits.total_timeout
    for _ in range(limits.max_redirects + 1):
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https"):
            raise LabsError(f"only http:// and https:// image URLs are allowed, not {scheme or 'no scheme'}://")
        try:
            host, port = parts.hostname, parts.port or (443 if scheme == "https" else 80)
        except ValueError:
            raise LabsError(f"bad port in URL {url!r}") from None
        if not host:
            raise LabsError(f"no host in URL {url!r}")
        addrs = _resolve(host, port, allow_private, deadline - time.monotonic())
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise LabsError(f"timed out after {limits.total_timeout:g} s fetching {url}")
        conn_cls = _PinnedHTTPS if scheme == "https" else _PinnedHTTP
        conn = conn_cls(host, port, addrs, timeout=min(limits.connect_timeout, remaining))
        # Socket timeouts bound each read, not the sum: a server dribbling one byte at
        # a time would outlast them, so a watchdog shuts the socket at the deadline.
        watchdog = threading.Timer(remaining, _shut, [conn])
        watchdog.daemon = True
        watchdog.start()
        try:
            # Browsers send spaces and non-ASCII percent-encoded; http.client refuses them raw.
            path = quote(parts.path or "/", safe=_PATH_SAFE) + (f"?{quote(parts.query, safe=_QUERY_SAFE)}"
                                                                 if parts.query else "")
            conn.request("GET", path, headers={"User-Agent": USER_AGENT, "Accept": "image/*,*/*;q=0.5",
                                               "Accept-Encoding": "identity"})
            conn.live.settimeout(max(0.01, deadline - time.monotonic()))
            resp = conn.getresponse()
            if resp.status in (301, 302, 303, 307, 308):
                location = resp.getheader("Location")
                if not location:
                    raise LabsError(f"HTTP {resp.status} redirect without a Location from {url}")
                url = urljoin(url, location.strip())
                continue
            if resp.status != 200:
                raise LabsError(f"HTTP {resp.status} {resp.reason} for {url}: check the image URL")
            declared = resp.getheader("Content-Length")
            if declared and declared.isdigit() and int(declared) > limits.max_bytes:
                raise LabsError(f"the file at {url} is {_size(int(declared))}, over the {_size(limits.max_bytes)} "
                                "limit: use a smaller image")
            return _read_limited(resp, conn, deadline, limits, url)
        except (OSError, ValueError, http.client.HTTPException) as err:
            if isinstance(err, TimeoutError) or time.monotonic() >= deadline - 0.05:
                raise LabsError(f"timed out after {limits.total_timeout:g} s fetching {url}") from None
            if isinstance(err, ssl.SSLError):
                raise LabsError(f"TLS error fetching {url}: {err.reason or err}") from None
            raise LabsError(f"could not fetch {url}: {err or type(err).__name__}") from None
        finally:
            watchdog.cancel()
            conn.close()
    raise LabsError(f"more than {limits.max_redirects} redirects fetching the image URL")


def _shut(conn: _PinnedHTTP) -> None:
    try:
        if conn.live is not None:
            conn.live.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


def _read_limited(resp, conn, deadline: float, limits: FetchLimits, url: str) -> bytes:
    chunks, size = [], 0
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError
        conn.live.settimeout(remaining)
        chunk = resp.read1(65536) if hasattr(resp, "read1") else resp.read(65536)
        if not chunk:
            if time.monotonic() >= deadline - 0.05:  # the watchdog shut the socket
                raise TimeoutError
            return b"".join(chunks)
        size += len(chunk)
        if size > limits.max_bytes:
            raise LabsError(f"the file at {url} is over the {_size(limits.max_bytes)} limit: use a smaller image")
        chunks.append(chunk)


def looks_like_url(source: str) -> bool:
    scheme = urlsplit(source.strip()).scheme
    return len(scheme) > 1  # "C:\\x.jpg" has the one-letter scheme "c"


def load_image(source, limits: FetchLimits = FetchLimits(), allow_paths: bool = True) -> Image.Image:
    """An RGB PIL image from a URL, a local path (if allow_paths), an Upload, bytes or a PIL image.

    The web tab passes allow_paths=False: a path typed into a public page must not
    read the server's disk. Its uploads come as Upload (Gradio's own copy of the file).
    """
    if isinstance(source, Image.Image):
        return prepare_image(source, limits)
    if isinstance(source, Upload):
        return read_upload(source, limits)
    if isinstance(source, (bytes, bytearray)):
        if len(source) > limits.max_bytes:
            raise LabsError(f"the image is {_size(len(source))}, over the {_size(limits.max_bytes)} limit: "
                            "use a smaller image")
        return decode_image(bytes(source), limits)
    if isinstance(source, Path):
        source = str(source)
    if not isinstance(source, str) or not source.strip():
        raise LabsError("no image given: pass an image URL, a file path or a PIL image" if allow_paths else
                        "no image given: paste an image URL, upload a picture or click an example")
    source = source.strip()
    if looks_like_url(source):
        return decode_image(fetch_url(source, limits), limits, what=f"the file at {source}")
    if not allow_paths:
        raise LabsError(f"{source!r} is not an http(s) URL: paste a link starting with https://, or upload the image")
    return read_file(source, limits)
