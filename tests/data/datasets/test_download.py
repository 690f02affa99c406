import hashlib
import http.server
import threading
from functools import partial

import pytest

from pixlearn.data.datasets import ChecksumError, DownloadError, download_file
from pixlearn.data.datasets.download import file_digest


@pytest.fixture
def server(tmp_path):
    """An http.server on localhost serving tmp_path/www."""
    www = tmp_path / "www"
    www.mkdir()
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(www))
    handler.log_message = lambda *a, **k: None
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield www, f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


def test_http_download_verifies_and_writes_the_file(server, tmp_path):
    www, base = server
    payload = bytes(range(256)) * 1000
    (www / "f.bin").write_bytes(payload)
    md5 = hashlib.md5(payload).hexdigest()
    dest = tmp_path / "out" / "f.bin"
    assert download_file(base + "f.bin", dest, checksum=md5, progress=True) == dest
    assert dest.read_bytes() == payload
    assert sorted(p.name for p in dest.parent.iterdir()) == ["f.bin"]  # no temporary left
    sha = hashlib.sha256(payload).hexdigest()
    assert file_digest(dest, "sha256") == sha


def test_checksum_mismatch_raises_and_leaves_no_file(server, tmp_path):
    www, base = server
    (www / "f.bin").write_bytes(b"tampered")
    dest = tmp_path / "out" / "f.bin"
    with pytest.raises(ChecksumError, match=r"f.bin.*expected 0+"):
        download_file(base + "f.bin", dest, checksum="0" * 32, progress=False)
    assert list(dest.parent.iterdir()) == []


def test_existing_good_file_is_kept_and_bad_one_replaced(tmp_path):
    src = tmp_path / "src.bin"
    src.write_bytes(b"good")
    md5 = hashlib.md5(b"good").hexdigest()
    dest = tmp_path / "dest.bin"
    dest.write_bytes(b"good")
    # a dead URL is never opened when the file is already there and verified
    assert download_file("http://127.0.0.1:9/none", dest, checksum=md5).read_bytes() == b"good"
    dest.write_bytes(b"half")
    download_file(src.as_uri(), dest, checksum=md5, progress=False)
    assert dest.read_bytes() == b"good"


def test_mirrors_are_tried_in_order_and_failures_listed(tmp_path, server):
    www, base = server
    (www / "f.bin").write_bytes(b"abc")
    md5 = hashlib.md5(b"abc").hexdigest()
    dest = tmp_path / "f.bin"
    download_file([base + "missing.bin", base + "f.bin"], dest, checksum=md5, progress=False)
    assert dest.read_bytes() == b"abc"
    with pytest.raises(DownloadError, match=r"missing.bin.*gone.bin"):
        download_file([base + "missing.bin", base + "gone.bin"], tmp_path / "g.bin", progress=False)
    assert not (tmp_path / "g.bin").exists()


def test_bad_algorithm_is_refused(tmp_path):
    with pytest.raises(ValueError, match="algorithm"):
        download_file("file:///x", tmp_path / "x", algorithm="crc32")
