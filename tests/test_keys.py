"""Ed25519 key pairs and the key store: official vectors, file safety, no secret leaks."""

from __future__ import annotations

import json
import os
import stat
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from badgeserver import keys
from badgeserver.errors import InputError, KeyMaterialError
from badgeserver.integrity import multikey

VECTORS = Path(__file__).parent / "vectors"
W3C_SECRET = "z3u2en7t5LR2WtQH5PfFqMqwVHBeXouLzo6haApm8XHqvjxq"
W3C_PUBLIC = "z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2"
OB_KEYPAIR = json.loads((VECTORS / "ob-v3p0-impl-eddsa-rdfc-2022" / "keypair.json").read_text())
OB_EXPECTED = json.loads((VECTORS / "ob-v3p0-impl-eddsa-rdfc-2022" / "expected.json").read_text())
OB_PUBLIC = "z6MkjZRZv3aez3r18pB1RBFJR1kwUVJ5jHt92JmQwXbd5hwi"
OB_SEED_HEX = "6241a409e6707bb640a0140a8a32bc3d193c33a661747284d6adfa4ed4180be4"
OB_PUBLIC_HEX = "4bdeafde2ea8beefadd8c699b5c7e0704cf51154d52e17b20b71337ca04cc5a5"
NOW = datetime(2026, 1, 5, 10, 0, 0, tzinfo=UTC)


def _w3c_file(name: str) -> str:
    return (VECTORS / "w3c-vc-di-eddsa" / "eddsa-rdfc-2022" / name).read_text().strip()


# --- key pairs --------------------------------------------------------------------------------


def test_w3c_vector_secret_to_public() -> None:
    pair = keys.from_secret_key_multibase(W3C_SECRET)
    assert pair.public_key_multibase == W3C_PUBLIC
    assert pair.key_id == W3C_PUBLIC
    assert pair.secret_key_multibase() == W3C_SECRET
    assert json.loads((VECTORS / "w3c-vc-di-eddsa" / "keyPair.json").read_text()) == {
        "publicKeyMultibase": W3C_PUBLIC,
        "privateKeyMultibase": W3C_SECRET,
    }


def test_w3c_vector_signature() -> None:
    pair = keys.from_secret_key_multibase(W3C_SECRET)
    data = bytes.fromhex(_w3c_file("combinedHashDataInt.txt"))
    signature = pair.sign(data)
    assert signature.hex() == _w3c_file("sigHexDataInt.txt")
    assert pair.verify(signature, data) is True


def test_1edtech_vector_64_byte_form() -> None:
    published = OB_KEYPAIR["secretKeyMultibase_as_published"]
    seed, embedded = multikey.decode_secret_key(published)
    assert embedded is not None and len(embedded) == 32
    pair = keys.from_secret_key_multibase(published)
    assert pair.public_key_multibase == OB_PUBLIC
    assert pair.public_key_bytes.hex() == OB_PUBLIC_HEX
    assert seed.hex() == OB_SEED_HEX
    assert pair.secret_key_multibase() == multikey.encode_secret_key(bytes.fromhex(OB_SEED_HEX))


def test_1edtech_vector_seed_and_signature() -> None:
    pair = keys.from_seed(bytes.fromhex(OB_SEED_HEX))
    assert pair.public_key_multibase == OB_PUBLIC
    data = bytes.fromhex(OB_EXPECTED["dataToSignHex"])
    assert pair.sign(data).hex() == OB_EXPECTED["signatureHex"]


def test_rfc8032_test_1() -> None:
    seed = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
    pair = keys.from_seed(seed)
    assert pair.public_key_bytes.hex() == (
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
    )
    assert pair.sign(b"").hex() == (
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bac"
        "c61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
    )


def test_mismatched_64_byte_form_refused() -> None:
    seed = bytes.fromhex(OB_SEED_HEX)
    wrong_public = multikey.decode_public_key(W3C_PUBLIC)
    value = multikey.encode_base58btc(multikey.ED25519_PRIV_HEADER + seed + wrong_public)
    with pytest.raises(KeyMaterialError, match="does not belong to its seed"):
        keys.from_secret_key_multibase(value)


def test_wrong_headers_refused() -> None:
    seed = bytes.fromhex(OB_SEED_HEX)
    as_public_header = multikey.encode_base58btc(multikey.ED25519_PUB_HEADER + seed)
    with pytest.raises(KeyMaterialError, match="0x8026"):
        keys.from_secret_key_multibase(as_public_header)
    with pytest.raises(KeyMaterialError, match="0xed01"):
        keys.from_public_key_multibase(W3C_SECRET)
    x25519 = multikey.encode_base58btc(b"\xec\x01" + bytes(32))
    with pytest.raises(KeyMaterialError):
        keys.from_public_key_multibase(x25519)


