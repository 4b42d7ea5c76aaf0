"""labs.story.fetch against a local HTTP server: what is fetched, what is refused, and how fast."""

from __future__ import annotations

import io
import ipaddress
import struct
import threading
import time
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from PIL import Image

from labs.core.errors import LabsError
from labs.story import fetch
from labs.story.config import FetchLimits
from labs.story.fetch import address_refusal, load_image

OPT_IN = FetchLimits(allow_private=True)
NO_OPT_IN = FetchLimits(allow_private=False)


def _jpeg(size=(40, 20), color="red", orientation=None) -> bytes:
    buf = io.BytesIO()
    exif = Image.Exif()
    if orientation:
        exif[0x0112] = orientation
    Image.new("RGB", size, color).save(buf, "JPEG", exif=exif.tobytes())
    return buf.getvalue()


def _png_header(width: int, height: int) -> bytes:
    """A PNG whose IHDR declares width x height: the shape of a decompression bomb."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


ROUTES = {"/cat.jpg": _jpeg(), "/rotated.jpg": _jpeg(orientation=6), "/bomb.png": _png_header(100_000, 100_000),
          "/big.png": _png_header(8000, 8000),
          "/page.html": b"<html><body>not an image</body></html>", "/my%20cat%C3%A9.jpg": _jpeg()}


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def _send(self, status, body=b"", headers=()):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        if not any(k == "Transfer-Encoding" for k, _ in headers):
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):  # noqa: N802
        path, port = self.path.split("?")[0], self.server.server_address[1]
        if path in ROUTES:
            self._send(200, ROUTES[path], [("Content-Type", "image/jpeg")])
        elif path == "/to-cat":
            self._send(302, headers=[("Location", "/cat.jpg")])
        elif path == "/to-metadata":
            self._send(302, headers=[("Location", "http://169.254.169.254/latest/meta-data/")])
        elif path == "/to-other-loopback":
            self._send(302, headers=[("Location", f"http://127.0.0.2:{port}/cat.jpg")])
        elif path == "/loop":
            self._send(302, headers=[("Location", "/loop")])
        elif path == "/chunked":  # no Content-Length: the limit must hold while reading
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for _ in range(20):
                self.wfile.write(b"400\r\n" + b"x" * 1024 + b"\r\n")
            self.wfile.write(b"0\r\n\r\n")
        elif path == "/slow":
            time.sleep(3)
            self._send(200, ROUTES["/cat.jpg"])
        elif path == "/dribble":  # each byte well inside a socket timeout, the whole far past the deadline
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.end_headers()
            try:
                for _ in range(1000):
                    self.wfile.write(b"x")
                    self.wfile.flush()
                    time.sleep(0.05)
            except OSError:
                pass
        else:
            self._send(404, b"nope")


@pytest.fixture(scope="module")
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def _refused(source, limits=NO_OPT_IN, match="", seconds=2.0) -> str:
    t0 = time.perf_counter()
    with pytest.raises(LabsError, match=match) as info:
        load_image(source, limits)
    assert time.perf_counter() - t0 < seconds, f"took {time.perf_counter() - t0:.1f} s"
    message = str(info.value)
    assert "\n" not in message
    return message


def test_fetches_an_image_from_a_private_server_with_the_opt_in(server):
    img = load_image(f"{server}/cat.jpg?format=webp&w=800", OPT_IN)
    assert img.mode == "RGB" and img.size == (40, 20)
    assert img.getpixel((5, 5))[0] > 200
    assert load_image(f"{server}/my cat\u00e9.jpg", OPT_IN).size == (40, 20)  # sent percent-encoded


def test_opt_in_through_the_environment(server, monkeypatch):
    monkeypatch.setenv("LABS_ALLOW_PRIVATE_URLS", "1")
    assert load_image(f"{server}/cat.jpg").size == (40, 20)
    monkeypatch.delenv("LABS_ALLOW_PRIVATE_URLS")
    assert "LABS_ALLOW_PRIVATE_URLS=1" in _refused(f"{server}/cat.jpg", FetchLimits(), "loopback")


@pytest.mark.parametrize("url, why", [
    ("http://127.0.0.1/x.jpg", "loopback"), ("http://localhost/x.jpg", "loopback"),
    ("http://10.1.2.3/x.jpg", "private"), ("http://192.168.0.10/x.jpg", "private"),
    ("http://169.254.169.254/latest/meta-data/", "metadata"), ("http://[::1]/x.jpg", "loopback"),
    ("http://[::ffff:10.0.0.1]/x.jpg", "private"), ("http://[::ffff:127.0.0.1]:8080/x.jpg", "loopback"),
    ("http://[fe80::1]/x.jpg", "link-local"), ("http://0.0.0.0/x.jpg", "unspecified"),
    ("http://224.0.0.1/x.jpg", "multicast"), ("https://[fd00::1]/x.jpg", "private"),
])
def test_refuses_non_public_hosts_without_the_opt_in(url, why):
    assert "refusing" in _refused(url, match=why, seconds=1.0)


@pytest.mark.parametrize("address, without, with_opt_in", [
    ("93.184.215.14", True, True), ("2606:4700::1111", True, True),
    ("127.0.0.1", False, True), ("10.0.0.1", False, True), ("172.16.5.4", False, True),
    ("192.168.1.1", False, True), ("100.64.0.1", False, True), ("169.254.1.1", False, True),
    ("::1", False, True), ("fe80::1", False, True), ("fd12::1", False, True),
    ("::ffff:192.168.1.1", False, True), ("2002:a00:1::", False, True),  # 6to4 of 10.0.0.1
    ("169.254.169.254", False, False), ("fd00:ec2::254", False, False),
    ("::ffff:169.254.169.254", False, False), ("64:ff9b::a9fe:a9fe", False, False),  # NAT64 of metadata
    ("0.0.0.0", False, False), ("::", False, False), ("224.0.0.1", False, False), ("ff02::1", False, False),
    ("240.0.0.1", False, False), ("255.255.255.255", False, False),
])
def test_address_policy(address, without, with_opt_in):
    ip = ipaddress.ip_address(address)
    assert (address_refusal(ip, False) is None) == without
    assert (address_refusal(ip, True) is None) == with_opt_in


def test_metadata_stays_refused_with_the_opt_in():
    _refused("http://169.254.169.254/latest/meta-data/", OPT_IN, "metadata", seconds=1.0)


def test_every_redirect_is_checked_again(server, monkeypatch):
    assert load_image(f"{server}/to-cat", OPT_IN).size == (40, 20)
    _refused(f"{server}/to-metadata", OPT_IN, "169.254.169.254.*metadata")
    # Without the opt-in, let only the first hop through (127.0.0.1): the redirect to
    # another loopback address must be refused by the re-check, not followed.
    real = fetch.address_refusal
    monkeypatch.setattr(fetch, "address_refusal",
                        lambda ip, allow: None if str(ip) == "127.0.0.1" else real(ip, allow))
    _refused(f"{server}/to-other-loopback", NO_OPT_IN, r"127\.0\.0\.2.*loopback")
    _refused(f"{server}/loop", NO_OPT_IN, "more than 3 redirects")


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.com/cat.jpg", "gopher://example.com/",
                                 "data:image/png;base64,AAAA"])
def test_only_http_and_https(url):
    _refused(url, OPT_IN, "only http:// and https://", seconds=0.5)


def test_local_paths_only_when_allowed(tmp_path):
    path = tmp_path / "cat.jpg"
    path.write_bytes(_jpeg())
    assert load_image(str(path)).size == (40, 20)
    with pytest.raises(LabsError, match="not an http"):
        load_image(str(path), allow_paths=False)
    with pytest.raises(LabsError, match="not found"):
        load_image(str(tmp_path / "missing.jpg"))


def test_size_limit_with_and_without_content_length(server):
    small = FetchLimits(allow_private=True, max_bytes=100)
    assert len(ROUTES["/cat.jpg"]) > 100
    _refused(f"{server}/cat.jpg", small, "over the 100 bytes limit")
    _refused(f"{server}/chunked", FetchLimits(allow_private=True, max_bytes=10_000), "over the 10 KB limit")


def test_pixel_limits(server):
    assert "too many pixels" in _refused(f"{server}/bomb.png", OPT_IN, "over the 50 MP limit")
    _refused(f"{server}/big.png", OPT_IN, "8000x8000 pixels, over the 50 MP limit")
    _refused(f"{server}/cat.jpg", FetchLimits(allow_private=True, max_pixels=500), "40x20 pixels, over")


def test_non_image_404_and_closed_port(server):
    _refused(f"{server}/page.html", OPT_IN, "is not a JPEG, PNG, WebP, GIF or BMP image")
    _refused(f"{server}/missing.jpg", OPT_IN, "HTTP 404")
    _refused("http://127.0.0.1:9/cat.jpg", OPT_IN, "could not fetch")


@pytest.mark.parametrize("route", ["/slow", "/dribble"])
def test_total_time_limit(server, route):
    _refused(f"{server}{route}", FetchLimits(allow_private=True, total_timeout=0.5), "timed out after 0.5 s",
             seconds=1.5)


def test_exif_orientation_rgb_and_shrinking(server):
    assert load_image(f"{server}/rotated.jpg", OPT_IN).size == (20, 40)
    rgba = Image.new("RGBA", (3000, 1000), (0, 0, 0, 0))
    out = load_image(rgba)
    assert out.mode == "RGB" and out.size == (1024, 341)
    assert out.getpixel((0, 0)) == (255, 255, 255)  # transparent became white, not black


def test_truncated_image():
    with pytest.raises(LabsError, match="damaged or truncated"):
        load_image(_jpeg((400, 400))[:600])
