#!/usr/bin/env bash
# Installs every Debian package radflow's build and tests need. Idempotent; run as root.
# Only packages that are missing are installed, so a second run costs a dpkg query.
set -euo pipefail

PACKAGES=(
  # build
  build-essential cmake ninja-build ccache pkg-config git
  # libraries
  libdcmtk-dev libsqlite3-dev libboost1.74-dev libboost-system1.74-dev
  nlohmann-json3-dev libspdlog-dev libfmt-dev libcli11-dev
  libssl-dev zlib1g-dev libgtest-dev libgmock-dev libbenchmark-dev
  libopenjp2-7-dev libpng-dev libjpeg-dev libnifti2-dev libfftw3-dev
  # AI engine: libtorch (TorchScript) and OpenCV dnn (ONNX) backends, OpenBLAS for libtorch
  # (without it Debian leaves the reference BLAS: ~3x slower), python3-torch to train the
  # test models, yaml-cpp for YAML manifests.
  libtorch-dev libopencv-dnn-dev libopenblas0-openmp python3-torch libyaml-cpp-dev
  # priors: rigid/affine registration (ITK, headers only in src/registration/itk_register.cpp)
  libinsighttoolkit5-dev
  # reports: MRRT templates (libxml2 HTML parser), similar cases (hnswlib)
  libxml2-dev libhnswlib-dev
  # security and privacy (issue 18): Argon2id passwords, JOSE (OIDC JWTs), libcurl (OIDC
  # discovery and token calls), Tesseract OCR (burned-in text), libarchive (export downloads)
  libargon2-dev libcjose-dev libjansson-dev libcurl4-openssl-dev libtesseract-dev tesseract-ocr-eng libarchive-dev
  # orders and scheduling (issue 14): XGBoost's C API (no-show model); scikit-learn is the
  # benchmark's same-run peer
  libxgboost-dev python3-sklearn
  # beyond radiology (issue 17): vendor slides through OpenSlide (and libtiff) for
  # `radflow wsi import`; python3-openslide reads the source slide in the import tests
  libopenslide-dev python3-openslide
  # scale (issue 15): the PostgreSQL index through libpq, PostgreSQL 15 itself for the tests
  # (initdb/pg_ctl into a temporary folder) and Orthanc's PostgreSQL plugin (the benchmark's
  # peer); libcurl (above) signs S3 requests; wrk drives the HTTP benchmarks; python3-boto3 is
  # the S3 tests' independent client; CharLS (through DCMTK's dcmjpls) compresses stored pixels
  libpq-dev postgresql-15 orthanc-postgresql wrk python3-boto3 python3-psycopg2
  # fuzzing (libFuzzer ships with clang's runtime)
  clang-14 libclang-rt-14-dev
  # real peers used by the tests and benchmarks
  dcmtk orthanc dicom3tools sqlite3 python3 python3-pydicom python3-numpy procps curl
  python3-hl7 python3-jsonschema
  # Orthanc's DICOMweb and whole-slide plugins and OrthancWSIDicomizer: the WSI peers (issue 17)
  orthanc-dicomweb orthanc-wsi
  # the audit trail's syslog peer over TLS, and certificates for the TLS tests
  rsyslog rsyslog-gnutls openssl libxml2-utils
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    SUDO=sudo
  else
    SUDO=
  fi
  echo "radflow setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
  # The orthanc package starts a system service on 4242/8042; tests start their own Orthanc.
  if command -v systemctl >/dev/null 2>&1; then
    $SUDO systemctl disable --now orthanc >/dev/null 2>&1 || true
  fi
  $SUDO service orthanc stop >/dev/null 2>&1 || true
fi

# The OHIF viewer (npm), chromium and playwright-core for the browser test.
"$(dirname "$0")/setup_web.sh"
