#!/usr/bin/env bash
# Debian packages the test suite needs: Chromium for the report's browser test, and what training needs
# (PyTorch + OpenBLAS, via training/setup.sh) for the training smoke test. Safe to run twice.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
  echo "installing Debian packages: chromium"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi
bash training/setup.sh
