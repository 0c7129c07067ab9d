#include "pixel/frames.h"

#include <dcmtk/dcmdata/dcdatset.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfcache.h>
#include <dcmtk/dcmdata/dcpixel.h>
#include <dcmtk/dcmdata/dcpixseq.h>
#include <dcmtk/dcmdata/dcpxitem.h>

#include <algorithm>
#include <cstring>

#include "pixel/codecs.h"

namespace radflow::pixel {

namespace {

Status Invalid(const std::string& what) { return Status(ErrorCode::kInvalidDicom, what); }

// Index of the fragment whose Item tag starts at `offset`, if any.
std::optional<size_t> FragmentAt(const std::vector<uint64_t>& starts, uint64_t offset) {
  auto it = std::lower_bound(starts.begin(), starts.end(), offset);
  if (it == starts.end() || *it != offset) return std::nullopt;
  return static_cast<size_t>(it - starts.begin());
}

// Frame `index` from a table of frame start offsets; nullopt when the table does not
// match the fragments.
std::optional<FrameFragments> FromOffsets(const std::vector<uint64_t>& offsets,
                                          const std::vector<uint64_t>& starts, int index) {
  auto first = FragmentAt(starts, offsets[index]);
  if (!first) return std::nullopt;
  size_t last = starts.size();
  if (static_cast<size_t>(index) + 1 < offsets.size()) {
    auto next = FragmentAt(starts, offsets[index + 1]);
    if (!next || *next <= *first) return std::nullopt;
    last = *next;
  }
  return FrameFragments{*first, last, std::nullopt};
}

std::string ErrorText(const OFCondition& c) { return c.text(); }

}  // namespace

namespace {

// What LocateFrame needs beyond the table, computed once per table: each fragment's
// offset (PS3.5 A.4 counts from the first fragment's Item tag) and, when no table can
// locate the frames, the fragments that begin an image.
struct FragmentStarts {
  std::vector<uint64_t> starts;
  std::vector<size_t> frame_starts;
  bool marked = false;  // frame_starts was computed
};

FragmentStarts StartsOf(const FragmentTable& t, int frames) {
  FragmentStarts s;
  const size_t n = t.lengths.size();
  s.starts.resize(n);
  for (size_t i = 1; i < n; ++i) s.starts[i] = s.starts[i - 1] + 8 + t.lengths[i - 1];
  if (t.starts_image && frames > 1 && n != static_cast<size_t>(frames)) {
    s.marked = true;
    for (size_t i = 0; i < n; ++i) {
      if (t.starts_image(i)) s.frame_starts.push_back(i);
    }
  }
  return s;
}

Result<FrameFragments> LocateWith(const FragmentTable& t, const FragmentStarts& s, int index, int frames) {
  const size_t n = t.lengths.size();
  if (n == 0) return Invalid("encapsulated Pixel Data has no fragments");
  if (index < 0 || index >= frames) return Status(ErrorCode::kNotFound, "no such frame");
  // PS3.5 A.4: the Extended Offset Table, when present, locates every frame.
  if (!t.extended_offsets.empty()) {
    if (t.extended_offsets.size() != static_cast<size_t>(frames)) {
      return Invalid("Extended Offset Table has " + std::to_string(t.extended_offsets.size()) +
                     " entries for " + std::to_string(frames) + " frames");
    }
    auto f = FromOffsets(t.extended_offsets, s.starts, index);
    if (!f) return Invalid("Extended Offset Table does not match the fragments");
    if (t.extended_lengths.size() == t.extended_offsets.size())
      f->length = t.extended_lengths[index];
    return *f;
  }
  // The Basic Offset Table; one that does not fit the fragments is ignored (seen in the
  // wild), the rules below still apply.
  if (t.basic_offsets.size() == static_cast<size_t>(frames)) {
    if (auto f = FromOffsets(t.basic_offsets, s.starts, index)) return *f;
  }
  if (frames == 1) return FrameFragments{0, n, std::nullopt};
  if (n == static_cast<size_t>(frames)) {
    return FrameFragments{static_cast<size_t>(index), static_cast<size_t>(index) + 1, std::nullopt};
  }
  // No table and more fragments than frames: a frame starts at each fragment that begins
  // with a start-of-image marker.
  if (s.marked) {
    const auto& fs = s.frame_starts;
    if (fs.size() == static_cast<size_t>(frames) && fs[0] == 0) {
      const size_t last = static_cast<size_t>(index) + 1 < fs.size() ? fs[index + 1] : n;
      return FrameFragments{fs[index], last, std::nullopt};
    }
  }
  return Invalid("cannot locate frame boundaries: " + std::to_string(n) + " fragments for " +
                 std::to_string(frames) + " frames and no usable offset table");
}

}  // namespace

Result<FrameFragments> LocateFrame(const FragmentTable& t, int index, int frames) {
  return LocateWith(t, StartsOf(t, frames), index, frames);
}

std::vector<Result<FrameFragments>> LocateFrames(const FragmentTable& t, int frames) {
  const FragmentStarts s = StartsOf(t, frames);
  std::vector<Result<FrameFragments>> out;
  out.reserve(static_cast<size_t>(std::max(frames, 0)));
  for (int i = 0; i < frames; ++i) out.push_back(LocateWith(t, s, i, frames));
  return out;
}

// The fragments of one object's encapsulated Pixel Data, read once.
struct FragmentIndex {
  std::vector<DcmPixelItem*> items;  // items[0]: the Basic Offset Table
  FragmentTable table;
  std::vector<signed char> starts;  // memo of starts_image: -1 unknown, 0, 1
};

namespace {

Status ReadItem(DcmPixelItem* item, uint64_t offset, uint64_t count, char* out,
                uint64_t file_size) {
  if (count == 0) return Status::Ok();
  if (offset + count > item->getLength() || count > file_size)
    return Invalid("fragment shorter than needed");
  DcmFileCache cache;
  OFCondition c =
      item->getPartialValue(out, static_cast<Uint32>(offset), static_cast<Uint32>(count), &cache);
  if (c.bad()) return Invalid("cannot read fragment (truncated file?): " + ErrorText(c));
  return Status::Ok();
}

uint64_t Le32(const char* p) {
  const auto* b = reinterpret_cast<const unsigned char*>(p);
  return uint64_t(b[0]) | uint64_t(b[1]) << 8 | uint64_t(b[2]) << 16 | uint64_t(b[3]) << 24;
}

Result<FragmentIndex*> IndexFragments(PixelObject& obj) {
  if (obj.fragment_index()) return obj.fragment_index().get();
  DcmElement& el = obj.pixel_element();
  if (el.ident() != EVR_PixelData || el.getLengthField() != DCM_UndefinedLength) {
    return Invalid("transfer syntax " + obj.info().transfer_syntax_uid +
                   " needs encapsulated Pixel Data (PS3.5 A.4)");
  }
  auto& pd = static_cast<DcmPixelData&>(el);
  E_TransferSyntax xfer = EXS_Unknown;
  const DcmRepresentationParameter* param = nullptr;
  pd.getOriginalRepresentationKey(xfer, param);
  DcmPixelSequence* seq = nullptr;
  if (pd.getEncapsulatedRepresentation(xfer, param, seq).bad() || seq == nullptr ||
      seq->card() < 1) {
    return Invalid("encapsulated Pixel Data has no Basic Offset Table item (PS3.5 A.4)");
  }
  auto index = std::make_shared<FragmentIndex>();
  for (unsigned long i = 0; i < seq->card(); ++i) {
    DcmPixelItem* item = nullptr;
    if (seq->getItem(item, i).bad() || item == nullptr) return Invalid("unreadable fragment item");
    index->items.push_back(item);
  }
  FragmentTable& table = index->table;
  for (size_t i = 1; i < index->items.size(); ++i)
    table.lengths.push_back(index->items[i]->getLength());
  const Uint32 bot_length = index->items[0]->getLength();
  if (bot_length % 4 != 0) return Invalid("Basic Offset Table length not a multiple of 4");
  if (bot_length > 0) {
    std::string bot(bot_length, '\0');
    RADFLOW_RETURN_IF_ERROR(ReadItem(index->items[0], 0, bot_length, bot.data(), obj.file_size()));
    for (size_t i = 0; i < bot.size(); i += 4) table.basic_offsets.push_back(Le32(bot.data() + i));
  }
  const Uint64* eot = nullptr;
  unsigned long eot_count = 0;
  if (obj.dataset().findAndGetUint64Array(DCM_ExtendedOffsetTable, eot, &eot_count).good() && eot) {
    table.extended_offsets.assign(eot, eot + eot_count);
    const Uint64* lengths = nullptr;
    unsigned long lengths_count = 0;
    if (obj.dataset()
            .findAndGetUint64Array(DCM_ExtendedOffsetTableLengths, lengths, &lengths_count)
            .good() &&
        lengths) {
      table.extended_lengths.assign(lengths, lengths + lengths_count);
    }
  }
  const Encoding enc = obj.syntax().encoding;
  if (enc == Encoding::kJpeg || enc == Encoding::kJpegLs || enc == Encoding::kJpeg2000 ||
      enc == Encoding::kHtj2k) {
    const bool j2k = enc == Encoding::kJpeg2000 || enc == Encoding::kHtj2k;
    const uint64_t file_size = obj.file_size();
    index->starts.assign(table.lengths.size(), -1);
    FragmentIndex* raw = index.get();
    table.starts_image = [raw, j2k, file_size](size_t i) {
      if (raw->starts[i] < 0) {
        unsigned char head[2] = {0, 0};
        const bool read =
            raw->items[i + 1]->getLength() >= 2 &&
            ReadItem(raw->items[i + 1], 0, 2, reinterpret_cast<char*>(head), file_size).ok();
        // SOC (ISO 15444-1 A.4.1) or SOI (ISO 10918-1 B.2.1, also JPEG-LS).
        raw->starts[i] = read && head[0] == 0xFF && head[1] == (j2k ? 0x4F : 0xD8);
      }
      return raw->starts[i] == 1;
    };
  }
  obj.fragment_index() = index;
  return index.get();
}

}  // namespace

Result<std::string> ReadEncapsulatedFrame(PixelObject& obj, int index) {
  auto fragments = IndexFragments(obj);
  if (!fragments.ok()) return fragments.status();
  const FragmentIndex& fi = *fragments.value();
  auto where = LocateFrame(fi.table, index, obj.info().number_of_frames);
  if (!where.ok()) return where.status();
  uint64_t total = 0;
  for (size_t i = where->first; i < where->last; ++i) total += fi.table.lengths[i];
  if (where->length) total = std::min(total, *where->length);
  if (total > obj.file_size()) return Invalid("frame longer than the file");
  std::string out(total, '\0');
  uint64_t pos = 0;
  for (size_t i = where->first; i < where->last && pos < total; ++i) {
    const uint64_t count = std::min<uint64_t>(fi.table.lengths[i], total - pos);
    RADFLOW_RETURN_IF_ERROR(ReadItem(fi.items[i + 1], 0, count, out.data() + pos, obj.file_size()));
    pos += count;
  }
  return out;
}

Result<std::string> ReadNativeFrame(PixelObject& obj, int index, bool file_order) {
  const ImageInfo& info = obj.info();
  DcmElement& el = obj.pixel_element();
  const Uint32 length = el.getLengthField();
  if (length == DCM_UndefinedLength) {
    return Invalid("encapsulated Pixel Data in native transfer syntax " + info.transfer_syntax_uid);
  }
  const uint64_t frame_bits = NativeFrameBits(info, true);
  const uint64_t start_bit = frame_bits * uint64_t(index);
  const uint64_t first = start_bit / 8;
  const uint64_t end = (start_bit + frame_bits + 7) / 8;
  if (end > length) {
    return Invalid("Pixel Data holds " + std::to_string(length) + " bytes, frame " +
                   std::to_string(index + 1) + " needs " + std::to_string(end));
  }
  const bool big = obj.syntax().big_endian;
  std::string buf(end - first, '\0');
  DcmFileCache cache;
  OFCondition c =
      el.getPartialValue(buf.data(), static_cast<Uint32>(first), static_cast<Uint32>(buf.size()),
                         &cache, file_order && big ? EBO_BigEndian : EBO_LittleEndian);
  if (c.bad()) return Invalid("cannot read Pixel Data (truncated file?): " + ErrorText(c));

  const int bytes = info.bits_allocated / 8;
  const DcmEVR vr = el.getTag().getEVR();
  if (big && !file_order && bytes > 1 && (vr == EVR_OW || vr == EVR_OB)) {
    // DCMTK swapped OW per 16-bit word (OB not at all); samples wider than that are swapped
    // per sample (OB with BitsAllocated > 8 is what some writers produce, read as pydicom does).
    const int unit = vr == EVR_OW ? 2 : 1;
    for (size_t i = 0; i + bytes <= buf.size(); i += bytes) {
      for (int a = 0, b = bytes - unit; a < b; a += unit, b -= unit) {
        for (int k = 0; k < unit; ++k) std::swap(buf[i + a + k], buf[i + b + k]);
      }
    }
  }
  if (info.bits_allocated == 1) {
    // Frames of 1-bit data follow each other without padding (PS3.5 8.1.1): shift to bit 0.
    const int shift = static_cast<int>(start_bit % 8);
    const uint64_t out_bytes = (frame_bits + 7) / 8;
    std::string out(out_bytes, '\0');
    for (uint64_t i = 0; i < out_bytes; ++i) {
      unsigned v = static_cast<unsigned char>(buf[i]) >> shift;
      if (shift && i + 1 < buf.size())
        v |= static_cast<unsigned>(static_cast<unsigned char>(buf[i + 1])) << (8 - shift);
      out[i] = static_cast<char>(v & 0xFF);
    }
    if (frame_bits % 8) out.back() = static_cast<char>(out.back() & ((1u << (frame_bits % 8)) - 1));
    return out;
  }
  return buf;
}

std::string InterleavePlanes(const std::string& planar, int samples, int bytes_per_sample) {
  const size_t unit = static_cast<size_t>(bytes_per_sample);
  const size_t pixels = planar.size() / (unit * samples);
  std::string out(planar.size(), '\0');
  for (int s = 0; s < samples; ++s) {
    const char* plane = planar.data() + s * pixels * unit;
    for (size_t p = 0; p < pixels; ++p) {
      std::memcpy(&out[(p * samples + s) * unit], plane + p * unit, unit);
    }
  }
  return out;
}

std::string PackBits(const std::string& values) {
  std::string out((values.size() + 7) / 8, '\0');
  for (size_t i = 0; i < values.size(); ++i) {
    if (values[i]) out[i / 8] = static_cast<char>(out[i / 8] | (1 << (i % 8)));
  }
  return out;
}

NativeFrameWriter::NativeFrameWriter(const ImageInfo& info)
    : info_(info), bytes_(info.bits_allocated == 1 ? 1 : info.bits_allocated / 8) {
  out_.assign(
      uint64_t(info.rows) * uint64_t(info.columns) * uint64_t(info.samples_per_pixel) * bytes_,
      '\0');
}

void NativeFrameWriter::PutRow(int component, int y, const int32_t* values) {
  const size_t spp = static_cast<size_t>(info_.samples_per_pixel);
  const size_t unit = static_cast<size_t>(bytes_);
  char* p = out_.data() + (size_t(y) * size_t(info_.columns) * spp + size_t(component)) * unit;
  for (int x = 0; x < info_.columns; ++x, p += spp * unit) {
    // Two's complement, little endian, truncated to the allocated width.
    const auto v = static_cast<uint32_t>(values[x]);
    if (info_.bits_allocated == 1) {
      p[0] = static_cast<char>(v & 1);
    } else {
      for (size_t k = 0; k < unit; ++k)
        p[k] = static_cast<char>(k < 4 ? (v >> (8 * k)) & 0xFF : (values[x] < 0 ? 0xFF : 0));
    }
  }
}

std::string NativeFrameWriter::Finish() {
  return info_.bits_allocated == 1 ? PackBits(out_) : std::move(out_);
}

}  // namespace radflow::pixel
