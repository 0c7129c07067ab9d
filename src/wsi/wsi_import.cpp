#include "wsi/wsi_import.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <set>
#include <thread>

#include "base/clock.h"
#include "ingest/ingest_service.h"
#include "wsi/icc_profile.h"
#include "wsi/jpeg_stream.h"
#include "wsi/openslide_source.h"
#include "wsi/pyramid.h"
#include "wsi/tiff_tiles.h"
#include "wsi/wsm_writer.h"

namespace fs = std::filesystem;

namespace radflow::wsi {

namespace {

// The first computed level is held in memory whole; beyond this (about 1 GiB of RGB) the
// import refuses rather than exhausting memory (docs/wsi-import.md).
constexpr int64_t kMaxComputedPixels = int64_t{1} << 28;

std::optional<double> Number(const std::optional<std::string>& s) {
  if (!s || s->empty()) return std::nullopt;
  char* end = nullptr;
  const double v = std::strtod(s->c_str(), &end);
  if (end == s->c_str() || !std::isfinite(v)) return std::nullopt;
  return v;
}

// Aperio "MM/DD/YY" and "HH:MM:SS" into DICOM DT (PS3.5 6.2); empty when unreadable.
std::string AperioDateTime(const std::optional<std::string>& date, const std::optional<std::string>& time) {
  int mo = 0, d = 0, y = 0, hh = 0, mm = 0, ss = 0;
  if (!date || std::sscanf(date->c_str(), "%d/%d/%d", &mo, &d, &y) != 3) return "";
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || y < 0) return "";
  if (y < 100) y += 2000;
  if (time && std::sscanf(time->c_str(), "%d:%d:%d", &hh, &mm, &ss) != 3) hh = mm = ss = 0;
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d%02d%02d%02d%02d%02d", y, mo, d, hh, mm, ss);
  return buf;
}

// The most columns or rows a level may have: JpegRows/SourceRows index rows in int.
constexpr int64_t kMaxLevelSide = (int64_t{1} << 31) - 1;

// 72 and 96 dpi (28.35 and 37.8 pixels/cm) are image editors' defaults, not a scanner's
// measurement (a 0.25 um/pixel scan is 101,600 dpi): such a resolution is taken as unknown.
bool EditorDefaultDpi(double pixels_per_inch) {
  return std::fabs(pixels_per_inch - 72) < 0.05 || std::fabs(pixels_per_inch - 96) < 0.05;
}

// Microns per pixel: OpenSlide's properties, else the TIFF resolution tags; {0,0}: unknown.
std::pair<double, double> MicronsPerPixel(const OpenSlideSource& os) {
  auto x = Number(os.Property("openslide.mpp-x"));
  auto y = Number(os.Property("openslide.mpp-y"));
  if (x && y && *x > 0 && *y > 0) return {*x, *y};
  auto rx = Number(os.Property("tiff.XResolution"));
  auto ry = Number(os.Property("tiff.YResolution"));
  auto unit = os.Property("tiff.ResolutionUnit");
  if (rx && ry && *rx > 0 && *ry > 0 && unit) {
    const double per = *unit == "centimeter" ? 10000.0 : *unit == "inch" ? 25400.0 : 0;
    const double dpi_x = *rx * 25400.0 / per, dpi_y = *ry * 25400.0 / per;
    if (per > 0 && !EditorDefaultDpi(dpi_x) && !EditorDefaultDpi(dpi_y)) return {per / *rx, per / *ry};
  }
  return {0, 0};
}

// OpenSlide's vendor names are lowercase identifiers ("aperio"); Manufacturer is the
// company. Generic TIFF: the TIFF Make tag when present.
std::string ManufacturerName(const std::string& vendor, const std::optional<std::string>& make) {
  static const std::pair<const char*, const char*> kNames[] = {
      {"aperio", "Aperio"},     {"hamamatsu", "Hamamatsu"}, {"leica", "Leica"},   {"mirax", "3DHISTECH"},
      {"philips", "Philips"},   {"sakura", "Sakura"},       {"ventana", "Ventana"}, {"trestle", "Trestle"}};
  for (const auto& [id, name] : kNames) {
    if (vendor == id) return name;
  }
  if (make && !make->empty()) return make->substr(0, 64);  // LO
  return "unknown";
}

struct Converter {
  Converter(const std::string& s, const ImportOptions& o, const std::function<std::string()>& p)
      : slide(s), options(o), new_path(p) {}
  const std::string& slide;
  const ImportOptions& options;
  const std::function<std::string()>& new_path;
  std::unique_ptr<OpenSlideSource> os;
  std::unique_ptr<TiffTiles> tiff;  // null when the slide is not a TIFF
  SlideContext ctx;
  double mpp_x = 0, mpp_y = 0;
  int64_t width0 = 0, height0 = 0;
  int instance_number = 0;
  int threads = 1;  // options.threads within 1..4 x hardware threads
  std::set<int> copied_dirs;  // TIFF directories whose tiles were copied (baseline JPEG)
  ConversionReport report;

