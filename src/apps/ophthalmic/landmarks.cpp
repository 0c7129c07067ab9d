// Optic disc and macula: box contrasts from integral images, then the disc's outline.
#include <algorithm>
#include <cmath>
#include <deque>

#include "apps/ophthalmic/landmarks.h"

namespace radflow::apps::ophthalmic {
namespace {

// Sums over axis-aligned squares (clipped to the image) from an integral image.
struct Integral {
  int w = 0, h = 0;
  std::vector<double> s;  // (w+1) x (h+1)
  explicit Integral(const Plane& p) : w(p.width), h(p.height), s(size_t(w + 1) * size_t(h + 1), 0) {
    for (int y = 0; y < h; ++y) {
      double row = 0;
      for (int x = 0; x < w; ++x) {
        row += p.at(x, y);
        s[size_t(y + 1) * size_t(w + 1) + size_t(x + 1)] = s[size_t(y) * size_t(w + 1) + size_t(x + 1)] + row;
      }
    }
  }
  // Sum and area over the square of half-size a around (cx, cy).
  std::pair<double, double> Box(int cx, int cy, int a) const {
    const int x0 = std::max(0, cx - a), y0 = std::max(0, cy - a);
    const int x1 = std::min(w, cx + a + 1), y1 = std::min(h, cy + a + 1);
    if (x1 <= x0 || y1 <= y0) return {0, 0};
    auto at = [&](int x, int y) { return s[size_t(y) * size_t(w + 1) + size_t(x)]; };
    return {at(x1, y1) - at(x0, y1) - at(x1, y0) + at(x0, y0), double(x1 - x0) * (y1 - y0)};
  }
};

}  // namespace

DiscLandmark FindOpticDisc(const Plane& gf, const Mask& fov, double dw, double k, double min_contrast) {
  const int w = gf.width, h = gf.height;
  DiscLandmark d;
  d.mask.assign(fov.size(), 0);
  // A square of the expected disc's area (diameter 0.13 x the field's).
  const Integral integral(gf);
  const int half = std::max(2, int(std::lround(0.886 * 0.065 * dw)));
  double best = -1e9, best_out = 1;
  int bx = w / 2, by = h / 2;
  for (int y = 0; y < h; y += 2) {
    for (int x = 0; x < w; x += 2) {
      if (!fov[size_t(y) * size_t(w) + size_t(x)]) continue;
      auto [si, ai] = integral.Box(x, y, half);
      auto [so, ao] = integral.Box(x, y, 2 * half);
      if (ai <= 0 || ao <= ai) continue;
      const double in_mean = si / ai, out_mean = (so - si) / (ao - ai);
      if (in_mean - out_mean > best) best = in_mean - out_mean, best_out = out_mean, bx = x, by = y;
    }
  }
  d.contrast = best_out > 1e-6 ? best / best_out : 0;
  d.found = d.contrast >= min_contrast;
  if (!d.found) return d;

  // The outline: where the vessel-free (closed) green is above half-way between the disc's
  // level and its surround's, connected to the peak.
  const int R = 3 * half;
  const int wx0 = std::max(0, bx - R), wy0 = std::max(0, by - R);
  const int wx1 = std::min(w - 1, bx + R), wy1 = std::min(h - 1, by + R);
  Plane win(wx1 - wx0 + 1, wy1 - wy0 + 1);
  for (int y = wy0; y <= wy1; ++y) {
    for (int x = wx0; x <= wx1; ++x) win.at(x - wx0, y - wy0) = gf.at(x, y);
  }
  win = GaussianBlur(Close(win, std::max(1, int(std::lround(5 * k)))), 1.5 * k);
  auto [si, ai] = integral.Box(bx, by, half);
  const float level = float(0.5 * (si / ai + best_out));
  int px = bx - wx0, py = by - wy0;
  if (win.at(px, py) <= level) {  // the peak square's centre may sit in the cup's shadow
    float m = -1;
    for (int y = std::max(0, py - half); y <= std::min(win.height - 1, py + half); ++y) {
      for (int x = std::max(0, px - half); x <= std::min(win.width - 1, px + half); ++x) {
        if (win.at(x, y) > m) m = win.at(x, y), px = x, py = y;
      }
    }
  }
  std::vector<uint8_t> in(win.v.size(), 0);
  std::deque<std::pair<int, int>> q{{px, py}};
  in[size_t(py) * size_t(win.width) + size_t(px)] = 1;
  double sx = 0, sy = 0, area = 0;
  while (!q.empty()) {
    auto [x, y] = q.front();
    q.pop_front();
    sx += x, sy += y, area += 1;
    d.mask[size_t(y + wy0) * size_t(w) + size_t(x + wx0)] = 1;
    const int nb[4][2] = {{x - 1, y}, {x + 1, y}, {x, y - 1}, {x, y + 1}};
    for (auto& c : nb) {
      if (c[0] < 0 || c[1] < 0 || c[0] >= win.width || c[1] >= win.height) continue;
      const size_t j = size_t(c[1]) * size_t(win.width) + size_t(c[0]);
      if (!in[j] && win.v[j] > level) in[j] = 1, q.push_back({c[0], c[1]});
    }
  }
  d.diameter = 2 * std::sqrt(area / M_PI);
  d.x = sx / area + wx0;
  d.y = sy / area + wy0;
  return d;
}

MaculaLandmark FindMacula(const Plane& bg, const Mask& fov, const DiscLandmark& disc, double dw,
                          double min_contrast) {
  const int w = bg.width, h = bg.height;
  MaculaLandmark m;
  // The fovea lies ~2.5 disc diameters temporal to the disc (either side: laterality is not used).
  const double dd = std::clamp(disc.diameter, 0.08 * dw, 0.25 * dw);
  const Integral bgi(bg);
  const Mask room = Erode(fov, w, h, int(std::lround(0.5 * dd)));
  const int in_half = std::max(1, int(std::lround(0.35 * dd))), out_half = int(std::lround(1.2 * dd));
  double best_c = -1e9;
  int mx = -1, my = -1;
  for (int y = 0; y < h; y += 2) {
    for (int x = 0; x < w; x += 2) {
      const double r = std::hypot(x - disc.x, y - disc.y);
      if (r < 1.8 * dd || r > 3.4 * dd || !room[size_t(y) * size_t(w) + size_t(x)]) continue;
      auto [si, ai] = bgi.Box(x, y, in_half);
      auto [so, ao] = bgi.Box(x, y, out_half);
      if (ai <= 0 || ao <= ai) continue;
      const double out_mean = (so - si) / (ao - ai);
      const double c = out_mean > 1e-6 ? (out_mean - si / ai) / out_mean : 0;
      if (c > best_c) best_c = c, mx = x, my = y;
    }
  }
  if (mx < 0) return m;  // no point of the annulus has room in the field
  m.with_room = true;
  m.contrast = best_c;
  m.found = best_c >= min_contrast;
  m.x = mx;
  m.y = my;
  return m;
}

}  // namespace radflow::apps::ophthalmic
