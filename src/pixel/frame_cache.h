// Frame offsets of stored instances, found once and kept (WADO-RS frames of whole-slide
// images: a frame of a 10,000-frame instance is one pread, no scan of the file).
//
// The first request for an instance scans its Part-10 file once (Pixel Data fragments,
// PS3.5 A.4; native frames, PS3.5 8.1.1) and remembers where each frame's bytes are; later
// requests read those bytes only. Entries are keyed by path and checked against the file's
// size, inode and modification time, so a replaced blob is scanned again.
//
// Thread-safe: any number of threads may call FrameCache::Frame at once.
#pragma once

#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "base/status.h"
#include "pixel/pixel_data.h"

namespace radflow::pixel {

struct FragmentTable;  // frames.h (internal)

// Where one instance's frames are in its file.
struct FrameLayout {
  ImageInfo info;
  bool encapsulated = false;
  // Encapsulated: the file offset of each fragment's value, and the fragment table that
  // LocateFrame (frames.h) reads, so frames are found by the same rules as EncodedFrame.
  std::vector<uint64_t> fragment_offsets;
  std::shared_ptr<FragmentTable> table;
  // Native (little endian, whole bytes per frame): where frame 0 starts and each frame's size.
  uint64_t native_offset = 0;
  uint64_t native_frame_bytes = 0;
  // File identity the layout belongs to.
  uint64_t size = 0, inode = 0;
  int64_t mtime_ns = 0;
};

// Scans `path` (pure parse of the Part-10 structure, values not loaded). kUnsupported when
// the layout is one this fast path does not serve (big endian, deflated dataset, 1-bit or
// planar native frames): callers then use EncodedFrame/DecodeFrame.
Result<std::shared_ptr<const FrameLayout>> ScanFrameLayout(const std::string& path);

class FrameCache {
 public:
  explicit FrameCache(size_t capacity = 512) : capacity_(capacity) {}

  // The layout of `path`, scanned on first use (or when the file changed).
  Result<std::shared_ptr<const FrameLayout>> Layout(const std::string& path);
  // Frame `index` (0-based) as stored: the encapsulated bitstream (fragments joined) or the
  // native frame's bytes. kNotFound past the last frame.
  Result<std::string> Frame(const std::string& path, int index);
  // Reads frame `index` of an already obtained layout.
  static Result<std::string> ReadFrame(const std::string& path, const FrameLayout& layout,
                                       int index);

  size_t scans() const;  // how many times a file was scanned (tests)

 private:
  size_t capacity_;
  mutable std::mutex mu_;
  std::list<std::string> lru_;  // most recent first
  struct Entry {
    std::shared_ptr<const FrameLayout> layout;
    std::list<std::string>::iterator pos;
  };
  std::map<std::string, Entry> entries_;
  size_t scans_ = 0;
};

// The process-wide cache WADO-RS uses.
FrameCache& SharedFrameCache();

}  // namespace radflow::pixel
