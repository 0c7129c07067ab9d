#!/usr/bin/env bash
# Installs what the web viewer and its browser test need. Idempotent; run as root (from
# scripts/setup.sh). A second run costs a few file checks.
#   1. Debian packages: node, npm and chromium, only those missing (a node that came from
#      elsewhere, e.g. NodeSource, is kept as it is).
#   2. The prebuilt OHIF viewer, pinned, into $RADFLOW_WEB_CACHE/dist, rewritten once to be
#      served under /ohif/ (docs: shared notes/ohif.md). radflow serves it (--web-dir).
#      The slide microscopy viewer stays (OHIF's microscopy mode, docs/ophthalmic.md and
#      docs/wsi.md); a copy installed without it (rewrite 1) is redone.
#   3. playwright-core for tests/browser (pinned in tests/browser/package-lock.json).
#   4. The web application's packages: `npm ci` in web/ when web/node_modules was not
#      installed from the current web/package-lock.json (make builds web/dist from them).
#   5. The FHIR R4 schema validator of tests/fhir (pinned in tests/fhir/package-lock.json),
#      which tests/integration/test_reports.py runs on radflow's FHIR resources.
#   6. The OpenID provider of the OIDC tests (npm oidc-provider 9, pinned in
#      tests/oidc/package-lock.json; it needs Node 20.19 or later).
#   7. The S3-compatible server of the object-store tests (npm s3rver 3.7.1, pinned in
#      tests/s3/package-lock.json; docs/storage-backends.md).
set -euo pipefail

OHIF_VERSION=3.13.2
MOUNT=/ohif/
# Bump when the rewrite below changes, so that installed copies are redone.
REWRITE_REVISION=2
CACHE=${RADFLOW_WEB_CACHE:-/var/cache/radflow/ohif-${OHIF_VERSION}}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi

