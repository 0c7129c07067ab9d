#include "apps/pathology/wsi_tissue.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <numeric>
#include <nlohmann/json.hpp>
#include <thread>

#include "ai/manifest.h"
#include "apps/pathology/slide_seg.h"

namespace radflow::apps::pathology {
namespace {

const ai::Code kTissue{"85756007", "SCT", "Tissue"};
const ai::Code kOutOfFocus{"RF-OUT-OF-FOCUS", "99RADFLOW", "Out of focus tissue"};
const ai::Code kArea{"42798000", "SCT", "Area"};
const ai::Code kSquareMm{"mm2", "UCUM", "square millimeter"};

// The whole level box-downsampled by `factor`, read block by block (RegionBlocks).
Result<slide::RgbImage> ReadDownsampled(const slide::SlideLevel& level, int factor) {
  slide::RgbImage out;
  out.samples = level.samples_per_pixel;
  out.width = (level.total_columns + factor - 1) / factor;
  out.height = (level.total_rows + factor - 1) / factor;
  out.pixels.resize(static_cast<size_t>(out.width) * out.height * out.samples);
  for (const RegionBlock& b : RegionBlocks(level, factor)) {
    auto part = slide::ReadRegion(level, b.x, b.y, b.width, b.height);
    if (!part.ok()) return part.status();
    const slide::RgbImage small = Downsample(part.value(), factor);
    // x and y are multiples of factor: the block's output starts at (x, y) / factor.
    const size_t row_bytes = static_cast<size_t>(small.width) * out.samples;
    for (int r = 0; r < small.height; ++r) {
      std::copy(small.pixels.begin() + r * row_bytes, small.pixels.begin() + (r + 1) * row_bytes,
                out.pixels.begin() +
                    (static_cast<size_t>(b.y / factor + r) * out.width + b.x / factor) *
                        out.samples);
    }
  }
  return out;
}

std::string Fixed(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

// a multiple of both a and b, or 0 when over `limit`
long long CommonMultiple(long long a, long long b, long long limit) {
  const long long m = a / std::gcd(a, b) * b;
  return m <= limit ? m : 0;
}

}  // namespace

std::vector<RegionBlock> RegionBlocks(const slide::SlideLevel& level, int factor) {
  factor = std::max(1, factor);
  const long long tw = std::max(1, level.tile_columns), th = std::max(1, level.tile_rows);
  // Block sides: multiples of the factor (whole output pixels) and, where that stays small,
  // of the tile size too (every tile decoded once); about 4096 wide, 16 MP at most.
  constexpr long long kSide = 4096, kMaxPixels = 16LL * 1024 * 1024;
  long long uw = CommonMultiple(tw, factor, kSide), uh = CommonMultiple(th, factor, kSide);
  if (uw == 0) uw = factor;
  if (uh == 0) uh = factor;
  const long long bw = std::max(1LL, kSide / uw) * uw;
  const long long bh = std::max(1LL, kMaxPixels / bw / uh) * uh;
  std::vector<RegionBlock> blocks;
  for (long long y = 0; y < level.total_rows; y += bh) {
    for (long long x = 0; x < level.total_columns; x += bw) {
      blocks.push_back({static_cast<int>(x), static_cast<int>(y),
                        static_cast<int>(std::min<long long>(bw, level.total_columns - x)),
                        static_cast<int>(std::min<long long>(bh, level.total_rows - y))});
    }
  }
  return blocks;
}

Result<WsiTissueSettings> ParseWsiTissueSettings(const std::string& text) {
  WsiTissueSettings s;
  if (text.empty()) return s;
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return Status(ErrorCode::kInvalidArgument, "wsi-tissue settings: not a JSON object");
  // Each key: a number within [lo, hi] (integers: whole numbers), else kInvalidArgument
  // naming it; the range is checked on the double before any conversion (1e20 is no int).
  auto number = [&](const char* key, auto& field, double lo, double hi) -> Status {
    if (!j.contains(key)) return Status::Ok();
    using T = std::remove_reference_t<decltype(field)>;
    const auto bad = [&](const std::string& why) {
      return Status(ErrorCode::kInvalidArgument,
                    std::string("wsi-tissue settings: ") + key + " " + why);
    };
    if (!j[key].is_number()) return bad("must be a number");
    const double v = j[key].get<double>();
    if (!std::isfinite(v) || v < lo || v > hi)
      return bad("must be within [" + Fixed(lo, std::is_integral_v<T> ? 0 : 2) + ", " +
                 Fixed(hi, std::is_integral_v<T> ? 0 : 2) + "], got " + j[key].dump());
    if (std::is_integral_v<T> && v != std::floor(v)) return bad("must be a whole number");
    field = static_cast<T>(v);
    return Status::Ok();
  };
  RADFLOW_RETURN_IF_ERROR(number("focus_threshold", s.focus_threshold, 0, 1e9));
  RADFLOW_RETURN_IF_ERROR(number("min_tissue_fraction", s.min_tissue_fraction, 0, 1));
  RADFLOW_RETURN_IF_ERROR(number("max_focus_tiles", s.max_focus_tiles, 1, 1000000));
  RADFLOW_RETURN_IF_ERROR(number("min_analysis_side", s.min_analysis_side, 16, 65536));
  RADFLOW_RETURN_IF_ERROR(number("max_analysis_side", s.max_analysis_side, 16, 65536));
  RADFLOW_RETURN_IF_ERROR(number("min_saturation", s.tissue.min_saturation, 0, 1));
  RADFLOW_RETURN_IF_ERROR(number("max_saturation", s.tissue.max_saturation, 0, 1));
  RADFLOW_RETURN_IF_ERROR(number("closing_radius", s.tissue.closing_radius, 0, 64));
  RADFLOW_RETURN_IF_ERROR(number("opening_radius", s.tissue.opening_radius, 0, 64));
  RADFLOW_RETURN_IF_ERROR(
      number("min_component_pixels", s.tissue.min_component_pixels, 0, 1 << 24));
  if (s.max_analysis_side < s.min_analysis_side) {
    return Status(ErrorCode::kInvalidArgument,
                  "wsi-tissue settings: max_analysis_side " + std::to_string(s.max_analysis_side) +
                      " is below min_analysis_side " + std::to_string(s.min_analysis_side));
  }
  if (s.tissue.min_saturation > s.tissue.max_saturation) {
    return Status(ErrorCode::kInvalidArgument,
                  "wsi-tissue settings: min_saturation " + Fixed(s.tissue.min_saturation, 3) +
                      " is above max_saturation " + Fixed(s.tissue.max_saturation, 3));
  }
  return s;
}

Result<WsiTissueAnalysis> AnalyseSlide(const slide::Slide& slide,
                                       const WsiTissueSettings& settings) {
  if (slide.levels.empty()) return Status(ErrorCode::kInvalidArgument, "slide without levels");
  WsiTissueAnalysis a;
  // Levels are finest first: the coarsest reaching min_analysis_side, else the finest.
  a.level = &slide.levels.front();
  for (const auto& l : slide.levels) {
    if (std::max(l.total_columns, l.total_rows) >= settings.min_analysis_side) a.level = &l;
  }
  while (std::max(a.level->total_columns, a.level->total_rows) / a.factor >
         settings.max_analysis_side)
    a.factor *= 2;
  auto image = ReadDownsampled(*a.level, a.factor);
  if (!image.ok()) return image.status();
  a.tissue = DetectTissue(image.value(), settings.tissue);

  // Area: the analysis pixel's size from its level's Pixel Measures, else level 0's scaled.
  const slide::SlideLevel& l0 = slide.levels.front();
  double sr = a.level->pixel_spacing_mm[0], sc = a.level->pixel_spacing_mm[1];
  if ((sr <= 0 || sc <= 0) && l0.pixel_spacing_mm[0] > 0) {
    sr = l0.pixel_spacing_mm[0] * l0.total_rows / a.level->total_rows;
    sc = l0.pixel_spacing_mm[1] * l0.total_columns / a.level->total_columns;
  }
  if (sr > 0 && sc > 0) {
    a.level_spacing_mm[0] = sr;
    a.level_spacing_mm[1] = sc;
    a.pixel_area_mm2 = sr * sc * a.factor * a.factor;
  }
  a.tissue_area_mm2 = a.tissue.tissue_pixels * a.pixel_area_mm2;

  // Focus: level-0 tiles (its tile grid) mostly covered by tissue.
  const double gx = static_cast<double>(a.tissue.width) / l0.total_columns;
  const double gy = static_cast<double>(a.tissue.height) / l0.total_rows;
  std::vector<TileFocus> candidates;
  for (int y = 0; y < l0.total_rows; y += l0.tile_rows) {
    for (int x = 0; x < l0.total_columns; x += l0.tile_columns) {
      const int w = std::min(l0.tile_columns, l0.total_columns - x);
      const int h = std::min(l0.tile_rows, l0.total_rows - y);
      const int mx0 = static_cast<int>(x * gx), my0 = static_cast<int>(y * gy);
      const int mx1 = std::max(mx0 + 1, static_cast<int>(std::ceil((x + w) * gx)));
      const int my1 = std::max(my0 + 1, static_cast<int>(std::ceil((y + h) * gy)));
      long inside = 0, total = 0;
      for (int my = my0; my < std::min(my1, a.tissue.height); ++my)
        for (int mx = mx0; mx < std::min(mx1, a.tissue.width); ++mx, ++total)
          inside += a.tissue.mask[static_cast<size_t>(my) * a.tissue.width + mx];
      if (total > 0 && inside >= settings.min_tissue_fraction * total && w >= 3 && h >= 3)
        candidates.push_back({x, y, w, h, 0, false});
    }
  }
  const size_t step = std::max<size_t>(1, (candidates.size() + settings.max_focus_tiles - 1) /
                                              std::max<size_t>(1, settings.max_focus_tiles));
  for (size_t i = 0; i < candidates.size(); i += step) a.tiles.push_back(candidates[i]);
  // Tiles are independent: shared among `threads` workers, each tile written by one; the
  // result does not depend on the thread count.
  std::atomic<size_t> next{0};
  std::mutex error_mutex;
  Status error;
  auto work = [&] {
    for (size_t i = next++; i < a.tiles.size(); i = next++) {
      TileFocus& t = a.tiles[i];
      auto tile = slide::ReadRegion(l0, t.x, t.y, t.width, t.height);
      if (!tile.ok()) {
        std::lock_guard<std::mutex> lock(error_mutex);
        if (error.ok()) error = tile.status();
        return;
      }
      t.laplacian_variance = LaplacianVariance(tile.value());
      t.blurred = t.laplacian_variance < settings.focus_threshold;
    }
  };
  const int threads = std::clamp(settings.threads, 1, 64);
  std::vector<std::thread> pool;
  for (int i = 1; i < threads; ++i) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
  if (!error.ok()) return error;
  for (const TileFocus& t : a.tiles) a.blurred_tiles += t.blurred;
  return a;
}

Result<ai::AppOutput> RunWsiTissue(const ai::AppInput& input) {
  auto settings = ParseWsiTissueSettings(input.manifest ? input.manifest->settings_json : "");
  if (!settings.ok()) return settings.status();
  auto slide = slide::ReadSlideSeries(input.files);
  if (!slide.ok()) return slide.status();
  settings->threads = std::max(1, input.threads);
  auto analysis = AnalyseSlide(slide.value(), settings.value());
  if (!analysis.ok()) return analysis.status();
  const WsiTissueAnalysis& a = analysis.value();

  ai::AppOutput out;
  const size_t assessed = a.tiles.size();
  const double blurred_pct = assessed ? 100.0 * a.blurred_tiles / assessed : 0.0;
  const bool area_known = a.pixel_area_mm2 > 0;

  // The SEG: tissue (1) and, when any, out-of-focus tiles' tissue (2) on the analysis grid.
  SlideSegInput seg;
  seg.level = a.level;
  seg.factor = a.factor;
  seg.width = a.tissue.width;
  seg.height = a.tissue.height;
  // The spacing the area was computed with (Pixel Measures of the level, else level 0's
  // scaled): the SEG's Pixel Measures then agree with the finding.
  seg.level_spacing_mm[0] = a.level_spacing_mm[0];
  seg.level_spacing_mm[1] = a.level_spacing_mm[1];
  seg.segments.push_back({"Tissue", kTissue, kTissue, a.tissue.mask});
  if (a.blurred_tiles > 0) {
    const slide::SlideLevel& l0 = slide->levels.front();
    const double gx = static_cast<double>(seg.width) / l0.total_columns;
    const double gy = static_cast<double>(seg.height) / l0.total_rows;
    std::vector<uint8_t> blur(a.tissue.mask.size(), 0);
    for (const TileFocus& t : a.tiles) {
      if (!t.blurred) continue;
      for (int my = static_cast<int>(t.y * gy);
           my < std::min(seg.height, static_cast<int>(std::ceil((t.y + t.height) * gy))); ++my)
        for (int mx = static_cast<int>(t.x * gx);
             mx < std::min(seg.width, static_cast<int>(std::ceil((t.x + t.width) * gx))); ++mx) {
          const size_t i = static_cast<size_t>(my) * seg.width + mx;
          blur[i] = a.tissue.mask[i];
        }
    }
    seg.segments.push_back({"Out of focus", kTissue, kOutOfFocus, std::move(blur)});
  }
  if (input.manifest) {
    if (!input.manifest->vendor.empty()) seg.manufacturer = input.manifest->vendor;
    if (!input.manifest->name.empty()) seg.algorithm_name = input.manifest->name;
    if (!input.manifest->version.empty()) seg.algorithm_version = input.manifest->version;
    if (!input.manifest->id.empty()) seg.algorithm_id = input.manifest->id;
  }
  if (a.tissue.tissue_pixels > 0 && !input.out_dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(input.out_dir, ec);
    if (ec)
      return Status(ErrorCode::kIoError, "cannot create " + input.out_dir + ": " + ec.message());
    const std::string path = (std::filesystem::path(input.out_dir) / "seg-wsi-tissue.dcm").string();
    auto written = WriteSlideSegmentation(seg, path);
    if (!written.ok()) return written.status();
    out.objects.push_back({path, "seg"});
  }

  ai::Finding tissue;
  tissue.type = kTissue;
  tissue.label = area_known
                     ? "tissue " + Fixed(a.tissue_area_mm2, 2) + " mm2"
                     : "tissue " + std::to_string(a.tissue.tissue_pixels) + " px (spacing unknown)";
  tissue.score = 1.0;
  tissue.segment_number = a.tissue.tissue_pixels > 0 ? 1 : 0;
  if (area_known) tissue.measurements.push_back({kArea, a.tissue_area_mm2, kSquareMm});
  out.findings.push_back(tissue);

  ai::Finding focus;
  focus.type = kOutOfFocus;
  focus.label = std::to_string(a.blurred_tiles) + " of " + std::to_string(assessed) +
                " tissue tiles out of focus";
  focus.score = assessed ? static_cast<double>(a.blurred_tiles) / assessed : 0.0;
  focus.severity = blurred_pct > 10 ? "moderate" : (a.blurred_tiles > 0 ? "low" : "info");
  focus.segment_number = a.blurred_tiles > 0 ? 2 : 0;
  focus.measurements.push_back({{"RF-BLURRED-TILES", "99RADFLOW", "Out of focus tiles"},
                                static_cast<double>(a.blurred_tiles),
                                {"{tiles}", "UCUM", "tiles"}});
  focus.measurements.push_back(
      {{"RF-ASSESSED", "99RADFLOW", "Tissue tiles assessed for focus"},
       static_cast<double>(assessed),
       {"{tiles}", "UCUM", "tiles"}});
  focus.measurements.push_back({{"RF-BLURRED-PCT", "99RADFLOW", "Out of focus tile fraction"},
                                blurred_pct,
                                {"%", "UCUM", "percent"}});
  out.findings.push_back(focus);

  out.summary = tissue.label + ", " + std::to_string(a.blurred_tiles) + "/" +
                std::to_string(assessed) + " tiles out of focus (" + Fixed(blurred_pct, 0) + "%)";
  return out;
}

}  // namespace radflow::apps::pathology