def test_wrong_lengths_refused() -> None:
    with pytest.raises(KeyMaterialError):
        keys.from_seed(bytes(31))
    with pytest.raises(KeyMaterialError):
        keys.from_secret_key_multibase(
            multikey.encode_base58btc(multikey.ED25519_PRIV_HEADER + bytes(33))
        )
    with pytest.raises(KeyMaterialError):
        keys.KeyPair(None, bytes(31))
    with pytest.raises(KeyMaterialError):
        keys.from_secret_key_multibase("not-multibase")


def test_generate_sign_verify_and_public_only() -> None:
    pair = keys.generate()
    assert pair.public_key_multibase.startswith("z6Mk")
    signature = pair.sign(b"hello")
    assert len(signature) == 64
    assert pair.verify(signature, b"hello") is True
    assert pair.verify(signature, b"hellO") is False
    assert pair.verify(bytes(64), b"hello") is False
    public = keys.from_public_key_multibase(pair.public_key_multibase)
    assert public.has_private_key is False
    assert public.verify(signature, b"hello") is True
    assert public == pair
    assert pair.public_only().private_key is None
    with pytest.raises(KeyMaterialError, match="public only"):
        public.sign(b"hello")
    with pytest.raises(KeyMaterialError):
        public.secret_key_multibase()
    assert keys.generate().public_key_bytes != pair.public_key_bytes


def test_repr_and_str_hold_no_secret() -> None:
    pair = keys.from_secret_key_multibase(W3C_SECRET)
    seed, _ = multikey.decode_secret_key(W3C_SECRET)
    for text in (repr(pair), str(pair), f"{pair}", repr([pair]), repr({"k": pair})):
        assert W3C_SECRET not in text
        assert seed.hex() not in text
        assert "private_key=" not in text
    assert repr(pair) == f"KeyPair({W3C_PUBLIC}, private)"
    assert repr(pair.public_only()) == f"KeyPair({W3C_PUBLIC}, public-only)"


# --- key store --------------------------------------------------------------------------------


def test_store_generate_writes_private_file(tmp_path: Path) -> None:
    directory = tmp_path / "new" / "keys"
    store = keys.KeyStore(directory)
    assert store.list() == []
    pair = store.generate("issuer-1", now=NOW)
    path = directory / "issuer-1.json"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(directory).st_mode) == 0o700
    record = json.loads(path.read_text())
    assert set(record) == {"type", "publicKeyMultibase", "secretKeyMultibase", "created"}
    assert record["type"] == "Multikey"
    assert record["publicKeyMultibase"] == pair.public_key_multibase
    assert record["created"] == "2026-01-05T10:00:00Z"
    assert keys.from_secret_key_multibase(record["secretKeyMultibase"]) == pair
    assert sorted(os.listdir(directory)) == ["issuer-1.json"]
    loaded = store.load("issuer-1")
    assert loaded == pair
    assert loaded.verify(loaded.sign(b"x"), b"x")
    assert pair.verify(loaded.sign(b"x"), b"x")


def test_store_file_is_0600_even_with_open_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        keys.KeyStore(tmp_path / "k").generate("a", now=NOW)
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(tmp_path / "k" / "a.json").st_mode) == 0o600
    assert stat.S_IMODE(os.stat(tmp_path / "k").st_mode) == 0o700


def test_store_add_known_key_and_created_in_utc(tmp_path: Path) -> None:
    store = keys.KeyStore(tmp_path)
    pair = keys.from_secret_key_multibase(W3C_SECRET)
    later = datetime(2026, 1, 5, 12, 30, 15, 999, tzinfo=timezone(timedelta(hours=2)))
    store.add("w3c", pair, now=later)
    assert store.public_info("w3c") == {
        "name": "w3c",
        "type": "Multikey",
        "publicKeyMultibase": W3C_PUBLIC,
        "created": "2026-01-05T10:30:15Z",
    }
    with pytest.raises(KeyMaterialError, match="without its private key"):
        store.add("pub", pair.public_only(), now=NOW)


def test_store_naive_time_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError):
        keys.KeyStore(tmp_path).generate("a", now=datetime(2026, 1, 5))
    assert keys.KeyStore(tmp_path).list() == []


def test_store_refuses_overwrite(tmp_path: Path) -> None:
    store = keys.KeyStore(tmp_path)
    first = store.generate("main", now=NOW)
    before = (tmp_path / "main.json").read_bytes()
    with pytest.raises(KeyMaterialError, match="already exists"):
        store.generate("main", now=NOW)
    assert (tmp_path / "main.json").read_bytes() == before
    assert store.load("main") == first
    assert sorted(os.listdir(tmp_path)) == ["main.json"]


@pytest.mark.parametrize(
    "name",
    [
        "",
        "../evil",
        "..",
        ".",
        ".hidden",
        "a/b",
        "a\\b",
        "/etc/passwd",
        "x" * 65,
        "a\x00b",
        "ключ",
        "a b",
        "a:b",
        42,
    ],
)
def test_store_refuses_unsafe_names(tmp_path: Path, name: object) -> None:
    store = keys.KeyStore(tmp_path / "keys")
    with pytest.raises(KeyMaterialError, match="key name"):
        store.generate(name, now=NOW)  # type: ignore[arg-type]
    with pytest.raises(KeyMaterialError, match="key name"):
        store.load(name)  # type: ignore[arg-type]
    assert sorted(p.name for p in tmp_path.rglob("*")) in ([], ["keys"])