# --- 1. Debian packages ------------------------------------------------------------------
missing=()
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
[ -x /usr/bin/chromium ] || missing+=(chromium)
if [ ${#missing[@]} -gt 0 ]; then
  echo "radflow setup_web: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# --- 2. The OHIF viewer ------------------------------------------------------------------
marker="ohif ${OHIF_VERSION} mount ${MOUNT} rewrite ${REWRITE_REVISION}"
if [ "$(cat "$CACHE/dist/.radflow-install" 2>/dev/null)" != "$marker" ]; then
  echo "radflow setup_web: installing OHIF viewer ${OHIF_VERSION} into $CACHE/dist"
  $SUDO mkdir -p "$CACHE"
  tarball="$CACHE/ohif-app-${OHIF_VERSION}.tgz"
  if ! tar -tzf "$tarball" >/dev/null 2>&1; then
    # npm checks the tarball against the registry's integrity hash.
    tmp_pack=$($SUDO mktemp -d "$CACHE/.pack.XXXXXX")
    (cd "$tmp_pack" && $SUDO npm pack --silent --pack-destination "$tmp_pack" \
      "@ohif/app@${OHIF_VERSION}" >/dev/null)
    $SUDO mv "$tmp_pack/ohif-app-${OHIF_VERSION}.tgz" "$tarball"
    $SUDO rm -rf "$tmp_pack"
  fi
  work=$($SUDO mktemp -d "$CACHE/.work.XXXXXX")
  trap '$SUDO rm -rf "$work"' EXIT
  $SUDO tar -xzf "$tarball" -C "$work" package/dist
  dist="$work/package/dist"
  # onnxruntime (OHIF's optional AI tools, 136 MB) is never requested. The slide
  # microscopy viewer (dicom-microscopy-viewer, 20 MB; the microscopy mode loads it for
  # studies with ModalitiesInStudy SM) stays; its source maps (10 MB) go.
  $SUDO rm -rf "$dist/ort"
  $SUDO rm -f "$dist"/dicom-microscopy-viewer/*.map
  if [ ! -f "$dist/dicom-microscopy-viewer/dicomMicroscopyViewer.min.js" ]; then
    echo "radflow setup_web: the OHIF package has no dicom-microscopy-viewer" >&2
    exit 1
  fi

  # The build assumes it is served at "/": move every absolute path under $MOUNT.
  # perl -pi -e EXPRESSION FILES..., with $ENV{MOUNT} (single quotes on purpose).
  rewrite() { $SUDO env MOUNT="$MOUNT" perl -pi -e "$@"; }
  # index.html: the public URL, and the href/src/content paths (not protocol-relative //).
  # shellcheck disable=SC2016
  rewrite 's{window\.PUBLIC_URL="/"}{window.PUBLIC_URL="$ENV{MOUNT}"}g;
                     s{\b(href|src|content)="/(?!/)}{$1="$ENV{MOUNT}}g' "$dist/index.html"
  # The web app manifest is fetched without credentials unless asked: under radflow's
  # sign-in that is a 401 in the console of every viewer load.
  rewrite 's{<link rel="manifest" href=}{<link rel="manifest" crossorigin="use-credentials" href=}' "$dist/index.html"
  # webpack's public path, from which chunks, workers, wasm codecs and fonts are loaded.
  mapfile -t bundles < <(grep -l '__webpack_require__.p = "/";' "$dist"/*.js || true)
  if [ ${#bundles[@]} -eq 0 ]; then
    echo "radflow setup_web: no webpack public path found in the OHIF bundles" >&2
    exit 1
  fi
  # shellcheck disable=SC2016
  rewrite 's{__webpack_require__\.p = "/";}{__webpack_require__.p = "$ENV{MOUNT}";}g' \
    "${bundles[@]}"
  # The microscopy viewer is imported from an absolute path in the app bundle; its worker
  # and wasm codecs then load relative to PUBLIC_URL (window.PUBLIC_LIB_URL).
  mapfile -t dmv < <(grep -l "'/dicom-microscopy-viewer/" "$dist"/*.js || true)
  if [ ${#dmv[@]} -eq 0 ]; then
    echo "radflow setup_web: no dicom-microscopy-viewer import found in the OHIF bundles" >&2
    exit 1
  fi
  rewrite "s{'/dicom-microscopy-viewer/}{'\$ENV{MOUNT}dicom-microscopy-viewer/}g" "${dmv[@]}"
  # Fonts and images referenced from the style sheets.
  # shellcheck disable=SC2016
  rewrite 's{url\(/(?!/)}{url($ENV{MOUNT}}g' "$dist"/*.css
  # The web app manifest's icons.
  # shellcheck disable=SC2016
  rewrite 's{"/assets/}{"$ENV{MOUNT}assets/}g' "$dist/manifest.json"
  # The shipped configuration points at OHIF's public demo servers; radflow generates
  # its own at ${MOUNT}app-config.js.
  $SUDO rm -f "$dist/app-config.js"

  if ! grep -q "window.PUBLIC_URL=\"${MOUNT}\"" "$dist/index.html" ||
     ! grep -q "src=\"${MOUNT}app-config.js\"" "$dist/index.html"; then
    echo "radflow setup_web: rewriting index.html for ${MOUNT} failed" >&2
    exit 1
  fi
  echo "$marker" | $SUDO tee "$dist/.radflow-install" >/dev/null
  # Swap the finished copy in.
  if [ -e "$CACHE/dist" ]; then $SUDO mv "$CACHE/dist" "$work/old-dist"; fi
  $SUDO mv "$dist" "$CACHE/dist"
  $SUDO chmod -R a+rX "$CACHE"
  echo "radflow setup_web: OHIF ${OHIF_VERSION} ready in $CACHE/dist ($(du -sh "$CACHE/dist" | cut -f1))"
fi

# --- 3. playwright-core for the browser test ----------------------------------------------
browser_dir="$ROOT/tests/browser"
want=$(node -e 'const l=require(process.argv[1]);console.log(l.packages["node_modules/playwright-core"].version)' \
  "$browser_dir/package-lock.json")
have=$(node -e 'try{console.log(require(process.argv[1]).version)}catch(e){console.log("")}' \
  "$browser_dir/node_modules/playwright-core/package.json")
if [ "$want" != "$have" ]; then
  echo "radflow setup_web: installing playwright-core ${want} into tests/browser/node_modules"
  # playwright-core downloads no browser; the test drives Debian's /usr/bin/chromium.
  (cd "$browser_dir" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --silent --no-audit --no-fund)
fi

# --- 4. the web application's packages (web/, built by make into web/dist) ------------------
web_dir="$ROOT/web"
if [ -f "$web_dir/package-lock.json" ]; then
  lock_sum=$(sha256sum "$web_dir/package-lock.json" | cut -d' ' -f1)
  if [ "$(cat "$web_dir/node_modules/.radflow-lock-sha256" 2>/dev/null)" != "$lock_sum" ]; then
    echo "radflow setup_web: installing the web app's packages into web/node_modules (npm ci)"
    (cd "$web_dir" && npm ci --silent --no-audit --no-fund --include=dev)
    echo "$lock_sum" > "$web_dir/node_modules/.radflow-lock-sha256"
    # Run as root for a checkout owned by someone else: leave the packages to the owner.
    chown -R --reference="$web_dir/package.json" "$web_dir/node_modules" 2>/dev/null || true
  fi
fi

# --- 5. the FHIR R4 schema validator (tests/fhir, for tests/integration/test_reports.py) ------
fhir_dir="$ROOT/tests/fhir"
if [ -f "$fhir_dir/package-lock.json" ]; then
  lock_sum=$(sha256sum "$fhir_dir/package-lock.json" | cut -d' ' -f1)
  if [ "$(cat "$fhir_dir/node_modules/.radflow-lock-sha256" 2>/dev/null)" != "$lock_sum" ]; then
    echo "radflow setup_web: installing the FHIR validator into tests/fhir/node_modules (npm ci)"
    (cd "$fhir_dir" && npm ci --silent --no-audit --no-fund)
    echo "$lock_sum" > "$fhir_dir/node_modules/.radflow-lock-sha256"
    chown -R --reference="$fhir_dir/package.json" "$fhir_dir/node_modules" 2>/dev/null || true
  fi
fi

# --- 6. the OpenID provider of the OIDC tests (tests/oidc: npm oidc-provider, pinned) --------
oidc_dir="$ROOT/tests/oidc"
if [ -f "$oidc_dir/package-lock.json" ]; then
  lock_sum=$(sha256sum "$oidc_dir/package-lock.json" | cut -d' ' -f1)
  if [ "$(cat "$oidc_dir/node_modules/.radflow-lock-sha256" 2>/dev/null)" != "$lock_sum" ]; then
    echo "radflow setup_web: installing oidc-provider into tests/oidc/node_modules (npm ci)"
    (cd "$oidc_dir" && npm ci --silent --no-audit --no-fund)
    echo "$lock_sum" > "$oidc_dir/node_modules/.radflow-lock-sha256"
    chown -R --reference="$oidc_dir/package.json" "$oidc_dir/node_modules" 2>/dev/null || true
  fi
fi

# --- 7. the S3-compatible server of the object-store tests (tests/s3: npm s3rver, pinned) ----
s3_dir="$ROOT/tests/s3"
if [ -f "$s3_dir/package-lock.json" ]; then
  lock_sum=$(sha256sum "$s3_dir/package-lock.json" | cut -d' ' -f1)
  if [ "$(cat "$s3_dir/node_modules/.radflow-lock-sha256" 2>/dev/null)" != "$lock_sum" ]; then
    echo "radflow setup_web: installing s3rver into tests/s3/node_modules (npm ci)"
    (cd "$s3_dir" && npm ci --silent --no-audit --no-fund)
    echo "$lock_sum" > "$s3_dir/node_modules/.radflow-lock-sha256"
    chown -R --reference="$s3_dir/package.json" "$s3_dir/node_modules" 2>/dev/null || true
  fi
fi
