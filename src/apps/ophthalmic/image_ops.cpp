// Plain image operations for the fundus analysis (no third-party types).
#include <algorithm>
#include <cmath>
#include <deque>

#include "apps/ophthalmic/fundus_image.h"

namespace radflow::apps::ophthalmic {

namespace {

std::vector<float> Kernel(double sigma) {
  const int r = std::max(1, int(std::ceil(3 * sigma)));
  std::vector<float> k(size_t(2 * r + 1));
  double sum = 0;
  for (int i = -r; i <= r; ++i) sum += k[size_t(i + r)] = float(std::exp(-0.5 * i * i / (sigma * sigma)));
  for (auto& x : k) x = float(x / sum);
  return k;
}

// Max (or min) over windows of 2r+1 in one line (van Herk / Gil-Werman: three
// comparisons per sample whatever r), the window clipped at the ends.
// `pad` stands for the samples beyond the ends.
void MinMaxLine(const float* in, size_t n, size_t stride, int r, bool max, float pad, float* out,
                std::vector<float>& a, std::vector<float>& g, std::vector<float>& hh) {
  const float identity = pad;
  auto pick = [max](float x, float y) { return max ? std::max(x, y) : std::min(x, y); };
  const size_t k = size_t(2 * r + 1), m = n + 2 * size_t(r);
  a.assign(m, identity);
  for (size_t i = 0; i < n; ++i) a[i + size_t(r)] = in[i * stride];
  g.resize(m);
  hh.resize(m);
  for (size_t i = 0; i < m; ++i) g[i] = (i % k == 0) ? a[i] : pick(g[i - 1], a[i]);
  for (size_t i = m; i-- > 0;) hh[i] = (i == m - 1 || (i + 1) % k == 0) ? a[i] : pick(hh[i + 1], a[i]);
  for (size_t x = 0; x < n; ++x) out[x * stride] = pick(hh[x], g[x + k - 1]);
}

// Outside the image: `pad` (the identity of min or max clips the window at the border).
Plane MinMaxFilter(const Plane& in, int r, bool max, float pad) {
  const int w = in.width, h = in.height;
  Plane tmp(w, h), out(w, h);
  std::vector<float> a, g, hh;
  for (int y = 0; y < h; ++y) {
    MinMaxLine(&in.v[size_t(y) * size_t(w)], size_t(w), 1, r, max, pad, &tmp.v[size_t(y) * size_t(w)], a, g, hh);
  }
  for (int x = 0; x < w; ++x) {
    MinMaxLine(&tmp.v[size_t(x)], size_t(h), size_t(w), r, max, pad, &out.v[size_t(x)], a, g, hh);
  }
  return out;
}

constexpr float kLowest = -3.4e38f, kHighest = 3.4e38f;

}  // namespace

Plane GaussianBlur(const Plane& in, double sigma) {
  if (sigma <= 0 || in.v.empty()) return in;
  const auto k = Kernel(sigma);
  const int r = int(k.size() / 2), w = in.width, h = in.height;
  Plane tmp(w, h), out(w, h);
  for (int y = 0; y < h; ++y) {
    const float* row = &in.v[size_t(y) * size_t(w)];
    float* dst = &tmp.v[size_t(y) * size_t(w)];
    for (int x = 0; x < w; ++x) {
      float s = 0;
      if (x >= r && x + r < w) {
        for (int i = -r; i <= r; ++i) s += k[size_t(i + r)] * row[x + i];
      } else {
        for (int i = -r; i <= r; ++i) s += k[size_t(i + r)] * row[std::clamp(x + i, 0, w - 1)];
      }
      dst[x] = s;
    }
  }
  // Columns: whole rows at a time (contiguous, vectorisable).
  for (int y = 0; y < h; ++y) {
    float* dst = &out.v[size_t(y) * size_t(w)];
    for (int i = -r; i <= r; ++i) {
      const float* src = &tmp.v[size_t(std::clamp(y + i, 0, h - 1)) * size_t(w)];
      const float c = k[size_t(i + r)];
      for (int x = 0; x < w; ++x) dst[x] += c * src[x];
    }
  }
  return out;
}

Plane Resample(const Plane& in, int w, int h) {
  Plane out(w, h);
  const double sx = double(in.width) / w, sy = double(in.height) / h;
  for (int y = 0; y < h; ++y) {
    const double fy = std::clamp((y + 0.5) * sy - 0.5, 0.0, double(in.height - 1));
    const int y0 = int(fy), y1 = std::min(y0 + 1, in.height - 1);
    const float ty = float(fy - y0);
    for (int x = 0; x < w; ++x) {
      const double fx = std::clamp((x + 0.5) * sx - 0.5, 0.0, double(in.width - 1));
      const int x0 = int(fx), x1 = std::min(x0 + 1, in.width - 1);
      const float tx = float(fx - x0);
      const float a = in.at(x0, y0) * (1 - tx) + in.at(x1, y0) * tx;
      const float b = in.at(x0, y1) * (1 - tx) + in.at(x1, y1) * tx;
      out.at(x, y) = a * (1 - ty) + b * ty;
    }
  }
  return out;
}

Mask LargestComponentFilled(const Mask& mask, int w, int h) {
  std::vector<int> label(mask.size(), 0);
  int best = 0, next = 0;
  size_t best_size = 0;
  const size_t n = size_t(w) * size_t(h);
  std::deque<size_t> q;
  for (size_t start = 0; start < n; ++start) {
    if (!mask[start] || label[start]) continue;
    ++next;
    size_t size = 0;
    label[start] = next;
    q.push_back(start);
    while (!q.empty()) {
      const size_t p = q.front();
      q.pop_front();
      ++size;
      const int x = int(p % size_t(w)), y = int(p / size_t(w));
      const int nb[4][2] = {{x - 1, y}, {x + 1, y}, {x, y - 1}, {x, y + 1}};
      for (auto& c : nb) {
        if (c[0] < 0 || c[1] < 0 || c[0] >= w || c[1] >= h) continue;
        const size_t i = size_t(c[1]) * size_t(w) + size_t(c[0]);
        if (mask[i] && !label[i]) {
          label[i] = next;
          q.push_back(i);
        }
      }
    }
    if (size > best_size) best_size = size, best = next;
  }
  // Holes: background not reachable from the border.
  Mask outside(mask.size(), 0);
  for (size_t i = 0; i < n; ++i) {
    const int x = int(i % size_t(w)), y = int(i / size_t(w));
    if ((x == 0 || y == 0 || x == w - 1 || y == h - 1) && label[i] != best) {
      outside[i] = 1;
      q.push_back(i);
    }
  }
  while (!q.empty()) {
    const size_t p = q.front();
    q.pop_front();
    const int x = int(p % size_t(w)), y = int(p / size_t(w));
    const int nb[4][2] = {{x - 1, y}, {x + 1, y}, {x, y - 1}, {x, y + 1}};
    for (auto& c : nb) {
      if (c[0] < 0 || c[1] < 0 || c[0] >= w || c[1] >= h) continue;
      const size_t i = size_t(c[1]) * size_t(w) + size_t(c[0]);
      if (!outside[i] && label[i] != best) {
        outside[i] = 1;
        q.push_back(i);
      }
    }
  }
  Mask out(mask.size(), 0);
  if (best == 0) return out;
  for (size_t i = 0; i < out.size(); ++i) out[i] = outside[i] ? 0 : 1;
  return out;
}

void RemoveSmallComponents(Mask& mask, int w, int h, int min_pixels) {
  std::vector<uint8_t> seen(mask.size(), 0);
  std::vector<size_t> comp;
  const size_t n = size_t(w) * size_t(h);
  for (size_t start = 0; start < n; ++start) {
    if (!mask[start] || seen[start]) continue;
    comp.clear();
    comp.push_back(start);
    seen[start] = 1;
    for (size_t k = 0; k < comp.size(); ++k) {
      const int x = int(comp[k] % size_t(w)), y = int(comp[k] / size_t(w));
      for (int dy = -1; dy <= 1; ++dy) {
        for (int dx = -1; dx <= 1; ++dx) {
          const int nx = x + dx, ny = y + dy;
          if (nx < 0 || ny < 0 || nx >= w || ny >= h) continue;
          const size_t i = size_t(ny) * size_t(w) + size_t(nx);
          if (mask[i] && !seen[i]) {
            seen[i] = 1;
            comp.push_back(i);
          }
        }
      }
    }
    if (comp.size() < size_t(std::max(0, min_pixels))) {
      for (size_t i : comp) mask[i] = 0;
    }
  }
}

Mask Erode(const Mask& mask, int w, int h, int r) {
  Plane p(w, h);
  for (size_t i = 0; i < mask.size(); ++i) p.v[i] = mask[i] ? 1.f : 0.f;
  // Outside the image is background: a field of view cut by the image border is eroded
  // there too (the border is not more field).
  Plane e = MinMaxFilter(p, r, false, 0.f);
  Mask out(mask.size());
  for (size_t i = 0; i < out.size(); ++i) out[i] = e.v[i] > 0.5f;
  return out;
}

Plane Close(const Plane& in, int r) {
  return MinMaxFilter(MinMaxFilter(in, r, true, kLowest), r, false, kHighest);
}

}  // namespace radflow::apps::ophthalmic