def test_store_accepts_boundary_names(tmp_path: Path) -> None:
    store = keys.KeyStore(tmp_path)
    for name in ("a", "x" * 64, "Issuer_2026.v1-b"):
        store.generate(name, now=NOW)
    assert store.list() == sorted(["a", "x" * 64, "Issuer_2026.v1-b"])


def test_store_load_missing(tmp_path: Path) -> None:
    with pytest.raises(KeyMaterialError, match="No key named 'nope'"):
        keys.KeyStore(tmp_path).load("nope")
    with pytest.raises(KeyMaterialError, match="No key named 'nope'"):
        keys.KeyStore(tmp_path / "absent").load("nope")


def _write_private(path: Path, text: str) -> None:
    path.write_text(text)
    os.chmod(path, 0o600)


@pytest.mark.parametrize(
    "content",
    [
        "{not json",
        "[]",
        '{"type": "JsonWebKey2020"}',
        '{"type": "Multikey"}',
        json.dumps({"type": "Multikey", "publicKeyMultibase": W3C_PUBLIC, "secretKeyMultibase": 7}),
        json.dumps(
            {"type": "Multikey", "publicKeyMultibase": OB_PUBLIC, "secretKeyMultibase": W3C_SECRET}
        ),
        json.dumps(
            {
                "type": "Multikey",
                "publicKeyMultibase": W3C_PUBLIC,
                "secretKeyMultibase": W3C_SECRET[:-3],
            }
        ),
        "\xff\xfe",
    ],
)
def test_store_load_corrupt(tmp_path: Path, content: str) -> None:
    _write_private(tmp_path / "bad.json", content)
    with pytest.raises(KeyMaterialError, match="is corrupt") as info:
        keys.KeyStore(tmp_path).load("bad")
    assert W3C_SECRET[:-3] not in str(info.value)
    assert info.value.__cause__ is None


def test_store_load_public_only_file(tmp_path: Path) -> None:
    _write_private(
        tmp_path / "old.json", json.dumps({"type": "Multikey", "publicKeyMultibase": W3C_PUBLIC})
    )
    pair = keys.KeyStore(tmp_path).load("old")
    assert pair.has_private_key is False
    assert pair.public_key_multibase == W3C_PUBLIC


@pytest.mark.parametrize("mode", [0o640, 0o644, 0o604, 0o660, 0o602])
def test_store_refuses_group_or_world_accessible_file(tmp_path: Path, mode: int) -> None:
    store = keys.KeyStore(tmp_path)
    store.generate("k", now=NOW)
    os.chmod(tmp_path / "k.json", mode)
    with pytest.raises(KeyMaterialError, match="chmod 600") as info:
        store.load("k")
    assert f"{mode:04o}" in str(info.value)
    os.chmod(tmp_path / "k.json", 0o400)
    assert store.load("k").has_private_key


def test_store_refuses_symlinked_key_file(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    keys.KeyStore(outside).generate("real", now=NOW)
    inside = tmp_path / "store"
    inside.mkdir()
    (inside / "link.json").symlink_to(outside / "real.json")
    with pytest.raises(KeyMaterialError):
        keys.KeyStore(inside).load("link")


def test_store_list_and_public_info(tmp_path: Path) -> None:
    store = keys.KeyStore(tmp_path)
    b = store.generate("b", now=NOW)
    store.generate("a", now=NOW)
    (tmp_path / ".gitignore").write_text("*\n")
    (tmp_path / "README.md").write_text("keys\n")
    (tmp_path / ".b.json.0123.tmp").write_text("")
    assert store.list() == ["a", "b"]
    info = store.public_info("b")
    assert info == {
        "name": "b",
        "type": "Multikey",
        "publicKeyMultibase": b.public_key_multibase,
        "created": "2026-01-05T10:00:00Z",
    }
    assert b.secret_key_multibase() not in json.dumps(info)
    assert "secretKeyMultibase" not in info


def test_store_repr_and_errors_hold_no_secret(tmp_path: Path) -> None:
    store = keys.KeyStore(tmp_path)
    pair = store.generate("k", now=NOW)
    secret = pair.secret_key_multibase()
    assert secret not in repr(store)
    os.chmod(tmp_path / "k.json", 0o644)
    with pytest.raises(KeyMaterialError) as info:
        store.load("k")
    assert secret not in str(info.value)
    with pytest.raises(KeyMaterialError) as info:
        store.generate("k", now=NOW)
    assert secret not in str(info.value)


def test_default_keys_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("KEYS_DIR", str(tmp_path / "elsewhere"))
    assert keys.default_keys_dir() == tmp_path / "elsewhere"
    monkeypatch.delenv("KEYS_DIR")
    monkeypatch.chdir(tmp_path)
    assert keys.default_keys_dir() == tmp_path / "keys"