  void FillSpacing(InstanceDescription& d) const {
    if (mpp_x <= 0) return;
    d.spacing_column_mm = mpp_x / 1000.0 * static_cast<double>(width0) / d.total_columns;
    d.spacing_row_mm = mpp_y / 1000.0 * static_cast<double>(height0) / d.total_rows;
  }

  Result<InstanceDescription> Describe(const std::array<std::string, 4>& type, uint32_t cols, uint32_t rows,
                                       uint32_t tw, uint32_t th, const std::string& photometric) {
    // 64-bit: a 2^31-column level of 16-pixel tiles has 2^27 tiles across.
    const uint64_t frames = ((uint64_t{cols} + tw - 1) / tw) * ((uint64_t{rows} + th - 1) / th);
    if (frames > kMaxFrames) {  // not kUnsupported: that would send CopyLevel's caller to re-encoding
      return Status(ErrorCode::kInvalidArgument, slide + ": a " + std::to_string(cols) + "x" + std::to_string(rows) +
                                                 " level in " + std::to_string(tw) + "x" + std::to_string(th) +
                                                 " tiles has " + std::to_string(frames) +
                                                 " frames, more than one instance holds (" +
                                                 std::to_string(kMaxFrames) + ")");
    }
    InstanceDescription d;
    d.image_type = type;
    d.sop_instance_uid = NewUid();
    d.instance_number = ++instance_number;
    d.total_columns = cols;
    d.total_rows = rows;
    d.tile_columns = tw;
    d.tile_rows = th;
    d.frames = static_cast<uint32_t>(frames);
    d.photometric = photometric;
    FillSpacing(d);
    return d;
  }

  Status Record(const InstanceDescription& d, const std::string& path, const std::string& kind, bool copied,
                uint64_t bytes) {
    WrittenInstance w;
    w.path = path;
    w.kind = kind;
    w.sop_instance_uid = d.sop_instance_uid;
    w.total_columns = d.total_columns;
    w.total_rows = d.total_rows;
    w.frames = d.frames;
    w.copied = copied;
    w.photometric = d.photometric;
    w.bytes = bytes;
    report.instances.push_back(std::move(w));
    return Status::Ok();
  }

