#!/usr/bin/env python3
"""Known-answer vectors for estafette-crypto, computed independently of the Rust code.

Uses pyca/cryptography (X25519, Ed25519, HKDF, HMAC, ChaCha20-Poly1305, SHA-512)
and argon2-cffi, following PROTOCOL.md literally.

Rerun:  pip install cryptography argon2-cffi
        python3 crypto-wasm/tests/kat/gen_kat.py > crypto-wasm/tests/kat/vectors.txt
The Rust side (crypto-wasm/src/tests/kat.rs) reads vectors.txt at compile time.
"""
import hashlib
import hmac
import struct

from argon2.low_level import Type, hash_secret_raw
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

RAW = serialization.Encoding.Raw, serialization.PublicFormat.Raw
out = []


def emit(name, value):
    if isinstance(value, (bytes, bytearray)):
        value = value.hex()
    out.append(f"{name} = {value}")


def hkdf(salt, ikm, info, length):
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=salt, info=info).derive(ikm)


def seq(start, n=32):
    return bytes((start + i) % 256 for i in range(n))


def x25519_pub(secret):
    return X25519PrivateKey.from_private_bytes(secret).public_key().public_bytes(*RAW)


def dh(secret, public):
    return X25519PrivateKey.from_private_bytes(secret).exchange(X25519PublicKey.from_public_bytes(public))


def ed_pub(seed):
    return Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes(*RAW)


def ed_sign(seed, context, body):
    return Ed25519PrivateKey.from_private_bytes(seed).sign(context + b"\x00" + body)


def u32(n):
    return struct.pack(">I", n)


def u64(n):
    return struct.pack(">Q", n)


