// The retina phantom. Vessels: a tree grown from the disc (four main vessels, the two
// temporal ones arching around the macula), each branch a random walk of 2-pixel steps
// that splits every 40..90 pixels (children 55..75 % of the parent's width, the parent
// keeps 90 %) until narrower than 1.5 pixels. Each vessel darkens green by a Gaussian
// profile whose full width at half maximum is the vessel width; the truth is the pixels
// within half that width of the centreline (DRIVE's manual masks mark the visible width).
#include <algorithm>
#include <cmath>
#include <vector>

#include "apps/ophthalmic/tests/phantom.h"

namespace radflow::apps::ophthalmic {
namespace {

// splitmix64: the same stream on every platform (std distributions are not portable).
struct Rng {
  uint64_t s;
  uint64_t Next() {
    uint64_t z = (s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  double Uniform(double a = 0, double b = 1) { return a + (b - a) * double(Next() >> 11) * 0x1.0p-53; }
  double Normal() {
    const double u1 = std::max(1e-300, Uniform()), u2 = Uniform();
    return std::sqrt(-2 * std::log(u1)) * std::cos(2 * M_PI * u2);
  }
};

struct Segment {
  double x0, y0, x1, y1, width;
};

struct Tree {
  std::vector<Segment> segments;
  double cx, cy, radius;  // field of view
  double mx, my;          // macula: temporal branches keep out of it
  Rng rng;

  void Grow(double x, double y, double theta, double width, double curvature, int depth) {
    double next_split = rng.Uniform(40, 90);
    double travelled = 0;
    for (int step = 0; step < 400 && width >= 1.5; ++step) {
      theta += curvature + rng.Normal() * 0.05;
      // Steer away from the fovea (the avascular zone, radius ~ 0.5 mm).
      const double fx = x - mx, fy = y - my, fd = std::hypot(fx, fy);
      if (fd < 60) theta += 0.15 * std::sin(std::atan2(fy, fx) - theta);
      const double nx = x + 2 * std::cos(theta), ny = y + 2 * std::sin(theta);
      if (std::hypot(nx - cx, ny - cy) > radius + 10) return;
      segments.push_back({x, y, nx, ny, width});
      x = nx, y = ny;
      travelled += 2;
      if (travelled >= next_split && depth < 7) {
        const double side = rng.Uniform() < 0.5 ? -1 : 1;
        Grow(x, y, theta + side * rng.Uniform(0.5, 1.0), width * rng.Uniform(0.55, 0.75),
             rng.Normal() * 0.01, depth + 1);
        width *= 0.9;
        theta -= side * 0.1;
        travelled = 0;
        next_split = rng.Uniform(40, 90);
      }
    }
  }
};

double SegmentDistance(const Segment& s, double px, double py) {
  const double dx = s.x1 - s.x0, dy = s.y1 - s.y0;
  const double len2 = dx * dx + dy * dy;
  double t = len2 > 0 ? ((px - s.x0) * dx + (py - s.y0) * dy) / len2 : 0;
  t = std::clamp(t, 0.0, 1.0);
  return std::hypot(px - (s.x0 + t * dx), py - (s.y0 + t * dy));
}

double Smooth(double edge_distance, double width) {  // 0 outside .. 1 inside, soft edge
  return std::clamp(0.5 + edge_distance / width, 0.0, 1.0);
}

}  // namespace

Phantom RenderPhantom(const PhantomOptions& o) {
  const int n = o.size, m = o.height > 0 ? o.height : o.size;  // columns, rows
  const double cx = 0.5 * n, cy = 0.5 * m, radius = 0.5 * o.fov_diameter;
  Phantom ph;
  ph.disc_x = cx + o.disc_dx;
  ph.disc_y = cy + o.disc_dy;
  ph.disc_diameter = o.disc_diameter;
  ph.macula_x = ph.disc_x + o.macula_distance * o.disc_diameter;
  ph.macula_y = ph.disc_y + o.macula_dy * o.disc_diameter;
  const double half_dd = 0.5 * o.disc_diameter;
  ph.macula_in_view = std::hypot(ph.macula_x - cx, ph.macula_y - cy) + half_dd <= radius &&
                      ph.macula_x - half_dd >= 0 && ph.macula_x + half_dd <= n && ph.macula_y - half_dd >= 0 &&
                      ph.macula_y + half_dd <= m;

  Tree tree{{}, cx, cy, radius, ph.macula_x, ph.macula_y, Rng{o.seed}};
  const double scale = o.disc_diameter / 80;  // vessel widths follow the disc's size
  tree.Grow(ph.disc_x, ph.disc_y, -1.2, 7 * scale, 0.012, 0);   // superotemporal arcade
  tree.Grow(ph.disc_x, ph.disc_y, 1.2, 7 * scale, -0.012, 0);   // inferotemporal arcade
  tree.Grow(ph.disc_x, ph.disc_y, -2.2, 5 * scale, -0.004, 1);  // superonasal
  tree.Grow(ph.disc_x, ph.disc_y, 2.2, 5 * scale, 0.004, 1);    // inferonasal
  tree.Grow(ph.disc_x, ph.disc_y, 0.1, 3 * scale, 0.0, 2);      // macular branch

  // Vessel darkening (fraction of green) and truth.
  std::vector<float> dark(size_t(n) * size_t(m), 0.f);
  ph.vessels.assign(dark.size(), 0);
  for (const Segment& s : tree.segments) {
    const double sigma = s.width / 2.355;
    const double contrast = 0.35 * (0.4 + 0.6 * std::min(1.0, s.width / 6));
    const double reach = 3 * sigma + 1;
    const int xa = std::max(0, int(std::min(s.x0, s.x1) - reach));
    const int xb = std::min(n - 1, int(std::max(s.x0, s.x1) + reach));
    const int ya = std::max(0, int(std::min(s.y0, s.y1) - reach));
    const int yb = std::min(m - 1, int(std::max(s.y0, s.y1) + reach));
    for (int y = ya; y <= yb; ++y) {
      for (int x = xa; x <= xb; ++x) {
        const double d = SegmentDistance(s, x, y);
        if (d > reach) continue;
        const size_t i = size_t(y) * size_t(n) + size_t(x);
        dark[i] = std::max(dark[i], float(contrast * std::exp(-0.5 * d * d / (sigma * sigma))));
        if (d <= 0.5 * s.width) ph.vessels[i] = 1;
      }
    }
  }

  Rng texture{o.seed * 7919 + 13};
  double phase[4];
  for (double& p : phase) p = texture.Uniform(0, 2 * M_PI);
  Plane ch[3] = {Plane(n, m), Plane(n, m), Plane(n, m)};
  ph.fov.assign(dark.size(), 0);
  const double disc_r = 0.5 * o.disc_diameter;
  for (int y = 0; y < m; ++y) {
    for (int x = 0; x < n; ++x) {
      const size_t i = size_t(y) * size_t(n) + size_t(x);
      const double r = std::hypot(x - cx, y - cy);
      const double in_fov = Smooth(radius - r, 1.5);
      if (r <= radius) ph.fov[i] = 1;
      else ph.vessels[i] = 0;
      // Fundus background with faint choroidal texture.
      const double tex = 1 + 0.03 * std::sin(x * 0.05 + phase[0]) * std::sin(y * 0.043 + phase[1]) +
                         0.02 * std::sin((x + y) * 0.11 + phase[2]) * std::cos((x - y) * 0.07 + phase[3]);
      double rgb[3] = {0.80 * tex, 0.33 * tex, 0.17 * tex};
      // Macula: darker, mostly in green.
      const double m2 = (std::pow(x - ph.macula_x, 2) + std::pow(y - ph.macula_y, 2)) /
                        std::pow(0.35 * o.disc_diameter, 2);
      const double mac = std::exp(-0.5 * m2);
      rgb[0] *= 1 - 0.10 * mac, rgb[1] *= 1 - 0.30 * mac, rgb[2] *= 1 - 0.20 * mac;
      // Optic disc: pale yellow with a brighter cup.
      const double rd = std::hypot(x - ph.disc_x, y - ph.disc_y);
      const double disc = Smooth(disc_r - rd, 3.0), cup = Smooth(0.4 * disc_r - rd, 4.0);
      const double disc_rgb[3] = {0.97, 0.72 + 0.13 * cup, 0.45 + 0.15 * cup};
      for (int c = 0; c < 3; ++c) rgb[c] = rgb[c] * (1 - disc) + disc_rgb[c] * disc;
      // Vessels: strong in green, weaker in blue, faint in red.
      rgb[0] *= 1 - 0.15 * dark[i], rgb[1] *= 1 - dark[i], rgb[2] *= 1 - 0.6 * dark[i];
      // Illumination: the natural fall-off plus the chosen vignetting, and exposure.
      const double illum = std::max(0.02, 1 - (0.15 + o.vignetting) * std::pow(std::min(r, radius) / radius, 2));
      for (int c = 0; c < 3; ++c) ch[c].at(x, y) = float(rgb[c] * illum * o.exposure * in_fov);
    }
  }

  Rng noise{o.seed * 104729 + 7};
  ph.image.width = n;
  ph.image.height = m;
  ph.image.rgb.resize(size_t(n) * size_t(m) * 3);
  for (int c = 0; c < 3; ++c) {
    const Plane p = GaussianBlur(ch[c], o.blur_sigma);
    for (size_t i = 0; i < p.v.size(); ++i) {
      const double v = p.v[i] + (o.noise_sigma > 0 ? o.noise_sigma * noise.Normal() : 0);
      ph.image.rgb[3 * i + size_t(c)] = uint8_t(std::lround(255 * std::clamp(v, 0.0, 1.0)));
    }
  }
  return ph;
}

}  // namespace radflow::apps::ophthalmic
