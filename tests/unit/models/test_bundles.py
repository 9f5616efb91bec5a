import io
import tarfile
from pathlib import Path

import pytest

from model.bundle import DEFAULT_BUNDLE
from stream.models.bundles import BundleRefused, chunks, pack, sha256, unpack, verified
from stream.models.control import BundleRef


def ref_of(data: bytes) -> BundleRef:
    return BundleRef("v", sha256(data), len(data), "bundles", 0, 0, 1)


def test_a_bundle_packs_to_the_same_bytes_and_unpacks_to_its_files(tmp_path: Path) -> None:
    data = pack(DEFAULT_BUNDLE)
    assert pack(DEFAULT_BUNDLE) == data
    assert b"".join(chunks(data, 1000)) == data
    into = unpack(verified(ref_of(data), data), tmp_path / "v")
    assert sorted(p.name for p in into.iterdir()) == sorted(
        p.name for p in DEFAULT_BUNDLE.iterdir()
    )
    assert (into / "model.tflite").read_bytes() == (DEFAULT_BUNDLE / "model.tflite").read_bytes()


def test_bytes_that_are_not_the_announced_ones_are_refused() -> None:
    data = pack(DEFAULT_BUNDLE)
    with pytest.raises(BundleRefused, match="sha256"):
        verified(ref_of(data), data[:100] + bytes([data[100] ^ 1]) + data[101:])


def tar_of(name: str, content: bytes) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo(name)
        info.size = len(content)
        tar.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


@pytest.mark.parametrize(
    "data",
    [tar_of("../escape", b"x"), tar_of("metadata.json", b"not json"), b"not a tar at all"],
)
def test_a_bundle_with_paths_or_unreadable_files_is_refused_and_nothing_left(
    tmp_path: Path, data: bytes
) -> None:
    with pytest.raises(BundleRefused):
        unpack(data, tmp_path / "v")
    assert list(tmp_path.iterdir()) == []