  // The source directory's JPEG tiles as frames, completed with JPEGTables; kUnsupported
  // when this directory cannot be copied (then the level is computed instead).
  Status CopyLevel(const TiffDirectory& dir, const std::array<std::string, 4>& type) {
    if (!dir.tiled || dir.compression != 7 || dir.samples_per_pixel != 3 || dir.bits_per_sample != 8 ||
        dir.planar_config != 1 || (dir.photometric != 2 && dir.photometric != 6) || dir.tile_width > 65535 ||
        dir.tile_height > 65535) {
      return Status(ErrorCode::kUnsupported, "not copyable");
    }
    auto first = tiff->ReadRawTile(dir.index, 0, 0);
    if (!first.ok()) return Status(ErrorCode::kUnsupported, first.status().message());
    const bool rgb = dir.photometric == 2;
    auto probe = SpliceTables(dir.jpeg_tables, *first, false);
    if (!probe.ok()) return Status(ErrorCode::kUnsupported, probe.status().message());
    auto info = ParseJpeg(probe->data(), probe->size());
    if (!info.ok() || !info->baseline || info->components != 3 ||
        info->width != static_cast<int>(dir.tile_width) || info->height != static_cast<int>(dir.tile_height)) {
      return Status(ErrorCode::kUnsupported, "tiles are not baseline JPEG of the tile size");
    }
    // The WSM Image module allows MONOCHROME2, RGB, YBR_FULL_422, YBR_ICT, YBR_RCT
    // (PS3.3 C.8.12.4.1.5): YCbCr without chroma subsampling would be YBR_FULL (PS3.5
    // 8.2.1), which is not among them, so such a level is computed instead.
    if (!rgb && !info->chroma_subsampled) {
      return Status(ErrorCode::kUnsupported, "YCbCr tiles without chroma subsampling (YBR_FULL)");
    }
    // RGB streams get APP14 transform 0 unless they already say how they are coded.
    const bool add_adobe = rgb && !info->has_adobe;
    const std::string photometric = rgb ? "RGB" : "YBR_FULL_422";
    auto described = Describe(type, dir.width, dir.height, dir.tile_width, dir.tile_height, photometric);
    if (!described.ok()) return described.status();
    InstanceDescription d = std::move(*described);
    // Each fragment: the stored tile, the tables, APP14, an item header and a pad byte.
    d.max_fragment_bytes = dir.raw_bytes + uint64_t{d.frames} * (dir.jpeg_tables.size() + 16 + 8 + 1);
    const std::string path = new_path();
    auto writer = WsmWriter::Begin(path, ctx, d);
    if (!writer.ok()) return writer.status();
    for (uint32_t r = 0; r < dir.tiles_down(); ++r) {
      for (uint32_t c = 0; c < dir.tiles_across(); ++c) {
        auto raw = tiff->ReadRawTile(dir.index, c, r);
        if (!raw.ok()) return Status(ErrorCode::kUnsupported, raw.status().message());
        auto frame = SpliceTables(dir.jpeg_tables, *raw, add_adobe);
        if (!frame.ok()) return Status(ErrorCode::kUnsupported, frame.status().message());
        auto fi = ParseJpeg(frame->data(), frame->size());
        if (!fi.ok() || !fi->baseline || fi->width != info->width || fi->height != info->height ||
            fi->chroma_subsampled != info->chroma_subsampled) {
          return Status(ErrorCode::kUnsupported, "a tile differs in coding from the first");
        }
        RADFLOW_RETURN_IF_ERROR(writer.value()->AddFrame(*frame));
      }
    }
    auto bytes = writer.value()->Finish();
    if (!bytes.ok()) return bytes.status();
    return Record(d, path, "VOLUME", true, *bytes);
  }

