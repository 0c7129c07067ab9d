// Internal: finding one frame's bytes in Pixel Data, native (PS3.5 8.1.1, 8.2) or
// encapsulated (PS3.5 A.4).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "pixel/pixel_object.h"

namespace radflow::pixel {

// What is known about the fragments of encapsulated Pixel Data. Offsets count from the
// first byte of the first fragment's Item tag (after the Basic Offset Table item).
struct FragmentTable {
  std::vector<uint32_t> lengths;           // value length of each fragment item
  std::vector<uint64_t> basic_offsets;     // Basic Offset Table, empty if absent
  std::vector<uint64_t> extended_offsets;  // Extended Offset Table (7FE0,0001)
  std::vector<uint64_t> extended_lengths;  // Extended Offset Table Lengths (7FE0,0002)
  // True when fragment i begins with the codec's start-of-image marker (JPEG SOI, J2K SOC);
  // consulted only when no table locates the frames.
  std::function<bool(size_t)> starts_image;
};

// Fragments [first, last) hold the frame; `length` trims their joined bytes (Extended
// Offset Table Lengths).
struct FrameFragments {
  size_t first = 0;
  size_t last = 0;
  std::optional<uint64_t> length;
};

// Pure: which fragments hold frame `index` of `frames`. kInvalidDicom when the tables
// contradict the fragments.
Result<FrameFragments> LocateFrame(const FragmentTable& table, int index, int frames);
// Every frame at once, by the same rules: O(fragments + frames) rather than O(fragments)
// per frame.
std::vector<Result<FrameFragments>> LocateFrames(const FragmentTable& table, int frames);

// The frame's bitstream, fragments joined (encapsulated syntaxes).
Result<std::string> ReadEncapsulatedFrame(PixelObject& obj, int index);

// The frame's bytes from native Pixel Data. `file_order`: as stored; else little endian
// (PS3.5 7.3: OW swapped per 16-bit word in Big Endian, wider samples per sample).
// 1-bit frames are shifted to start at bit 0. Planar configuration is kept.
Result<std::string> ReadNativeFrame(PixelObject& obj, int index, bool file_order);

// Color-by-plane -> color-by-pixel (PlanarConfiguration 1 -> 0, PS3.3 C.7.6.3.1.3).
std::string InterleavePlanes(const std::string& planar, int samples, int bytes_per_sample);

// Packs one value per byte (0 or not) into bits, first pixel in the least significant bit
// (PS3.5 8.1.1 and Annex D).
std::string PackBits(const std::string& values);

}  // namespace radflow::pixel
