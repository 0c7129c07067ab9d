#!/usr/bin/env bash
# Builds the libFuzzer target with clang in build-fuzz/ and runs it for SECONDS seconds
# over a seed corpus of real files (small ones, so that mutations stay fast).
set -euo pipefail
src=$1 data=$2 seconds=${3:-60}
build=$src/build-fuzz
if [ ! -f "$build/build.ninja" ]; then
  CC=clang CXX=clang++ cmake -S "$src" -B "$build" -G Ninja -DRADFLOW_FUZZ=ON \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
cmake --build "$build" --target parse_fuzzer multipart_fuzzer >/dev/null
corpus=$build/corpus
rm -rf "$corpus" && mkdir -p "$corpus"
find "$data/dicom/edgecases_pydicom" "$data/dicom/codecs" -type f -size -64k \
  -exec cp {} "$corpus/" \; 2>/dev/null || true
export ASAN_OPTIONS=detect_leaks=0
# The limits are failure criteria, not speed claims: one input running over 10 s (-timeout) is
# reported as a hang; over 4 GiB in one allocation (-malloc_limit_mb) or 6 GiB resident
# (-rss_limit_mb) as a memory bug (parse_fuzzer; multipart_fuzzer keeps libFuzzer's 2 GiB default).
cd "$build"
# The STOW-RS multipart parser gets a quarter of the time, from a small seed body.
mcorpus=$build/multipart-corpus
rm -rf "$mcorpus" && mkdir -p "$mcorpus"
printf '\x05--bnd\r\nContent-Type: application/dicom\r\n\r\nabc\r\n--bnd\r\n\r\nd\r\n--bnd--\r\n' > "$mcorpus/seed"
"$build/tests/fuzz/multipart_fuzzer" "$mcorpus" -max_total_time=$((seconds / 4)) -max_len=4096 \
  -timeout=10 -print_final_stats=1
exec "$build/tests/fuzz/parse_fuzzer" "$corpus" -max_total_time=$((seconds - seconds / 4)) -max_len=131072 \
  -timeout=10 -rss_limit_mb=6144 -malloc_limit_mb=4096 -print_final_stats=1
