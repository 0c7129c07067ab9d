// The fundus analysis (docs/apps/fundus-quality.md). Everything runs on a working copy
// resampled so that the field of view is ~560 pixels across, the size of DRIVE's
// (Staal et al., IEEE TMI 2004;23:501): scales and thresholds are stated at that size.
// Gradability follows Fleming et al. (IOVS 2006;47:1120): image clarity (here focus and
// noise) plus field definition (optic disc and macula where they should be), with
// illumination checks added.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>

#include "apps/ophthalmic/fundus_analysis.h"
#include "apps/ophthalmic/landmarks.h"
#include "apps/ophthalmic/vessels.h"

namespace radflow::apps::ophthalmic {
namespace {

constexpr double kWorkFov = 560;           // field-of-view diameter of the working copy
// Thresholds (docs/apps/fundus-quality.md, "Gradability").
constexpr double kMinLuminance = 0.10;     // mean luminance in the field, 0..1 (and 1 - this)
constexpr double kMinUniformity = 0.65;     // 10th percentile / median of cell means
constexpr double kMaxNoise = 0.10;         // noise SD / mean green
constexpr double kMinFocus = 0.08;         // fine-band / coarse-band energy
constexpr double kMinDiscContrast = 0.25;  // (disc - surround) / surround, green
constexpr double kMinMaculaContrast = 0.06;  // (surround - macula) / surround, background
constexpr double kVesselThreshold = 0.38;  // Frangi vesselness
constexpr double kFrangiGamma = 0.04;

double Clamp01(double v) { return std::clamp(v, 0.0, 1.0); }

Plane ChannelOf(const FundusImage& im, int c) {
  Plane p(im.width, im.height);
  for (size_t i = 0; i < p.v.size(); ++i) p.v[i] = im.rgb[3 * i + size_t(c)] / 255.f;
  return p;
}

Plane LuminanceOf(const FundusImage& im) {
  Plane p(im.width, im.height);
  for (size_t i = 0; i < p.v.size(); ++i) {
    p.v[i] = (0.299f * im.rgb[3 * i] + 0.587f * im.rgb[3 * i + 1] + 0.114f * im.rgb[3 * i + 2]) / 255.f;
  }
  return p;
}

Plane Shrink(const Plane& in, double scale, int w, int h) {
  if (w == in.width && h == in.height) return in;
  return Resample(GaussianBlur(in, 0.5 / scale), w, h);  // anti-aliasing before sampling
}

// Values outside the field of view from their inside neighbours, ring by ring, so that the
// field's edge does not respond to the filters (as Soares et al., IEEE TMI 2006 do).
Plane FillOutside(const Plane& in, const Mask& fov, int rings) {
  Plane p = in;
  std::vector<uint8_t> known(fov.begin(), fov.end());
  const int w = p.width, h = p.height;
  double inside_sum = 0;
  size_t inside_n = 0;
  for (size_t i = 0; i < fov.size(); ++i) {
    if (fov[i]) inside_sum += in.v[i], ++inside_n;
  }
  const float mean = inside_n ? float(inside_sum / double(inside_n)) : 0.f;
  for (int r = 0; r < rings; ++r) {
    std::vector<std::pair<size_t, float>> ring;
    for (int y = 0; y < h; ++y) {
      for (int x = 0; x < w; ++x) {
        const size_t i = size_t(y) * size_t(w) + size_t(x);
        if (known[i]) continue;
        float s = 0;
        int n = 0;
        const int nb[4][2] = {{x - 1, y}, {x + 1, y}, {x, y - 1}, {x, y + 1}};
        for (auto& q : nb) {
          if (q[0] < 0 || q[1] < 0 || q[0] >= w || q[1] >= h) continue;
          const size_t j = size_t(q[1]) * size_t(w) + size_t(q[0]);
          if (known[j]) s += p.v[j], ++n;
        }
        if (n) ring.push_back({i, s / float(n)});
      }
    }
    if (ring.empty()) break;
    for (auto& [i, v] : ring) p.v[i] = v, known[i] = 1;
  }
  for (size_t i = 0; i < p.v.size(); ++i) {
    if (!known[i]) p.v[i] = mean;
  }
  return p;
}

double Percentile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  const size_t k = std::min(v.size() - 1, size_t(q * double(v.size() - 1) + 0.5));
  std::nth_element(v.begin(), v.begin() + long(k), v.end());
  return v[k];
}

// Immerkaer's noise SD (Computer Vision and Image Understanding 1996;64:300): the mean
// absolute response to the difference of two Laplacians, insensitive to smooth structure.
double NoiseSigma(const Plane& g, const Mask& inside) {
  const int w = g.width, h = g.height;
  double sum = 0;
  size_t n = 0;
  for (int y = 1; y + 1 < h; ++y) {
    for (int x = 1; x + 1 < w; ++x) {
      if (!inside[size_t(y) * size_t(w) + size_t(x)]) continue;
      const double r = g.at(x - 1, y - 1) - 2 * g.at(x, y - 1) + g.at(x + 1, y - 1) - 2 * g.at(x - 1, y) +
                       4 * g.at(x, y) - 2 * g.at(x + 1, y) + g.at(x - 1, y + 1) - 2 * g.at(x, y + 1) +
                       g.at(x + 1, y + 1);
      sum += std::abs(r);
      ++n;
    }
  }
  return n ? std::sqrt(M_PI / 2) / 6 * sum / double(n) : 0;
}

// Difference of Gaussians G(s) - G(2s); with its gain for white noise (sum of squared
// kernel weights), measured on an impulse.
Plane Band(const Plane& in, double s) { Plane a = GaussianBlur(in, s), b = GaussianBlur(in, 2 * s);
  for (size_t i = 0; i < a.v.size(); ++i) a.v[i] -= b.v[i];
  return a;
}
double BandNoiseGain(double s) {
  const int r = int(std::ceil(6 * 2 * s)) + 2;
  Plane impulse(2 * r + 1, 2 * r + 1);
  impulse.at(r, r) = 1;
  Plane b = Band(impulse, s);
  double g = 0;
  for (float v : b.v) g += double(v) * v;
  return g;
}
double MeanSquare(const Plane& p, const Mask& inside) {
  double s = 0;
  size_t n = 0;
  for (size_t i = 0; i < p.v.size(); ++i) {
    if (inside[i]) s += double(p.v[i]) * p.v[i], ++n;
  }
  return n ? s / double(n) : 0;
}

QualityCheck Check(const char* name, double value, double threshold, bool higher_better) {
  QualityCheck c;
  c.name = name;
  c.value = value;
  c.threshold = threshold;
  if (higher_better) c.quality = Clamp01(threshold > 0 ? 0.5 * value / threshold : 1);
  else c.quality = Clamp01(value > 0 ? 0.5 * threshold / value : 1);
  return c;
}

Mask Upscale(const Mask& m, int w, int h, int ow, int oh) {
  if (w == ow && h == oh) return m;
  Mask out(size_t(ow) * size_t(oh));
  for (int y = 0; y < oh; ++y) {
    const int sy = std::min(h - 1, int((y + 0.5) * h / oh));
    for (int x = 0; x < ow; ++x) {
      const int sx = std::min(w - 1, int((x + 0.5) * w / ow));
      out[size_t(y) * size_t(ow) + size_t(x)] = m[size_t(sy) * size_t(w) + size_t(sx)];
    }
  }
  return out;
}

}  // namespace