  // Rows [y, y+h) of a copied JPEG level, its tiles decoded in parallel by libjpeg: the same
  // pixels as OpenSlide's (same decoder; tests/integration/test_wsi_import.py), without
  // OpenSlide's cairo compositing, which took a third of the conversion time.
  Result<RgbRaster> JpegRows(const TiffDirectory& dir, int y, int h) {
    RgbRaster r;
    r.width = static_cast<int>(dir.width);
    r.height = h;
    r.pixels.resize(static_cast<size_t>(r.width) * h * 3);
    const uint32_t tw = dir.tile_width, th = dir.tile_height;
    std::vector<std::pair<uint32_t, uint32_t>> tiles;
    for (uint32_t ty = static_cast<uint32_t>(y) / th; ty * th < static_cast<uint32_t>(y + h); ++ty) {
      for (uint32_t tx = 0; tx < dir.tiles_across(); ++tx) tiles.emplace_back(tx, ty);
    }
    std::vector<Bytes> raw(tiles.size());
    for (size_t i = 0; i < tiles.size(); ++i) {  // libtiff is not thread-safe on one handle
      auto t = tiff->ReadRawTile(dir.index, tiles[i].first, tiles[i].second);
      if (!t.ok()) return t.status();
      raw[i] = std::move(*t);
    }
    std::vector<Status> errors(tiles.size());
    std::atomic<size_t> next{0};
    auto work = [&] {
      for (size_t i = next++; i < tiles.size(); i = next++) {
        auto stream = SpliceTables(dir.jpeg_tables, raw[i], dir.photometric == 2);
        if (!stream.ok()) { errors[i] = stream.status(); continue; }
        int w = 0, hh = 0;
        auto px = DecodeJpeg(*stream, &w, &hh);
        if (!px.ok() || w != static_cast<int>(tw) || hh != static_cast<int>(th)) {
          errors[i] = px.ok() ? Status(ErrorCode::kInvalidArgument, "JPEG tile of the wrong size") : px.status();
          continue;
        }
        const auto [tx, ty] = tiles[i];
        for (uint32_t row = 0; row < th; ++row) {
          const int64_t yy = static_cast<int64_t>(ty) * th + row;
          if (yy < y || yy >= y + h) continue;
          const uint32_t x0 = tx * tw;
          const uint32_t n = std::min<uint32_t>(tw, dir.width - x0);
          std::memcpy(&r.pixels[(static_cast<size_t>(yy - y) * r.width + x0) * 3],
                      &(*px)[static_cast<size_t>(row) * tw * 3], static_cast<size_t>(n) * 3);
        }
      }
    };
    std::vector<std::thread> pool;
    const size_t n = std::min<size_t>(static_cast<size_t>(threads), tiles.size());
    for (size_t t = 1; t < n; ++t) pool.emplace_back(work);
    work();
    for (auto& t : pool) t.join();
    for (auto& e : errors) if (!e.ok()) return e;
    return r;
  }

  // Rows [y, y+h) of source level `level`: from libtiff when it decodes the level's TIFF
  // directory (OpenSlide 3.4 misreads partial edge tiles of generic TIFF levels whose
  // downsample is not an integer, e.g. boxes.tiff levels 2 and 3), else from OpenSlide.
  Result<RgbRaster> SourceRows(int level, const TiffDirectory* dir, int y, int h) {
    const SourceLevel& l = os->levels()[level];
    if (dir && copied_dirs.count(dir->index)) return JpegRows(*dir, y, h);
    if (!dir || !TiffTiles::Decodable(*dir)) return os->ReadRegion(level, 0, y, static_cast<int>(l.width), h);
    RgbRaster r;
    r.width = static_cast<int>(l.width);
    r.height = h;
    r.pixels.assign(static_cast<size_t>(r.width) * h * 3, 255);
    const uint32_t tw = dir->tile_width, th = dir->tile_height;
    for (uint32_t ty = static_cast<uint32_t>(y) / th; ty * th < static_cast<uint32_t>(y + h); ++ty) {
      for (uint32_t tx = 0; tx < dir->tiles_across(); ++tx) {
        auto tile = tiff->ReadTile(dir->index, tx, ty);
        if (!tile.ok()) return tile.status();
        for (uint32_t row = 0; row < th; ++row) {
          const int64_t yy = static_cast<int64_t>(ty) * th + row;
          if (yy < y || yy >= y + h || yy >= l.height) continue;
          const uint32_t x0 = tx * tw;
          const uint32_t n = std::min<uint32_t>(tw, static_cast<uint32_t>(l.width) - x0);
          std::memcpy(&r.pixels[(static_cast<size_t>(yy - y) * r.width + x0) * 3], &(*tile)[static_cast<size_t>(row) * tw * 3],
                      static_cast<size_t>(n) * 3);
        }
      }
    }
    return r;
  }

  // Encodes tiles [begin, end) of one tile row in parallel.
  Result<std::vector<Bytes>> EncodeRow(const RgbRaster& strip, int tiles, int tw, int th) {
    std::vector<Bytes> out(tiles);
    std::vector<Status> errors(tiles);
    std::atomic<int> next{0};
    auto work = [&] {
      for (int i = next++; i < tiles; i = next++) {
        Bytes tile = CutTile(strip, i, 0, tw, th);
        auto jpeg = EncodeJpeg(tile.data(), tw, th, options.jpeg_quality, JpegColour::kYbr422);
        if (jpeg.ok()) out[i] = std::move(*jpeg);
        else errors[i] = jpeg.status();
      }
    };
    const int n = std::max(1, std::min(threads, tiles));
    std::vector<std::thread> pool;
    for (int t = 1; t < n; ++t) pool.emplace_back(work);
    work();
    for (auto& t : pool) t.join();
    for (auto& e : errors) if (!e.ok()) return e;
    return out;
  }

