"""Safe image loading from a URL, a local path, raw bytes or a PIL image.

The app runs as a public web page, so the URL box is an attack surface (SSRF):
only http/https; every hop (at most 3 redirects) is resolved and each address
checked before connecting, and the connection goes to the checked address, so a
DNS answer cannot change between check and connect. Bodies stop at a size limit,
images at a pixel limit (decompression bombs), the whole fetch at a deadline.

The limits are labs.story.config.FetchLimits. LABS_ALLOW_PRIVATE_URLS=1 (or
allow_private=True) lets loopback, private and link-local hosts through, for
someone running the app on their own network; cloud metadata endpoints,
multicast, reserved and unspecified stay refused.
"""

from __future__ import annotations

import http.client
import io
import ipaddress
import os
import socket
import ssl
import threading
import time
from pathlib import Path
from urllib.parse import quote, urljoin, urlsplit

from PIL import Image, ImageOps, UnidentifiedImageError

from labs.core.errors import LabsError
from labs.story.config import FetchLimits

ALLOW_PRIVATE_ENV = "LABS_ALLOW_PRIVATE_URLS"
USER_AGENT = "Mozilla/5.0 (compatible; labs-image-story/1.0)"
# Cloud instance-metadata endpoints: refused even with the private opt-in.
METADATA_ADDRESSES = frozenset(ipaddress.ip_address(a) for a in (
    "169.254.169.254", "169.254.170.2", "100.100.100.200", "fd00:ec2::254"))
NAT64 = ipaddress.ip_network("64:ff9b::/96")
_PATH_SAFE = "/%:@!$&'()*+,;=-._~"
_QUERY_SAFE = _PATH_SAFE + "?"


def _size(n: int) -> str:
    return f"{n / 2**20:.1f} MB" if n >= 2**20 else f"{n / 1024:.0f} KB" if n >= 1024 else f"{n} bytes"


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


def decode_image(data: bytes | io.BufferedIOBase, limits: FetchLimits = FetchLimits(),
                 what: str = "the data") -> Image.Image:
    """Decode with Pillow under the pixel limit, apply EXIF orientation, convert to RGB."""
    stream = io.BytesIO(data) if isinstance(data, (bytes, bytearray)) else data
    try:
        img = Image.open(stream)
    except Image.DecompressionBombError:
        raise LabsError(f"{what} declares far too many pixels (over the {limits.max_pixels / 1e6:g} MP "
                        "limit): use a smaller image") from None
    except UnidentifiedImageError:
        raise LabsError(f"{what} is not an image Pillow can read (JPEG, PNG, WebP, GIF, ...)") from None
    except (OSError, ValueError, SyntaxError) as err:
        raise LabsError(f"{what} is a damaged or truncated image ({err})") from None
    w, h = img.size
    if w * h > limits.max_pixels:
        raise LabsError(f"{what} is {w}x{h} pixels, over the {limits.max_pixels / 1e6:g} MP limit: "
                        "use a smaller image")
    return prepare_image(img, limits, what)


def prepare_image(img: Image.Image, limits: FetchLimits = FetchLimits(), what: str = "the image") -> Image.Image:
    w, h = img.size
    if w * h > limits.max_pixels:
        raise LabsError(f"{what} is {w}x{h} pixels, over the {limits.max_pixels / 1e6:g} MP limit")
    try:
        # JPEG can decode at 1/2, 1/4, 1/8 scale: far less memory and time for big photos.
        img.draft("RGB", (limits.max_side, limits.max_side))
        img = ImageOps.exif_transpose(img)
        if "A" in img.getbands() or "transparency" in img.info:
            # Transparent pixels would turn black in a plain convert; BLIP sees white paper instead.
            rgba = img.convert("RGBA")
            img = Image.new("RGB", rgba.size, "white")
            img.paste(rgba, mask=rgba.getchannel("A"))
        else:
            img = img.convert("RGB")
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as err:
        raise LabsError(f"{what} is a damaged or truncated image ({err})") from None
    img.thumbnail((limits.max_side, limits.max_side))
    return img


def looks_like_url(source: str) -> bool:
    scheme = urlsplit(source.strip()).scheme
    return len(scheme) > 1  # "C:\\x.jpg" has the one-letter scheme "c"


def load_image(source, limits: FetchLimits = FetchLimits(), allow_paths: bool = True) -> Image.Image:
    """An RGB PIL image from a URL, a local path (if allow_paths), bytes or a PIL image.

    The web tab passes allow_paths=False: a path typed into a public page must not
    read the server's disk.
    """
    if isinstance(source, Image.Image):
        return prepare_image(source, limits)
    if isinstance(source, (bytes, bytearray)):
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
    path = Path(source).expanduser()
    if not path.is_file():
        raise LabsError(f"image file not found: {path}")
    if path.stat().st_size > limits.max_bytes:
        raise LabsError(f"{path} is over the {_size(limits.max_bytes)} limit: use a smaller image")
    with path.open("rb") as f:
        return decode_image(f.read(), limits, what=str(path))