Result<FundusAnalysis> AnalyzeFundus(const FundusImage& image, bool segment_vessels) {
  const int W = image.width, H = image.height;
  if (W < 64 || H < 64 || image.rgb.size() != size_t(W) * size_t(H) * 3) {
    return Status(ErrorCode::kInvalidArgument, "fundus image must be RGB and at least 64 x 64 pixels");
  }
  if (size_t(W) * size_t(H) > kMaxFundusPixels) {
    return Status(ErrorCode::kInvalidArgument, "fundus image of " + std::to_string(W) + " x " +
                                                   std::to_string(H) + " pixels is over the 64-megapixel limit");
  }
  FundusAnalysis a;
  a.width = W;
  a.height = H;

  // Field of view: brighter than a tenth of the bright end (the camera's black surround).
  std::vector<int> hist(256, 0);
  Mask bright(size_t(W) * size_t(H));
  std::vector<uint8_t> maxc(bright.size());
  for (size_t i = 0; i < bright.size(); ++i) {
    maxc[i] = std::max({image.rgb[3 * i], image.rgb[3 * i + 1], image.rgb[3 * i + 2]});
    ++hist[maxc[i]];
  }
  int p99 = 255;
  for (size_t acc = 0, k = 0; k < 256; ++k) {
    acc += size_t(hist[k]);
    if (double(acc) >= 0.99 * double(bright.size())) { p99 = int(k); break; }
  }
  const int fov_threshold = std::max(10, int(0.15 * p99));
  // Smoothed first, so that sensor noise in the surround does not join the field.
  Plane maxf(W, H);
  for (size_t i = 0; i < maxc.size(); ++i) maxf.v[i] = maxc[i];
  maxf = GaussianBlur(maxf, 2.0);
  for (size_t i = 0; i < bright.size(); ++i) bright[i] = maxf.v[i] > fov_threshold;
  a.fov = LargestComponentFilled(bright, W, H);
  int x0 = W, x1 = -1, y0 = H, y1 = -1;
  size_t fov_pixels = 0;
  for (int y = 0; y < H; ++y) {
    for (int x = 0; x < W; ++x) {
      if (!a.fov[size_t(y) * size_t(W) + size_t(x)]) continue;
      ++fov_pixels;
      x0 = std::min(x0, x), x1 = std::max(x1, x), y0 = std::min(y0, y), y1 = std::max(y1, y);
    }
  }
  a.fov_fraction = double(fov_pixels) / double(W) / double(H);
  a.vessels.assign(a.fov.size(), 0);
  a.disc.assign(a.fov.size(), 0);
  if (a.fov_fraction < 0.05) {
    a.checks.push_back(Check("illumination", 0, kMinLuminance, true));
    a.checks.push_back(Check("field", 0, 1, true));
    a.reason = "no field of view (nothing brighter than the surround)";
    return a;
  }
  a.fov_diameter_px = std::max(x1 - x0 + 1, y1 - y0 + 1);

  // Working copy.
  const double scale = std::min(1.0, kWorkFov / a.fov_diameter_px);
  a.work_scale = scale;
  const int w = std::max(16, int(std::lround(W * scale))), h = std::max(16, int(std::lround(H * scale)));
  const double dw = a.fov_diameter_px * scale;
  const double k = dw / kWorkFov;  // 1 unless the photograph is smaller than the working size
  Plane fov_f(W, H);
  for (size_t i = 0; i < a.fov.size(); ++i) fov_f.v[i] = a.fov[i] ? 1.f : 0.f;
  Plane fov_w = Shrink(fov_f, scale, w, h);
  Mask fov(size_t(w) * size_t(h));
  for (size_t i = 0; i < fov.size(); ++i) fov[i] = fov_w.v[i] > 0.5f;
  const Mask inner = Erode(fov, w, h, std::max(2, int(std::lround(3 * k))));
  const Plane green = Shrink(ChannelOf(image, 1), scale, w, h);
  const Plane lum = Shrink(LuminanceOf(image), scale, w, h);
  // Filled from inside the eroded field: the field's soft rim is darker than the retina.
  const Plane gf = FillOutside(green, inner, int(std::lround(34 * k)));
  // The vessel-free background: a closing wider than the widest vessel, then smoothed.
  const Plane bg = GaussianBlur(Close(gf, std::max(1, int(std::lround(6 * k)))), 4 * k);

  // Illumination: mean luminance of the field.
  double lsum = 0, gsum = 0;
  size_t n = 0;
  for (size_t i = 0; i < fov.size(); ++i) {
    if (fov[i]) lsum += lum.v[i], gsum += green.v[i], ++n;
  }
  const double mean_l = n ? lsum / double(n) : 0, mean_g = n ? gsum / double(n) : 0;
  QualityCheck illum = Check("illumination", mean_l, kMinLuminance, true);
  illum.quality = Clamp01(std::min(0.5 * mean_l / kMinLuminance, 0.5 * (1 - mean_l) / kMinLuminance));
  a.checks.push_back(illum);

  // Uniformity: cell means over the field (cells of 1/8 of its diameter, >= 50 % inside).
  {
    const int cell = std::max(4, int(std::lround(dw / 8)));
    std::vector<double> means;
    for (int cy = 0; cy + cell <= h; cy += cell) {
      for (int cx = 0; cx + cell <= w; cx += cell) {
        double s = 0;
        int in = 0;
        for (int y = cy; y < cy + cell; ++y) {
          for (int x = cx; x < cx + cell; ++x) {
            if (fov[size_t(y) * size_t(w) + size_t(x)]) s += lum.at(x, y), ++in;
          }
        }
        if (in >= 0.5 * cell * cell) means.push_back(s / in);
      }
    }
    const double med = Percentile(means, 0.5);
    a.checks.push_back(Check("uniformity", med > 0 ? Percentile(means, 0.1) / med : 0, kMinUniformity, true));
  }

  // Noise relative to the green level, at the photograph's resolution; what remains of it
  // on the working copy (white noise through the anti-aliasing Gaussian of SD s has
  // variance sigma^2 / (4 pi s^2), and sampling at 2 s keeps it about white).
  const double noise_full = NoiseSigma(ChannelOf(image, 1), Erode(a.fov, W, H, 3));
  a.checks.push_back(Check("noise", mean_g > 0 ? noise_full / mean_g : 1, kMaxNoise, false));
  const double aa = 0.5 / scale;
  const double noise_sd = scale < 1 ? noise_full / std::sqrt(4 * M_PI * aa * aa) : noise_full;

  // Focus: energy of the fine band (vessel edges) over the coarse band, each less what
  // white noise of the measured SD puts into it.
  {
    const double s1 = 1.0 * k, s2 = 4.0 * k;
    const Mask deep = Erode(fov, w, h, int(std::lround(16 * k)));
    const double e1 = std::max(0.0, MeanSquare(Band(gf, s1), deep) - noise_sd * noise_sd * BandNoiseGain(s1));
    const double e2 = std::max(1e-12, MeanSquare(Band(gf, s2), deep) - noise_sd * noise_sd * BandNoiseGain(s2));
    a.checks.push_back(Check("focus", e1 / e2, kMinFocus, true));
  }

  // Optic disc and macula (landmarks.cpp), on the working grid.
  const DiscLandmark disc = FindOpticDisc(gf, fov, dw, k, kMinDiscContrast);
  a.disc_contrast = disc.contrast;
  a.disc_found = disc.found;
  if (disc.found) {
    a.disc_x = (disc.x + 0.5) / scale - 0.5;
    a.disc_y = (disc.y + 0.5) / scale - 0.5;
    a.disc_diameter_px = disc.diameter / scale;
    const MaculaLandmark macula = FindMacula(bg, fov, disc, dw, kMinMaculaContrast);
    a.macula_contrast = macula.contrast;
    a.macula_found = macula.found;
    a.macula_inside = macula.with_room;
    a.macula_x = (macula.x + 0.5) / scale - 0.5;
    a.macula_y = (macula.y + 0.5) / scale - 0.5;
  }
  QualityCheck field = Check("field", a.disc_found && a.macula_found && a.macula_inside ? 1 : 0, 1, true);
  field.quality = field.value;  // pass or fail
  a.checks.push_back(field);

  // Vessels: Frangi vesselness of the green channel's darkening against its vessel-free
  // background.
  if (segment_vessels) {
    Plane dark(w, h);
    for (size_t i = 0; i < dark.v.size(); ++i) {
      dark.v[i] = float(Clamp01((bg.v[i] - gf.v[i]) / std::max(0.02f, bg.v[i])));
    }
    FrangiParams params;
    params.sigma_min = 1.0 * k;
    params.sigma_max = 4.0 * k;
    params.sigma_steps = 4;
    params.gamma = kFrangiGamma;
    auto frangi = FrangiVesselness(dark, params);
    if (!frangi.ok()) return frangi.status();
    const Plane& v = *frangi;
    Mask vessels(v.v.size());
    for (size_t i = 0; i < v.v.size(); ++i) vessels[i] = inner[i] && v.v[i] > kVesselThreshold;
    RemoveSmallComponents(vessels, w, h, std::max(4, int(std::lround(25 * k * k))));
    a.vessels = Upscale(vessels, w, h, W, H);
    for (size_t i = 0; i < a.vessels.size(); ++i) a.vessels[i] = a.vessels[i] && a.fov[i];
  }
  a.disc = Upscale(disc.mask, w, h, W, H);
  size_t vessel_pixels = 0;
  for (uint8_t v : a.vessels) vessel_pixels += v != 0;
  a.vessel_density = fov_pixels ? double(vessel_pixels) / double(fov_pixels) : 0;

  a.score = 1;
  for (const auto& c : a.checks) {
    a.score = std::min(a.score, c.quality);
    if (!c.passed()) a.reason += (a.reason.empty() ? "" : ", ") + c.name;
  }
  a.gradable = a.reason.empty();
  return a;
}

}  // namespace radflow::apps::ophthalmic