  // A level encoded from pixels: `rows(y, h)` gives the strip of rows [y, y+h).
  Status EncodeLevel(const std::array<std::string, 4>& type, uint32_t w, uint32_t h, uint32_t tw, uint32_t th,
                     const std::function<Result<RgbRaster>(int, int)>& rows) {
    auto described = Describe(type, w, h, tw, th, "YBR_FULL_422");
    if (!described.ok()) return described.status();
    const InstanceDescription& d = *described;
    const std::string path = new_path();
    auto writer = WsmWriter::Begin(path, ctx, d);
    if (!writer.ok()) return writer.status();
    const int across = static_cast<int>((w + tw - 1) / tw);
    for (uint32_t y = 0; y < h; y += th) {
      auto strip = rows(static_cast<int>(y), static_cast<int>(std::min(th, h - y)));
      if (!strip.ok()) return strip.status();
      auto tiles = EncodeRow(*strip, across, static_cast<int>(tw), static_cast<int>(th));
      if (!tiles.ok()) return tiles.status();
      for (const auto& t : *tiles) RADFLOW_RETURN_IF_ERROR(writer.value()->AddFrame(t));
    }
    auto bytes = writer.value()->Finish();
    if (!bytes.ok()) return bytes.status();
    return Record(d, path, "VOLUME", false, *bytes);
  }

  Status EncodeRaster(const std::array<std::string, 4>& type, const RgbRaster& r, uint32_t tw, uint32_t th) {
    return EncodeLevel(type, static_cast<uint32_t>(r.width), static_cast<uint32_t>(r.height), tw, th,
                       [&](int y, int h) -> Result<RgbRaster> {
                         RgbRaster strip;
                         strip.width = r.width;
                         strip.height = h;
                         const size_t stride = static_cast<size_t>(r.width) * 3;
                         strip.pixels.assign(r.pixels.begin() + static_cast<size_t>(y) * stride,
                                             r.pixels.begin() + static_cast<size_t>(y + h) * stride);
                         return strip;
                       });
  }

  // Viewers build one pyramid of the VOLUME and THUMBNAIL images by zoom factor,
  // round(level-0 columns / columns): OHIF 3.13's microscopy mode (dicom-microscopy-viewer)
  // fails ("resolutions must be sorted") when two share one. A vendor thumbnail often lands
  // on a level's factor (CMU-1's 574 px and its 555 px level are both 4), so it is shrunk
  // to the next factor no VOLUME level has (area-weighted mean; it stays a RESAMPLED image).
  RgbRaster DistinctThumbnail(RgbRaster img) const {
    std::vector<int64_t> used;
    for (const auto& w : report.instances) {
      if (w.kind == "VOLUME" && w.total_columns > 0) used.push_back(std::llround(double(width0) / w.total_columns));
    }
    int64_t factor = std::max<int64_t>(1, std::llround(double(width0) / std::max(1, img.width)));
    while (std::find(used.begin(), used.end(), factor) != used.end()) ++factor;
    const int w = static_cast<int>(std::max<int64_t>(1, width0 / factor));
    if (w >= img.width) return img;
    const int h = static_cast<int>(std::max<int64_t>(1, std::llround(double(img.height) * w / img.width)));
    return Shrink(img, w, h);
  }

