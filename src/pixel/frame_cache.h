// Frame offsets of stored instances, found once and kept (WADO-RS frames of whole-slide
// images: a frame of a 10,000-frame instance is one pread, no scan of the file).
//
// The first request for an instance scans its Part-10 file once (Pixel Data fragments,
// PS3.5 A.4; native frames, PS3.5 8.1.1) and remembers where each frame's bytes are; later
// requests read those bytes only. Entries are keyed by path and checked against the file's
// device, inode, size, modification and change times, so a replaced blob is scanned again.
//
// Thread-safe: any number of threads may call FrameCache::Frame at once.
#pragma once

#include <cstdint>
#include <future>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "base/status.h"
#include "pixel/pixel_data.h"

namespace radflow::pixel {

// File identity a layout belongs to (a replaced or rewritten blob differs in one of them).
struct FileIdentity {
  uint64_t size = 0, inode = 0, device = 0;
  int64_t mtime_ns = 0, ctime_ns = 0;
  bool operator==(const FileIdentity&) const = default;
};

// Where one instance's frames are in its file.
struct FrameLayout {
  ImageInfo info;
  bool encapsulated = false;
  // Encapsulated: the file offset and length of each fragment's value, and per frame its
  // fragments [first, first + count) and byte count, found once by LocateFrames (frames.h,
  // the rules EncodedFrame uses). count 0: the frame cannot be located (error kept).
  struct Frame {
    uint32_t first = 0, count = 0;
    uint64_t bytes = 0;
  };
  std::vector<uint64_t> fragment_offsets;
  std::vector<uint32_t> fragment_lengths;
  std::vector<Frame> frames;
  std::string frame_error;  // why a frame with count 0 cannot be located
  // Native (little endian, whole bytes per frame): where frame 0 starts and each frame's size.
  uint64_t native_offset = 0;
  uint64_t native_frame_bytes = 0;
  FileIdentity identity;
  size_t MemoryBytes() const;  // what the cache's byte budget counts
};

// Scans `path` (pure parse of the Part-10 structure, values not loaded). kUnsupported when
// the layout is one this fast path does not serve (big endian, deflated dataset, 1-bit or
// planar native frames, a transfer syntax the File Meta reading disagrees on); other errors
// when the scanner cannot read the structure. Either way callers then use
// EncodedFrame/DecodeFrame (DCMTK), which may still read it.
Result<std::shared_ptr<const FrameLayout>> ScanFrameLayout(const std::string& path);

class FrameCache {
 public:
  // Bounded by the layouts' memory (fragment and frame tables), least recently used evicted.
  explicit FrameCache(size_t budget_bytes = size_t{64} << 20) : budget_(budget_bytes) {}

  // The layout of `path`, scanned on first use (or when the file changed). Concurrent
  // first requests wait for one scan. A failed scan is remembered for the same file
  // identity (logged once) and returned again without rescanning; kNotFound is not kept.
  Result<std::shared_ptr<const FrameLayout>> Layout(const std::string& path);
  // Frame `index` (0-based) as stored: the encapsulated bitstream (fragments joined) or the
  // native frame's bytes. kNotFound past the last frame. Rescans once when the file changed.
  Result<std::string> Frame(const std::string& path, int index);
  // Reads frame `index` of an already obtained layout. kCancelled (IsStale) when the file
  // opened is not the one the layout was made from.
  static Result<std::string> ReadFrame(const std::string& path, const FrameLayout& layout,
                                       int index);
  static bool IsStale(const Status& s) { return s.code() == ErrorCode::kCancelled; }

  size_t scans() const;       // how many times a file was scanned (tests)
  size_t bytes() const;       // memory held by cached layouts (tests)
  size_t entries() const;     // layouts (and remembered failures) held (tests)

 private:
  using Scanned = Result<std::shared_ptr<const FrameLayout>>;
  struct Entry {
    FileIdentity identity;
    std::shared_future<Scanned> result;
    bool ready = false;
    size_t bytes = 0;
    std::list<std::string>::iterator pos;
  };
  void EvictLocked();

  size_t budget_;
  mutable std::mutex mu_;
  std::list<std::string> lru_;  // most recent first
  std::map<std::string, Entry> entries_;
  size_t bytes_ = 0;
  size_t scans_ = 0;
};

// The process-wide cache WADO-RS uses.
FrameCache& SharedFrameCache();

}  // namespace radflow::pixel