def pad(content):
    length = (len(content) // 160 + 1) * 160
    return content + b"\x80" + b"\x00" * (length - len(content) - 1)


# --- KDF_RK (section 4)
rk, dh_out = seq(0x00), seq(0x20)
okm = hkdf(rk, dh_out, b"Estafette/v1/root", 64)
emit("kdf_rk.rk", rk)
emit("kdf_rk.dh_out", dh_out)
emit("kdf_rk.rk_next", okm[:32])
emit("kdf_rk.ck", okm[32:])

# --- KDF_CK (section 4)
ck = seq(0x40)
emit("kdf_ck.ck", ck)
emit("kdf_ck.ck_next", hmac.new(ck, b"\x02", hashlib.sha256).digest())
emit("kdf_ck.mk", hmac.new(ck, b"\x01", hashlib.sha256).digest())

# --- message key expansion and ENCRYPT (section 4, 5)
mk = seq(0x60)
okm = hkdf(b"\x00" * 32, mk, b"Estafette/v1/message-key", 44)
emit("message_key.mk", mk)
emit("message_key.key", okm[:32])
emit("message_key.nonce", okm[32:])
ad = seq(0x80, 64)
dhs_pub = x25519_pub(seq(0xC0))
header = b"\x01" + dhs_pub + u32(3) + u32(7)
content = b"Bonjour, ceci est un test."
ct = ChaCha20Poly1305(okm[:32]).encrypt(okm[32:], pad(content), ad + header)
emit("encrypt.ad", ad)
emit("encrypt.content", content)
emit("encrypt.dhs_secret", seq(0xC0))
emit("encrypt.message", header + ct)

# --- PQXDH SK (section 3)
dik_a, ek_a, dik_b, spk_b, opk_b = (seq(s) for s in (0x01, 0x21, 0x41, 0x61, 0x81))
ss = seq(0xA1)
for name, s in (("dik_a", dik_a), ("ek_a", ek_a), ("dik_b", dik_b), ("spk_b", spk_b), ("opk_b", opk_b)):
    emit(f"pqxdh.{name}", s)
emit("pqxdh.ss", ss)
dh1 = dh(dik_a, x25519_pub(spk_b))
dh2 = dh(ek_a, x25519_pub(dik_b))
dh3 = dh(ek_a, x25519_pub(spk_b))
dh4 = dh(ek_a, x25519_pub(opk_b))
info = b"Estafette/v1/PQXDH_CURVE25519_SHA-256_ML-KEM-1024"
emit("pqxdh.sk_with_opk", hkdf(b"\x00" * 32, b"\xff" * 32 + dh1 + dh2 + dh3 + dh4 + ss, info, 32))
emit("pqxdh.sk_without_opk", hkdf(b"\x00" * 32, b"\xff" * 32 + dh1 + dh2 + dh3 + ss, info, 32))
emit("pqxdh.ad", x25519_pub(dik_a) + x25519_pub(dik_b))

# --- device certificate and signed prekey signature (section 2)
aik = seq(0xE0)
device_id = seq(0x10, 16)
dik_pub = x25519_pub(dik_b)
issued = 1_700_000_000_000
body = ed_pub(aik) + device_id + dik_pub + u64(issued)
emit("cert.aik_seed", aik)
emit("cert.device_id", device_id)
emit("cert.dik_secret", dik_b)
emit("cert.issued_at_ms", str(issued))
emit("cert.encoded", body + ed_sign(aik, b"Estafette/v1/device-cert", body))
emit("spk.signature", ed_sign(aik, b"Estafette/v1/spk", device_id + u32(5) + x25519_pub(spk_b)))

# --- safety number (section 7)
def fingerprint(key, account_id):
    h = hashlib.sha512(b"\x00\x00" + key + account_id.encode()).digest()
    for _ in range(5199):
        h = hashlib.sha512(h + key).digest()
    return "".join(f"{int.from_bytes(h[i * 5:i * 5 + 5], 'big') % 100000:05d}" for i in range(6))

alice_seed, bob_seed = seq(0x05), seq(0x55)
fa = fingerprint(ed_pub(alice_seed), "alice@interieur.gouv.fr")
fb = fingerprint(ed_pub(bob_seed), "bob@culture.gouv.fr")
emit("safety.alice_seed", alice_seed)
emit("safety.bob_seed", bob_seed)
emit("safety.number", min(fa, fb) + max(fa, fb))

# --- keys at rest (section 8)
storage_key, nonce, salt = seq(0x33), seq(0x77, 12), seq(0x99, 16)
store, record_key, record = "sessions", b"device/42", b"session state bytes"
aad = b"\x01" + u32(len(store)) + store.encode() + u32(len(record_key)) + record_key
emit("record.storage_key", storage_key)
emit("record.nonce", nonce)
emit("record.sealed", b"\x01" + nonce + ChaCha20Poly1305(storage_key).encrypt(nonce, record, aad))
passphrase, m, t, p = b"correct horse battery staple", 256, 2, 1
kek = hash_secret_raw(passphrase, salt, time_cost=t, memory_cost=m, parallelism=p, hash_len=32, type=Type.ID, version=19)
header = b"\x01" + u32(m) + u32(t) + u32(p) + salt
emit("wrap.salt", salt)
emit("wrap.kek", kek)
emit("wrap.wrapped", header + nonce + ChaCha20Poly1305(kek).encrypt(nonce, storage_key, header))
kek_normative = hash_secret_raw(passphrase, salt, time_cost=3, memory_cost=65536, parallelism=1, hash_len=32, type=Type.ID, version=19)
emit("wrap.kek_normative", kek_normative)

# --- groups: sender keys (section 6)
group_id, group_ck, group_seed = seq(0x31, 16), seq(0x51), seq(0x71)
chain_id, iteration = 9, 4
group_mk = hmac.new(group_ck, b"\x01", hashlib.sha256).digest()
group_okm = hkdf(b"\x00" * 32, group_mk, b"Estafette/v1/group-message-key", 44)
group_content = "Réunion à 15 h, salle Marianne.".encode()
group_header = b"\x03" + group_id + u32(chain_id) + u32(iteration)
group_body = group_header + ChaCha20Poly1305(group_okm[:32]).encrypt(group_okm[32:], pad(group_content), group_header)
emit("group.group_id", group_id)
emit("group.chain_key", group_ck)
emit("group.signing_seed", group_seed)
emit("group.chain_id", str(chain_id))
emit("group.iteration", str(iteration))
emit("group.key", group_okm[:32])
emit("group.nonce", group_okm[32:])
emit("group.chain_key_next", hmac.new(group_ck, b"\x02", hashlib.sha256).digest())
emit("group.content", group_content)
emit("group.distribution", b"\x01" + group_id + u32(chain_id) + u32(iteration) + group_ck + ed_pub(group_seed))
emit("group.message", group_body + Ed25519PrivateKey.from_private_bytes(group_seed).sign(group_body))

# --- roaming (section 9): OPAQUE key stretching, vault, mailbox state, history segment, relay-auth-dik
def cbor_head(major, n):
    if n < 24:
        return bytes([major << 5 | n])
    if n < 256:
        return bytes([major << 5 | 24, n])
    if n < 65536:
        return bytes([major << 5 | 25]) + struct.pack(">H", n)
    return bytes([major << 5 | 26]) + struct.pack(">I", n)


def cbor_bytes(b):
    return cbor_head(2, len(b)) + b


def cbor_text(t):
    b = t.encode()
    return cbor_head(3, len(b)) + b


def pad_to(content, block):
    length = (len(content) // block + 1) * block
    return content + b"\x80" + b"\x00" * (length - len(content) - 1)


handle = "alice@interieur.gouv.fr"
ksf_input = seq(0x0d, 64)
emit("opaque.ksf_input", ksf_input)
emit("opaque.ksf_output", hash_secret_raw(ksf_input, b"\x00" * 16, time_cost=3, memory_cost=65536, parallelism=1, hash_len=64, type=Type.ID, version=19))

export_key, hk, mk, retired_hk, aik_seed = seq(0x10, 64), seq(0x40), seq(0x60), seq(0x80), seq(0xa0)
vk = hkdf(b"\x00" * 32, export_key, b"Estafette/v1/vault", 32)
vault_version, vault_nonce = 3, seq(0xc0, 12)
contents = (cbor_head(5, 7)
            + b"\x00" + cbor_bytes(aik_seed)
            + b"\x01" + cbor_bytes(hk)
            + b"\x02" + cbor_bytes(mk)
            + b"\x03" + cbor_text("Élodie Martin")
            + b"\x04" + cbor_text("fr")
            + b"\x05" + cbor_head(0, 300)
            + b"\x06" + cbor_head(4, 1) + cbor_bytes(retired_hk))
vault_aad = b"Estafette/v1/vault\x00" + handle.encode() + u64(vault_version)
emit("vault.handle", handle)
emit("vault.export_key", export_key)
emit("vault.vk", vk)
emit("vault.aik_seed", aik_seed)
emit("vault.history_key", hk)
emit("vault.mailbox_key", mk)
emit("vault.retired_history_key", retired_hk)
emit("vault.nonce", vault_nonce)
emit("vault.contents", contents)
emit("vault.sealed", b"\x01" + u64(vault_version) + vault_nonce + ChaCha20Poly1305(vk).encrypt(vault_nonce, contents, vault_aad))

mailbox_version, mailbox_nonce, mailbox_state = 9, seq(0xd0, 12), b"mailbox device state"
mailbox_aad = b"Estafette/v1/mailbox\x00" + handle.encode() + u64(mailbox_version)
emit("mailbox.nonce", mailbox_nonce)
emit("mailbox.state", mailbox_state)
emit("mailbox.sealed", b"\x01" + u64(mailbox_version) + mailbox_nonce + ChaCha20Poly1305(mk).encrypt(mailbox_nonce, mailbox_state, mailbox_aad))

segment_id = seq(0xe0, 16)
segment_okm = hkdf(b"\x00" * 32, hk, b"Estafette/v1/history" + segment_id, 44)
# [header {0: first, 1: last, 2: generation}, entry]; the entry is one CBOR item of the client's.
entries = cbor_head(4, 2) + cbor_head(5, 3) + b"\x00\x05\x01\x05\x02\x00" + cbor_text("bonjour")
emit("segment.id", segment_id)
emit("segment.key", segment_okm[:32])
emit("segment.nonce", segment_okm[32:])
emit("segment.entries", entries)
emit("segment.sealed", b"\x01" + segment_id + ChaCha20Poly1305(segment_okm[:32]).encrypt(segment_okm[32:], pad_to(entries, 4096), handle.encode()))

dik_secret, relay_secret, challenge, auth_device_id = seq(0x15), seq(0x35), seq(0x55), seq(0x75, 16)
origin = "wss://relay.example.gouv.fr"
dik_shared = dh(dik_secret, x25519_pub(relay_secret))
dik_key = hkdf(b"\x00" * 32, dik_shared, b"Estafette/v1/relay-auth-dik", 32)
emit("relay_dik.dik_secret", dik_secret)
emit("relay_dik.relay_secret", relay_secret)
emit("relay_dik.challenge", challenge)
emit("relay_dik.device_id", auth_device_id)
emit("relay_dik.origin", origin)
emit("relay_dik.mac", hmac.new(dik_key, challenge + auth_device_id + origin.encode(), hashlib.sha256).digest())

print("\n".join(out))