  // One single-frame image of an associated picture (C.8.12.4: THUMBNAIL, LABEL, OVERVIEW).
  Status WriteAssociated(const std::string& name, const std::string& kind) {
    auto img = os->ReadAssociated(name);
    if (!img.ok()) return img.status();
    if (kind == "THUMBNAIL") *img = DistinctThumbnail(std::move(*img));
    const std::array<std::string, 4> type = {kind == "THUMBNAIL" ? "DERIVED" : "ORIGINAL", "PRIMARY", kind,
                                             kind == "THUMBNAIL" ? "RESAMPLED" : "NONE"};
    auto described = Describe(type, static_cast<uint32_t>(img->width), static_cast<uint32_t>(img->height),
                              static_cast<uint32_t>(img->width), static_cast<uint32_t>(img->height), "YBR_FULL_422");
    if (!described.ok()) return described.status();
    InstanceDescription d = std::move(*described);
    if (kind != "THUMBNAIL") {  // a photograph of the slide: its scale is not known
      d.spacing_row_mm = d.spacing_column_mm = 0;
    }
    d.specimen_label_in_image = kind != "THUMBNAIL";
    d.burned_in_annotation = kind != "THUMBNAIL";
    auto jpeg = EncodeJpeg(img->pixels.data(), img->width, img->height, options.jpeg_quality, JpegColour::kYbr422);
    if (!jpeg.ok()) return jpeg.status();
    const std::string path = new_path();
    auto writer = WsmWriter::Begin(path, ctx, d);
    if (!writer.ok()) return writer.status();
    RADFLOW_RETURN_IF_ERROR(writer.value()->AddFrame(*jpeg));
    auto bytes = writer.value()->Finish();
    if (!bytes.ok()) return bytes.status();
    return Record(d, path, kind, false, *bytes);
  }

