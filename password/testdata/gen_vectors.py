#!/usr/bin/env python3
"""Regenerates the interoperability vectors of the password package.

argon2cli_vectors.json holds PHC strings written by the reference argon2
command-line tool (Debian package "argon2"); argon2cffi_vectors.json holds
strings written by argon2-cffi (Debian package "python3-argon2"). Run it with
an interpreter that can import argon2, from this directory:

    python3 gen_vectors.py

The Go tests verify every vector, and a wrong password against each of them.
"""

import json
import os
import subprocess

import argon2
from argon2.low_level import Type, hash_secret

# (password, salt, t, m KiB, p, key length): the tool reads the password from
# stdin (at most 127 bytes, not empty) and takes the salt as text.
CLI_CASES = [
    ("password", "somesalt", 2, 19456, 1, 32),            # DefaultParams, short salt
    ("correct horse battery staple", "saltsaltsaltsalt", 3, 4096, 1, 32),
    ("Tr0ub4dor&3", "0123456789abcdef", 3, 65536, 4, 32),  # HighParams
    ("p>1 and odd key", "somesaltsomesalt", 1, 64, 2, 17),
    ("m not a multiple of 4p", "somesaltsomesalt", 2, 100, 3, 33),
    ("sixteen lanes", "somesaltsomesalt", 1, 128, 16, 16),
    ("ten passes", "somesaltsomesalt", 10, 32, 1, 64),
    ("longest key", "somesaltsomesalt", 1, 64, 1, 128),
    ("eight-byte salt", "8bytes!!", 1, 64, 1, 32),
    ("sixty-four byte salt", "s" * 64, 1, 64, 1, 32),
    ("pässwörd 🔑 ünïcödé", "unicodesalt!", 1, 256, 2, 32),
    ("x" * 127, "longpasswordsalt", 1, 64, 1, 32),
    ("trailing newline\n", "somesaltsomesalt", 1, 64, 1, 32),
]

# (password, salt or None for a random one of salt_len, t, m, p, key length)
CFFI_CASES = [
    ("password", None, 3, 65536, 4, 32),                  # RFC 9106 low memory, default since 21.2
    ("password", None, 2, 19456, 1, 32),                  # OWASP
    ("", None, 1, 64, 1, 32),                             # empty password
    ("pässwörd 🔑", None, 2, 512, 4, 48),
    ("binary salt", bytes(range(256))[:16], 1, 64, 1, 32),
    ("binary salt with zero bytes", bytes(8), 1, 64, 1, 16),
    ("sixty-four byte salt", os.urandom(64), 1, 64, 2, 128),
    ("odd key", os.urandom(13), 2, 80, 5, 31),
]


def cli(pw, salt, t, m, p, l):
    out = subprocess.run(
        ["argon2", salt, "-id", "-t", str(t), "-k", str(m), "-p", str(p), "-l", str(l), "-e"],
        input=pw.encode(), capture_output=True, check=True)
    return out.stdout.decode().strip()


def cffi(pw, salt, t, m, p, l):
    if salt is None:
        salt = os.urandom(16)
    return hash_secret(pw.encode(), salt, time_cost=t, memory_cost=m,
                       parallelism=p, hash_len=l, type=Type.ID).decode()


def write(name, tool, vectors):
    with open(name, "w") as f:
        json.dump({"tool": tool, "vectors": vectors}, f, indent=1, ensure_ascii=False)
        f.write("\n")


write("argon2cli_vectors.json", "argon2 command-line tool 0~20171227",
      [{"password": c[0], "hash": cli(*c)} for c in CLI_CASES])
vectors = [{"password": c[0], "hash": cffi(*c)} for c in CFFI_CASES]
# The defaults of the installed PasswordHasher (m=102400, t=2, p=8, 16-byte
# key in 21.1; the RFC 9106 low-memory profile from 21.2 on).
vectors.append({"password": "PasswordHasher", "hash": argon2.PasswordHasher().hash("PasswordHasher")})
write("argon2cffi_vectors.json", "argon2-cffi " + argon2.__version__, vectors)
