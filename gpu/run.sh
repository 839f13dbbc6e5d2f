#!/bin/sh
# FaceChain Studio's GPU check from the folder `npm run gpu-bundle` writes: no network, no Node.js, no
# root needed. ./run.sh [--out FILE] [--tiny-only] [--allow-cpu]
# It finds the NVIDIA Vulkan driver's ICD file (for WebGPU), unpacks Node, the check and Debian's Vulkan
# loader next to itself on first use, and runs the check (one table, and gpu-check.json).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
work="$here/unpacked"
icd_dirs="/usr/local/nvidia/share/vulkan/icd.d /usr/share/vulkan/icd.d /etc/vulkan/icd.d /usr/local/share/vulkan/icd.d"

icd="${VK_ICD_FILENAMES:-${VK_DRIVER_FILES:-}}"
if [ -z "$icd" ]; then
  for d in $icd_dirs; do
    for f in "$d"/nvidia*.json; do
      [ -f "$f" ] && icd="$f" && break 2
    done
  done
fi
device=""
for d in /dev/nvidia0 /dev/nvidia1 /dev/dri/renderD128; do
  [ -e "$d" ] && device="$d" && break
done

case " $* " in *" --allow-cpu "*) cpu=1 ;; *) cpu="" ;; esac
if [ -z "$cpu" ] && [ -z "$icd" ] && [ -z "$device" ]; then
  echo "no GPU: no GPU device (/dev/nvidia0, /dev/dri/renderD128) and no Vulkan driver ICD (nvidia*.json in $icd_dirs)"
  exit 0
fi
[ -n "$icd" ] || echo "no NVIDIA Vulkan ICD found (looked for nvidia*.json in $icd_dirs; set VK_ICD_FILENAMES): WebGPU will find no adapter"

# GPU images may lack xz, dpkg-deb or ar; python3's tarfile (and a few lines for the .deb's ar) stand in.
py_untar='import io, pathlib, sys, tarfile
def untar(data):
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as t:
        t.extractall(sys.argv[2], **({"filter": "tar"} if hasattr(tarfile, "tar_filter") else {}))
d, i = pathlib.Path(sys.argv[1]).read_bytes(), 8
if not sys.argv[1].endswith(".deb"): untar(d)
else:
    while i < len(d):
        name, size = d[i:i + 16].decode().strip(), int(d[i + 48:i + 58])
        if name.startswith("data.tar"): untar(d[i + 60:i + 60 + size])
        i += 60 + size + size % 2'

if [ ! -x "$work/node/bin/node" ]; then
  mkdir -p "$work"
  if command -v xz >/dev/null; then
    xz -dc "$here/payload.tar.xz" | tar -xf - -C "$work"
  elif command -v python3 >/dev/null; then
    python3 -c "$py_untar" "$here/payload.tar.xz" "$work"
  else
    echo "needs xz (xz-utils) or python3 to unpack payload.tar.xz"; exit 1
  fi
fi
# Debian's Vulkan loader, unless the system has one.
if ! ldconfig -p 2>/dev/null | grep -q 'libvulkan.so.1 '; then
  if [ ! -e "$work/vulkan/usr/lib/x86_64-linux-gnu/libvulkan.so.1" ]; then
    deb=$(ls "$here"/libvulkan1_*.deb | head -n 1)
    mkdir -p "$work/vulkan"
    if command -v dpkg-deb >/dev/null; then
      dpkg-deb -x "$deb" "$work/vulkan"
    elif command -v python3 >/dev/null; then
      python3 -c "$py_untar" "$deb" "$work/vulkan"
    else
      (cd "$work/vulkan" && ar x "$deb" && tar -xf data.tar.* && rm -f data.tar.* control.tar.* debian-binary)
    fi
  fi
  export LD_LIBRARY_PATH="$work/vulkan/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi
[ -z "$icd" ] || export VK_ICD_FILENAMES="$icd"
exec "$work/node/bin/node" "$work/app/gpu/check.mjs" "$@"
