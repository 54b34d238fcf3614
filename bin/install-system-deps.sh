#!/usr/bin/env bash
# Debian packages the test suite needs: Chromium for the report's browser test,
# PyTorch + OpenBLAS for the training smoke test. Safe to run twice; skips what is present.
set -euo pipefail
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
python3 -c 'import torch' >/dev/null 2>&1 || need+=(python3-torch libopenblas0-pthread)
if [ ${#need[@]} -eq 0 ]; then echo "system packages: all present"; exit 0; fi
if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
echo "installing Debian packages: ${need[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
