#include "pixel/frame_cache.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "base/log.h"
#include "pixel/frames.h"
#include "pixel/pixel_object.h"

namespace radflow::pixel {

namespace {

Status Invalid(const std::string& what) { return Status(ErrorCode::kInvalidDicom, what); }

constexpr uint32_t kUndefined = 0xFFFFFFFFu;
constexpr uint32_t kItem = 0xFFFEE000u, kItemEnd = 0xFFFEE00Du, kSequenceEnd = 0xFFFEE0DDu;
constexpr uint32_t kPixelData = 0x7FE00010u, kExtendedOffsets = 0x7FE00001u,
                   kExtendedLengths = 0x7FE00002u;
constexpr int kMaxDepth = 64;  // nested sequences; deeper is refused, not recursed into

FileIdentity IdentityOf(const struct stat& st) {
  FileIdentity id;
  id.size = static_cast<uint64_t>(st.st_size);
  id.inode = static_cast<uint64_t>(st.st_ino);
  id.device = static_cast<uint64_t>(st.st_dev);
  id.mtime_ns = int64_t(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  id.ctime_ns = int64_t(st.st_ctim.tv_sec) * 1000000000 + st.st_ctim.tv_nsec;
  return id;
}

constexpr size_t kWindow = 64 * 1024;

// An open file read through a small window (the scan reads headers, front to back).
class FileReader {
 public:
  ~FileReader() {
    if (fd_ >= 0) ::close(fd_);
  }
  Status Open(const std::string& path, FrameLayout& id) {
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    struct stat st {};
    if (fd_ < 0 || ::fstat(fd_, &st) != 0) return Status(ErrorCode::kNotFound, "cannot open " + path);
    size_ = static_cast<uint64_t>(st.st_size);
    id.identity = IdentityOf(st);
    return Status::Ok();
  }
  uint64_t size() const { return size_; }
  // Copies n bytes at pos; false past the end. Outside the window, `window` bytes are
  // read (a fragment walk whose fragments are larger than the window reads just headers).
  bool Read(uint64_t pos, void* out, size_t n, size_t window = kWindow) {
    if (pos + n > size_) return false;
    if (pos < start_ || pos + n > start_ + buf_.size()) {
      buf_.resize(static_cast<size_t>(std::min<uint64_t>(std::max(n, window), size_ - pos)));
      ssize_t got = ::pread(fd_, buf_.data(), buf_.size(), static_cast<off_t>(pos));
      if (got < static_cast<ssize_t>(n)) {
        buf_.clear();
        return false;
      }
      buf_.resize(static_cast<size_t>(got));
      start_ = pos;
    }
    std::memcpy(out, buf_.data() + (pos - start_), n);
    return true;
  }
  bool U16(uint64_t pos, uint16_t* v) {
    unsigned char b[2];
    if (!Read(pos, b, 2)) return false;
    *v = uint16_t(b[0] | b[1] << 8);
    return true;
  }
  bool U32(uint64_t pos, uint32_t* v, size_t window = kWindow) {
    unsigned char b[4];
    if (!Read(pos, b, 4, window)) return false;
    *v = uint32_t(b[0]) | uint32_t(b[1]) << 8 | uint32_t(b[2]) << 16 | uint32_t(b[3]) << 24;
    return true;
  }
  bool Tag(uint64_t pos, uint32_t* tag, size_t window = kWindow) {
    unsigned char b[4];
    if (!Read(pos, b, 4, window)) return false;
    *tag = uint32_t(b[0] | b[1] << 8) << 16 | uint32_t(b[2] | b[3] << 8);
    return true;
  }

 private:
  int fd_ = -1;
  uint64_t size_ = 0;
  std::vector<char> buf_;
  uint64_t start_ = 0;
};

// PS3.5 7.1.2: VRs with a 2-byte reserved field and a 4-byte length in explicit VR.
bool LongFormVr(const char vr[2]) {
  static const char* kLong[] = {"OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV",
                                "UC", "UN", "UR", "UT", "UV"};
  for (const char* l : kLong) {
    if (vr[0] == l[0] && vr[1] == l[1]) return true;
  }
  return false;
}

struct Header {
  uint32_t tag = 0;
  uint32_t length = 0;
  uint64_t value = 0;    // file offset of the value
  bool implicit_inside = false;  // an undefined-length UN holds implicit VR LE (PS3.5 6.2.2)
};

bool ReadHeader(FileReader& f, uint64_t pos, bool implicit, Header* h) {
  if (!f.Tag(pos, &h->tag)) return false;
  // Item and delimitation tags have no VR in either encoding (PS3.5 7.5).
  if ((h->tag >> 16) == 0xFFFE || implicit) {
    h->value = pos + 8;
    h->implicit_inside = implicit;
    return f.U32(pos + 4, &h->length);
  }
  char vr[2];
  if (!f.Read(pos + 4, vr, 2)) return false;
  h->implicit_inside = vr[0] == 'U' && vr[1] == 'N';
  if (LongFormVr(vr)) {
    h->value = pos + 12;
    return f.U32(pos + 8, &h->length);
  }
  uint16_t len;
  h->value = pos + 8;
  if (!f.U16(pos + 6, &len)) return false;
  h->length = len;
  return true;
}

Result<uint64_t> SkipSequence(FileReader& f, uint64_t pos, bool implicit, int depth);

// Elements of an undefined-length item up to and past its Item Delimitation.
Result<uint64_t> SkipItem(FileReader& f, uint64_t pos, bool implicit, int depth) {
  for (;;) {
    Header h;
    if (!ReadHeader(f, pos, implicit, &h)) return Invalid("truncated item in a sequence");
    if (h.tag == kItemEnd) return h.value;
    if (h.length == kUndefined) {
      auto next = SkipSequence(f, h.value, h.implicit_inside, depth + 1);
      if (!next.ok()) return next;
      pos = next.value();
    } else {
      pos = h.value + h.length;
    }
  }
}

// Items of an undefined-length sequence up to and past its Sequence Delimitation.
Result<uint64_t> SkipSequence(FileReader& f, uint64_t pos, bool implicit, int depth) {
  if (depth > kMaxDepth) return Invalid("sequences nested deeper than 64 levels");
  for (;;) {
    uint32_t tag, length;
    if (!f.Tag(pos, &tag) || !f.U32(pos + 4, &length)) return Invalid("truncated sequence");
    if (tag == kSequenceEnd) return pos + 8;
    if (tag != kItem) return Invalid("sequence holds a non-item element");
    if (length == kUndefined) {
      auto next = SkipItem(f, pos + 8, implicit, depth);
      if (!next.ok()) return next;
      pos = next.value();
    } else {
      pos += 8 + uint64_t(length);
    }
  }
}

// Extended Offset Table (Lengths), PS3.3 C.7.6.3.1.8: one 64-bit value per frame. Checked
// before anything is allocated.
Result<std::vector<uint64_t>> ReadU64s(FileReader& f, const Header& h, int frames) {
  if (h.value + uint64_t(h.length) > f.size()) return Invalid("Extended Offset Table longer than the file");
  if (h.length % 8) return Invalid("Extended Offset Table length not a multiple of 8");
  if (h.length / 8 > uint64_t(std::max(frames, 0))) {
    return Invalid("Extended Offset Table has " + std::to_string(h.length / 8) + " entries for " +
                   std::to_string(frames) + " frames");
  }
  std::string raw(h.length, '\0');
  if (!f.Read(h.value, raw.data(), raw.size(), raw.size())) return Invalid("truncated Extended Offset Table");
  std::vector<uint64_t> out(h.length / 8);
  const auto* b = reinterpret_cast<const unsigned char*>(raw.data());
  for (size_t i = 0; i < out.size(); ++i) {
    uint64_t v = 0;
    for (int k = 7; k >= 0; --k) v = v << 8 | b[8 * i + k];
    out[i] = v;
  }
  return out;
}

Status ScanInto(const std::string& path, FrameLayout& layout, FragmentTable& table) {
  FileReader f;
  RADFLOW_RETURN_IF_ERROR(f.Open(path, layout));
  char magic[4];
  if (!f.Read(128, magic, 4) || std::memcmp(magic, "DICM", 4) != 0) {
    // Stored blobs always are Part-10 (ingest checks); other files take the DCMTK path.
    return Status(ErrorCode::kUnsupported, "no Part-10 preamble: frame offsets not cached");
  }
  // File Meta Information: explicit VR little endian, group 0002 (PS3.10 7.1).
  uint64_t pos = 132;
  std::string ts;
  for (;;) {
    Header h;
    if (!ReadHeader(f, pos, false, &h)) return Invalid("truncated File Meta Information");
    if ((h.tag >> 16) != 0x0002) break;
    if (h.length == kUndefined) return Invalid("undefined length in File Meta Information");
    if (h.tag == 0x00020010u) {
      if (h.length > 1024) return Invalid("TransferSyntaxUID of " + std::to_string(h.length) + " bytes");
      ts.resize(h.length);
      if (!f.Read(h.value, ts.data(), h.length)) return Invalid("truncated TransferSyntaxUID");
      while (!ts.empty() && (ts.back() == '\0' || ts.back() == ' ')) ts.pop_back();
    }
    pos = h.value + h.length;
  }
  if (ts != layout.info.transfer_syntax_uid) {
    // DCMTK (ReadImageInfo) read another File Meta transfer syntax: its reading decides.
    return Status(ErrorCode::kUnsupported, "frame scanner read transfer syntax '" + ts + "', DCMTK '" +
                                               layout.info.transfer_syntax_uid + "'");
  }
  const TransferSyntax syntax = ClassifyTransferSyntax(ts);
  if (syntax.big_endian || ts == "1.2.840.10008.1.2.1.99") {
    return Status(ErrorCode::kUnsupported, "frame offsets are not cached for transfer syntax " + ts);
  }
  const bool implicit = ts == "1.2.840.10008.1.2";
  std::vector<uint64_t> bot;
  for (;;) {
    Header h;
    if (!ReadHeader(f, pos, implicit, &h)) {
      // Float / Double Float Pixel Data (7FE0,0008/0009) take the DCMTK path.
      return Status(ErrorCode::kUnsupported, "no (integer) Pixel Data (7FE0,0010): frame offsets not cached");
    }
    const int frames = layout.info.number_of_frames;
    if ((h.tag == kExtendedOffsets || h.tag == kExtendedLengths) && h.length != kUndefined) {
      auto values = ReadU64s(f, h, frames);
      if (!values.ok()) return values.status();
      (h.tag == kExtendedOffsets ? table.extended_offsets : table.extended_lengths) = std::move(values.value());
    }
    if (h.tag == kPixelData) {
      if (h.length != kUndefined) {
        layout.encapsulated = false;
        layout.native_offset = h.value;
        if (h.value + h.length > f.size()) return Invalid("Pixel Data longer than the file");
        layout.native_frame_bytes = h.length;  // checked against the frame size by the caller
        return Status::Ok();
      }
      // PS3.5 A.4: the Basic Offset Table item, then one item per fragment.
      layout.encapsulated = true;
      uint64_t p = h.value;
      bool first = true;
      size_t window = kWindow;
      for (;;) {
        uint32_t tag, length;
        if (!f.Tag(p, &tag, window) || !f.U32(p + 4, &length, window)) return Invalid("truncated Pixel Data fragments");
        if (tag == kSequenceEnd) break;
        if (tag != kItem || length == kUndefined) return Invalid("malformed Pixel Data fragment item");
        if (p + 8 + uint64_t(length) > f.size()) return Invalid("Pixel Data fragment longer than the file");
        if (first) {
          if (length % 4) return Invalid("Basic Offset Table length not a multiple of 4");
          // A table with another number of entries than frames is not used (LocateFrame):
          // not read either, so its length allocates nothing.
          if (length / 4 == uint32_t(std::max(frames, 0))) {
            std::string raw(length, '\0');
            if (!f.Read(p + 8, raw.data(), raw.size(), raw.size())) return Invalid("truncated Basic Offset Table");
            const auto* b = reinterpret_cast<const unsigned char*>(raw.data());
            table.basic_offsets.resize(length / 4);
            for (uint32_t k = 0; k < length / 4; ++k) {
              table.basic_offsets[k] = uint32_t(b[4 * k]) | uint32_t(b[4 * k + 1]) << 8 |
                                       uint32_t(b[4 * k + 2]) << 16 | uint32_t(b[4 * k + 3]) << 24;
            }
          }
          first = false;
        } else {
          layout.fragment_offsets.push_back(p + 8);
          table.lengths.push_back(length);
        }
        // The next header lies past the window: read just it, not a window of pixel data.
        window = length >= kWindow ? 8 : kWindow;
        p += 8 + uint64_t(length);
      }
      if (first) return Invalid("encapsulated Pixel Data has no Basic Offset Table item (PS3.5 A.4)");
      return Status::Ok();
    }
    if (h.length == kUndefined) {
      auto next = SkipSequence(f, h.value, h.implicit_inside, 0);
      if (!next.ok()) return next.status();
      pos = next.value();
    } else {
      pos = h.value + h.length;
    }
  }
}


}  // namespace

size_t FrameLayout::MemoryBytes() const {
  return sizeof(FrameLayout) + fragment_offsets.capacity() * sizeof(uint64_t) +
         fragment_lengths.capacity() * sizeof(uint32_t) + frames.capacity() * sizeof(Frame) +
         frame_error.capacity() + info.transfer_syntax_uid.capacity() + info.photometric_interpretation.capacity();
}

Result<std::shared_ptr<const FrameLayout>> ScanFrameLayout(const std::string& path) {
  auto layout = std::make_shared<FrameLayout>();
  FragmentTable t;
  auto info = ReadImageInfo(path);  // the Image Pixel attributes, validated as everywhere
  if (!info.ok()) return info.status();
  layout->info = info.value();
  RADFLOW_RETURN_IF_ERROR(ScanInto(path, *layout, t));
  const ImageInfo& in = layout->info;
  const TransferSyntax syntax = ClassifyTransferSyntax(in.transfer_syntax_uid);
  if (!layout->encapsulated) {
    if (syntax.encoding != Encoding::kNative || in.bits_allocated % 8 != 0 ||
        (in.samples_per_pixel > 1 && in.planar_configuration != 0) ||
        in.photometric_interpretation == "YBR_FULL_422") {
      return Status(ErrorCode::kUnsupported, "native frames of this layout are read by DecodeFrame");
    }
    const uint64_t frame = NativeFrameBytes(in, true);
    if (frame == 0 || frame * uint64_t(in.number_of_frames) > layout->native_frame_bytes) {
      return Invalid("Pixel Data holds " + std::to_string(layout->native_frame_bytes) + " bytes, " +
                     std::to_string(in.number_of_frames) + " frames need " +
                     std::to_string(frame * uint64_t(in.number_of_frames)));
    }
    layout->native_frame_bytes = frame;
    return std::shared_ptr<const FrameLayout>(layout);
  }
  if (syntax.encoding == Encoding::kNative) {
    return Invalid("encapsulated Pixel Data in native transfer syntax " + in.transfer_syntax_uid);
  }
  if (t.lengths.empty()) return Invalid("encapsulated Pixel Data has no fragments");
  if (t.lengths.size() > UINT32_MAX) return Invalid("more than 2^32 fragments");
  // Start-of-image markers, read now only when no table or count can locate the frames.
  const size_t n = t.lengths.size();
  const bool j2k = syntax.encoding == Encoding::kJpeg2000 || syntax.encoding == Encoding::kHtj2k;
  const bool marked = j2k || syntax.encoding == Encoding::kJpeg || syntax.encoding == Encoding::kJpegLs;
  std::vector<char> starts;
  if (marked && t.extended_offsets.empty() && in.number_of_frames > 1 &&
      n != static_cast<size_t>(in.number_of_frames)) {
    starts.assign(n, 0);
    FileReader f;
    FrameLayout ignored;
    RADFLOW_RETURN_IF_ERROR(f.Open(path, ignored));
    for (size_t i = 0; i < n; ++i) {
      unsigned char head[2] = {0, 0};
      // SOC (ISO 15444-1 A.4.1) or SOI (ISO 10918-1 B.2.1, also JPEG-LS).
      starts[i] = t.lengths[i] >= 2 && f.Read(layout->fragment_offsets[i], head, 2, 4096) &&
                  head[0] == 0xFF && head[1] == (j2k ? 0x4F : 0xD8);
    }
    t.starts_image = [&starts](size_t i) { return starts[i] != 0; };
  }
  // Every frame located once: a request is then a lookup and a pread.
  layout->frames.resize(static_cast<size_t>(in.number_of_frames));
  auto located = LocateFrames(t, in.number_of_frames);
  for (size_t i = 0; i < located.size(); ++i) {
    if (!located[i].ok()) {
      if (layout->frame_error.empty()) layout->frame_error = located[i].status().message();
      continue;  // count 0: ReadFrame answers the error
    }
    const FrameFragments& w = located[i].value();
    uint64_t total = 0;
    for (size_t k = w.first; k < w.last; ++k) total += t.lengths[k];
    if (w.length) total = std::min(total, *w.length);
    layout->frames[i] = {static_cast<uint32_t>(w.first), static_cast<uint32_t>(w.last - w.first), total};
  }
  layout->fragment_lengths = std::move(t.lengths);
  return std::shared_ptr<const FrameLayout>(layout);
}

Result<std::string> FrameCache::ReadFrame(const std::string& path, const FrameLayout& layout,
                                          int index) {
  if (index < 0 || index >= layout.info.number_of_frames) {
    return Status(ErrorCode::kNotFound, "frame " + std::to_string(index + 1) + " of " +
                                            std::to_string(layout.info.number_of_frames));
  }
  uint64_t total = 0;
  uint32_t first = 0, count = 1;
  if (layout.encapsulated) {
    const FrameLayout::Frame& fr = layout.frames[static_cast<size_t>(index)];
    if (fr.count == 0) return Invalid(layout.frame_error);
    total = fr.bytes;
    first = fr.first;
    count = fr.count;
  } else {
    total = layout.native_frame_bytes;
  }
  if (total > kMaxFrameBytes || total > layout.identity.size) return Invalid("frame longer than the file");
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status(ErrorCode::kNotFound, "cannot open the instance's file");
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !(IdentityOf(st) == layout.identity)) {
    ::close(fd);
    return Status(ErrorCode::kCancelled, "the file changed since its frames were located");
  }
  std::string out(total, '\0');
  uint64_t at = 0;
  Status status = Status::Ok();
  for (uint32_t k = 0; k < count && at < total && status.ok(); ++k) {
    uint64_t offset = layout.native_offset + total * uint64_t(index), piece = total;
    if (layout.encapsulated) {
      offset = layout.fragment_offsets[first + k];
      piece = std::min<uint64_t>(layout.fragment_lengths[first + k], total - at);
    }
    uint64_t done = 0;
    while (done < piece) {
      ssize_t got = ::pread(fd, out.data() + at + done, piece - done, static_cast<off_t>(offset + done));
      if (got <= 0) {
        status = Invalid("cannot read frame " + std::to_string(index + 1) + " (truncated file?)");
        break;
      }
      done += static_cast<uint64_t>(got);
    }
    at += piece;
  }
  ::close(fd);
  if (!status.ok()) return status;
  return out;
}

void FrameCache::EvictLocked() {
  // Least recently used first; entries still being scanned have no size yet and stay.
  auto it = lru_.end();
  while (bytes_ > budget_ && it != lru_.begin()) {
    --it;
    auto e = entries_.find(*it);
    if (e == entries_.end() || !e->second.ready || lru_.size() == 1) continue;
    bytes_ -= e->second.bytes;
    entries_.erase(e);
    it = lru_.erase(it);
  }
}

Result<std::shared_ptr<const FrameLayout>> FrameCache::Layout(const std::string& path) {
  for (int attempt = 0;; ++attempt) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return Status(ErrorCode::kNotFound, "cannot open the instance's file");
    const FileIdentity id = IdentityOf(st);
    std::shared_future<Scanned> wait;
    std::promise<Scanned> promise;
    {
      std::lock_guard<std::mutex> g(mu_);
      auto it = entries_.find(path);
      if (it != entries_.end() && it->second.identity == id) {
        lru_.splice(lru_.begin(), lru_, it->second.pos);
        if (it->second.ready) return it->second.result.get();
        wait = it->second.result;  // another request scans it: wait for that one (single flight)
      } else {
        if (it != entries_.end()) {
          bytes_ -= it->second.bytes;
          lru_.erase(it->second.pos);
          entries_.erase(it);
        }
        lru_.push_front(path);
        Entry e;
        e.identity = id;
        e.result = promise.get_future().share();
        e.pos = lru_.begin();
        entries_.emplace(path, std::move(e));
        ++scans_;
      }
    }
    if (wait.valid()) {
      Scanned r = wait.get();
      if (r.ok() || r.status().code() != ErrorCode::kNotFound || attempt > 0) return r;
      continue;
    }
    Scanned scanned = ScanFrameLayout(path);
    // The scan's own fstat is the identity it read; a file replaced meanwhile is keyed by
    // the one stat saw, so the next request sees a mismatch and rescans.
    if (!scanned.ok() && scanned.status().code() != ErrorCode::kUnsupported &&
        scanned.status().code() != ErrorCode::kNotFound) {
      // Logged once per file identity: the failure is kept and DCMTK serves the frames.
      log::Warn("frame-offset scan failed for an instance file (its frames go through DCMTK): " +
                scanned.status().message());
    }
    promise.set_value(scanned);
    std::lock_guard<std::mutex> g(mu_);
    auto it = entries_.find(path);
    if (it != entries_.end() && it->second.identity == id && !it->second.ready) {
      if (!scanned.ok() && scanned.status().code() == ErrorCode::kNotFound) {
        lru_.erase(it->second.pos);
        entries_.erase(it);  // not kept: the file may appear
      } else {
        it->second.ready = true;
        it->second.bytes = path.size() + sizeof(Entry) + (scanned.ok() ? scanned.value()->MemoryBytes() : 128);
        bytes_ += it->second.bytes;
        EvictLocked();
      }
    }
    return scanned;
  }
}

Result<std::string> FrameCache::Frame(const std::string& path, int index) {
  for (int attempt = 0;; ++attempt) {
    auto layout = Layout(path);
    if (!layout.ok()) return layout.status();
    auto frame = ReadFrame(path, *layout.value(), index);
    if (IsStale(frame.status()) && attempt == 0) continue;  // replaced after Layout's stat
    return frame;
  }
}

size_t FrameCache::scans() const {
  std::lock_guard<std::mutex> g(mu_);
  return scans_;
}

size_t FrameCache::bytes() const {
  std::lock_guard<std::mutex> g(mu_);
  return bytes_;
}

size_t FrameCache::entries() const {
  std::lock_guard<std::mutex> g(mu_);
  return entries_.size();
}

FrameCache& SharedFrameCache() {
  static FrameCache cache;
  return cache;
}

}  // namespace radflow::pixel