  Status Run() {
    const int hw = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    threads = std::clamp(options.threads, 1, 4 * hw);
    std::error_code ec;
    if (!fs::is_regular_file(slide, ec)) return Status(ErrorCode::kNotFound, slide + ": no such file");
    auto opened = OpenSlideSource::Open(slide);
    if (!opened.ok()) return opened.status();
    os = std::move(*opened);
    auto t = TiffTiles::Open(slide);
    if (t.ok()) tiff = std::move(*t);
    width0 = os->levels()[0].width;
    height0 = os->levels()[0].height;
    if (width0 <= 0 || height0 <= 0) return Status(ErrorCode::kInvalidArgument, slide + ": level 0 has no pixels");
    if (width0 > kMaxLevelSide || height0 > kMaxLevelSide) {
      return Status(ErrorCode::kUnsupported, slide + ": level 0 is " + std::to_string(width0) + "x" +
                                                 std::to_string(height0) + ", larger than 2^31-1 on a side");
    }
    if (options.mpp > 0) {
      mpp_x = mpp_y = options.mpp;  // the user's value wins over the file's
    } else {
      std::tie(mpp_x, mpp_y) = MicronsPerPixel(*os);
    }
    // PixelSpacing and ImagedVolumeWidth/Height are Type 1C for VOLUME and THUMBNAIL images
    // (PS3.3 C.8.12.4, A.32.8.3-1): without a resolution the objects would not conform.
    if (mpp_x <= 0 || mpp_y <= 0) {
      return Status(ErrorCode::kInvalidArgument,
                    slide + ": the file records no resolution (microns per pixel; 72/96 dpi are taken as an "
                            "editor's default); give level 0's with --mpp X");
    }
    FillContext();

    // Source levels, finest first: copied when their TIFF directory holds baseline JPEG.
    const auto& levels = os->levels();
    uint32_t tile_w = 256, tile_h = 256;
    const TiffDirectory* last_dir = nullptr;
    for (size_t i = 0; i < levels.size(); ++i) {
      const SourceLevel& l = levels[i];
      const TiffDirectory* dir = nullptr;
      if (tiff) {
        for (const auto& d : tiff->directories()) {
          if (d.tiled && d.width == l.width && d.height == l.height) { dir = &d; break; }
        }
      }
      if (auto tw = Number(os->Property("openslide.level[" + std::to_string(i) + "].tile-width"))) tile_w = *tw;
      if (auto th = Number(os->Property("openslide.level[" + std::to_string(i) + "].tile-height"))) tile_h = *th;
      tile_w = std::clamp<uint32_t>(tile_w, 16, 4096);
      tile_h = std::clamp<uint32_t>(tile_h, 16, 4096);
      const std::string resampled = i == 0 ? "NONE" : "RESAMPLED";
      if (dir) {
        Status st = CopyLevel(*dir, {"ORIGINAL", "PRIMARY", "VOLUME", resampled});
        last_dir = dir;
        if (st.ok()) {
          copied_dirs.insert(dir->index);
          continue;
        }
        if (st.code() != ErrorCode::kUnsupported) return st;
      }
      // Another compression (or no TIFF): decoded by OpenSlide, encoded as baseline JPEG.
      const int level = static_cast<int>(i);
      RADFLOW_RETURN_IF_ERROR(EncodeLevel({"DERIVED", "PRIMARY", "VOLUME", resampled}, static_cast<uint32_t>(l.width),
                                          static_cast<uint32_t>(l.height), tile_w, tile_h,
                                          [&, level, dir](int y, int h) { return SourceRows(level, dir, y, h); }));
      last_dir = dir;
    }
    // Lower levels down to one tile, each half of the one above (2x2 box filter). The first
    // is reduced strip by strip (even strip heights give the same pixels as reducing the
    // whole level), so only it and the levels below are ever held in memory.
    const SourceLevel& last = levels.back();
    if (last.width > tile_w || last.height > tile_h) {
      if ((last.width / 2) * (last.height / 2) > kMaxComputedPixels) {
        return Status(ErrorCode::kUnsupported, slide + ": its smallest level (" + std::to_string(last.width) + "x" +
                                                   std::to_string(last.height) +
                                                   ") is too large to compute lower levels from");
      }
      RgbRaster r;
      r.width = static_cast<int>((last.width + 1) / 2);
      r.height = static_cast<int>((last.height + 1) / 2);
      r.pixels.resize(static_cast<size_t>(r.width) * r.height * 3);
      const int strip = static_cast<int>(2 * tile_h * 4);
      for (int y = 0; y < last.height; y += strip) {
        const int h = static_cast<int>(std::min<int64_t>(strip, last.height - y));
        auto rows = SourceRows(static_cast<int>(levels.size() - 1), last_dir, y, h);
        if (!rows.ok()) return rows.status();
        const RgbRaster half = Halve(*rows);
        std::memcpy(&r.pixels[static_cast<size_t>(y / 2) * r.width * 3], half.pixels.data(), half.pixels.size());
      }
      RADFLOW_RETURN_IF_ERROR(EncodeRaster({"DERIVED", "PRIMARY", "VOLUME", "RESAMPLED"}, r, tile_w, tile_h));
      while (r.width > static_cast<int>(tile_w) || r.height > static_cast<int>(tile_h)) {
        r = Halve(r);
        RADFLOW_RETURN_IF_ERROR(EncodeRaster({"DERIVED", "PRIMARY", "VOLUME", "RESAMPLED"}, r, tile_w, tile_h));
      }
    }
    // Associated images (OpenSlide names): thumbnail, label, macro (the overview).
    const auto names = os->AssociatedNames();
    const std::pair<const char*, const char*> kinds[] = {
        {"thumbnail", "THUMBNAIL"}, {"label", "LABEL"}, {"macro", "OVERVIEW"}};
    for (const auto& [name, kind] : kinds) {
      if (std::find(names.begin(), names.end(), name) == names.end()) continue;
      RADFLOW_RETURN_IF_ERROR(WriteAssociated(name, kind));
    }
    return Status::Ok();
  }

