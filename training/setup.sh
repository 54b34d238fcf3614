#!/usr/bin/env bash
# Installs what `npm run train` needs: Debian's PyTorch for /usr/bin/python3 (Python 3.11) and the
# pthread OpenBLAS (without it torch falls back to a reference BLAS and trains ~10x slower).
# Idempotent: installs nothing when both are present. No PyPI: Debian packages only.
set -euo pipefail
PY=/usr/bin/python3
need=()
"$PY" -c 'import torch' >/dev/null 2>&1 || need+=(python3-torch)
dpkg -s libopenblas0-pthread >/dev/null 2>&1 || need+=(libopenblas0-pthread)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
  echo "installing Debian packages: ${need[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
OPENBLAS_NUM_THREADS=2 "$PY" -c 'import torch, numpy; print(f"training ready: torch {torch.__version__}, numpy {numpy.__version__}")'
