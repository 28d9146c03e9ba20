#!/usr/bin/env python3
"""Which GPU architectures a CUDA library carries kernels for: walks every fatbin (magic 0xBA55ED50) in a shared
object and counts its entries by kind (1: PTX, 2: ELF/SASS cubin) and SM architecture.

Usage: bench/fatbin_archs.py libnd4jcuda.so
(unzip it from ~/.m2/repository/org/nd4j/nd4j-cuda-11.6/1.0.0-M2.1/nd4j-cuda-11.6-1.0.0-M2.1-linux-x86_64-cudnn.jar)
"""
import re
import struct
import sys

data = open(sys.argv[1], "rb").read()
kinds = {}
fatbins = 0
for m in re.finditer(rb"\x50\xed\x55\xba", data):
    off = m.start()
    _, _, header, size = struct.unpack_from("<IHHQ", data, off)
    pos, end = off + header, off + header + size
    fatbins += 1
    while pos < end and pos + 32 <= len(data):
        kind, _, entry_header, entry_size = struct.unpack_from("<HHIQ", data, pos)
        arch = struct.unpack_from("<I", data, pos + 28)[0]
        kinds[(kind, arch)] = kinds.get((kind, arch), 0) + 1
        if entry_header == 0:
            break
        pos += entry_header + entry_size
print(f"{fatbins} fatbins")
for (kind, arch), n in sorted(kinds.items()):
    print(f"  {'PTX ' if kind == 1 else 'SASS' if kind == 2 else kind} sm_{arch}: {n}")