  void FillContext() {
    std::string container = options.container_identifier;
    if (container.empty()) {
      container = fs::path(slide).stem().string();
      for (char& ch : container) {
        if (ch == '\\' || ch == '\r' || ch == '\n') ch = '_';  // not allowed in LO
      }
    }
    if (container.size() > 64) container.resize(64);  // LO
    ctx.container_identifier = container;
    ctx.patient_id = options.patient_id.empty() ? ("WSI-" + container).substr(0, 64) : options.patient_id;
    ctx.patient_name = options.patient_name;
    ctx.accession_number = options.accession_number;
    ctx.study_instance_uid = options.study_instance_uid.empty() ? NewUid() : options.study_instance_uid;
    ctx.series_instance_uid = NewUid();
    ctx.frame_of_reference_uid = NewUid();
    ctx.dimension_organization_uid = NewUid();
    ctx.specimen_uid = NewUid();
    ctx.content_date = UtcNow("%Y%m%d");
    ctx.content_time = UtcNow("%H%M%S");
    ctx.acquisition_datetime = AperioDateTime(os->Property("aperio.Date"), os->Property("aperio.Time"));
    if (ctx.acquisition_datetime.empty()) ctx.acquisition_datetime = ctx.content_date + ctx.content_time;
    ctx.study_date = ctx.acquisition_datetime.substr(0, 8);
    ctx.study_time = ctx.acquisition_datetime.substr(8, 6);
    // Enhanced General Equipment (C.7.5.2): Manufacturer, ManufacturerModelName and
    // DeviceSerialNumber are Type 1, so "unknown" where the file does not say.
    ctx.manufacturer = ManufacturerName(os->vendor(), os->Property("tiff.Make"));
    ctx.model_name = os->Property("tiff.Model").value_or("unknown");
    if (ctx.model_name.empty()) ctx.model_name = "unknown";
    ctx.device_serial_number = os->Property("aperio.ScanScope ID").value_or("unknown");  // a scanner's serial
    if (ctx.device_serial_number.empty()) ctx.device_serial_number = "unknown";
    ctx.software_versions = "radflow wsi import";
    // The source's ICC profile, else a generic sRGB one (OpenSlide's output is sRGB-like).
    if (tiff) {
      for (const auto& d : tiff->directories()) {
        if (!d.icc_profile.empty()) { ctx.icc_profile = d.icc_profile; break; }
      }
    }
    if (ctx.icc_profile.empty()) ctx.icc_profile = SrgbIccProfile();
    // Aperio's Left/Top: the scanned region's position on the slide in mm; X along the
    // slide's short edge (C.8.12.2.1).
    ctx.origin_x_mm = Number(os->Property("aperio.Top")).value_or(0);
    ctx.origin_y_mm = Number(os->Property("aperio.Left")).value_or(0);
    ctx.imaged_depth_um = options.section_thickness_um;
    if (mpp_x > 0) {
      ctx.imaged_width_mm = mpp_x / 1000.0 * static_cast<double>(width0);
      ctx.imaged_height_mm = mpp_y / 1000.0 * static_cast<double>(height0);
    }
    report.container_identifier = ctx.container_identifier;
    report.study_instance_uid = ctx.study_instance_uid;
    report.series_instance_uid = ctx.series_instance_uid;
    report.frame_of_reference_uid = ctx.frame_of_reference_uid;
  }
};

}  // namespace

Result<ConversionReport> ConvertSlide(const std::string& slide, const ImportOptions& options,
                                      const std::function<std::string()>& new_path) {
  Converter c(slide, options, new_path);
  Status st = c.Run();
  if (!st.ok()) {
    for (const auto& w : c.report.instances) {
      std::error_code ec;
      fs::remove(w.path, ec);
    }
    return st;
  }
  return std::move(c.report);
}

Result<ImportSummary> ImportSlide(const std::string& slide, const ImportOptions& options,
                                  ingest::IngestService& ingest) {
  auto report = ConvertSlide(slide, options, [&] { return ingest.NewTempPath(); });
  if (!report.ok()) return report.status();
  ImportSummary s;
  s.report = std::move(*report);
  for (size_t i = 0; i < s.report.instances.size(); ++i) {
    const auto& w = s.report.instances[i];
    auto r = ingest.Store(w.path, {ingest::Origin::Kind::kImport, slide, "", ""});
    if (!r.ok()) {
      for (size_t k = i + 1; k < s.report.instances.size(); ++k) {
        std::error_code ec;
        fs::remove(s.report.instances[k].path, ec);
      }
      return Status(r.status().code(), slide + ": storing its " + w.kind + " instance: " + r.status().message());
    }
    if (r->outcome == ingest::StoreOutcome::kStored || r->outcome == ingest::StoreOutcome::kReplaced) ++s.stored;
    else ++s.already_present;
  }
  return s;
}

}  // namespace radflow::wsi
