#include "radiomics/autocorrelation.h"

#include <fftw3.h>

#include <algorithm>
#include <cmath>
#include <complex>
#include <mutex>
#include <vector>

namespace radflow::radiomics {

namespace {

std::mutex planner_mu;  // FFTW's planner is not thread-safe; execution is

// Linear convolution of `a` with `kernel` on the padded grid n (FFTW's order: n[0] slowest).
class Convolver {
 public:
  Convolver(const int n[3], const std::vector<double>& kernel) : size_(size_t(n[0]) * n[1] * n[2]) {
    complex_size_ = size_t(n[0]) * n[1] * (n[2] / 2 + 1);
    real_ = fftw_alloc_real(size_);
    spec_ = fftw_alloc_complex(complex_size_);
    kspec_.resize(complex_size_);
    {
      std::lock_guard<std::mutex> g(planner_mu);
      forward_ = fftw_plan_dft_r2c_3d(n[0], n[1], n[2], real_, spec_, FFTW_ESTIMATE);
      backward_ = fftw_plan_dft_c2r_3d(n[0], n[1], n[2], spec_, real_, FFTW_ESTIMATE);
    }
    std::copy(kernel.begin(), kernel.end(), real_);
    fftw_execute(forward_);
    for (size_t i = 0; i < complex_size_; ++i) kspec_[i] = {spec_[i][0], spec_[i][1]};
  }
  ~Convolver() {
    std::lock_guard<std::mutex> g(planner_mu);
    fftw_destroy_plan(forward_);
    fftw_destroy_plan(backward_);
    fftw_free(real_);
    fftw_free(spec_);
  }
  std::vector<double> Apply(const std::vector<double>& a) {
    std::copy(a.begin(), a.end(), real_);
    fftw_execute(forward_);
    for (size_t i = 0; i < complex_size_; ++i) {
      const std::complex<double> v = std::complex<double>(spec_[i][0], spec_[i][1]) * kspec_[i];
      spec_[i][0] = v.real();
      spec_[i][1] = v.imag();
    }
    fftw_execute(backward_);
    std::vector<double> out(real_, real_ + size_);
    for (double& x : out) x /= double(size_);
    return out;
  }

 private:
  size_t size_, complex_size_;
  double* real_;
  fftw_complex* spec_;
  std::vector<std::complex<double>> kspec_;
  fftw_plan forward_, backward_;
};

}  // namespace

std::optional<std::pair<double, double>> MoranGeary(const imaging::ImageVolume& image,
                                                    const imaging::Mask& mask) {
  const auto& g = image.geometry();
  const auto& s = g.size;
  if (mask.geometry().size != s) return std::nullopt;
  size_t lo[3] = {s[0], s[1], s[2]}, hi[3] = {0, 0, 0};
  double sum = 0;
  size_t n = 0;
  for (size_t k = 0; k < s[2]; ++k)
    for (size_t j = 0; j < s[1]; ++j)
      for (size_t i = 0; i < s[0]; ++i) {
        if (!mask.at(i, j, k)) continue;
        const size_t idx[3] = {i, j, k};
        for (int a = 0; a < 3; ++a) {
          lo[a] = std::min(lo[a], idx[a]);
          hi[a] = std::max(hi[a], idx[a]);
        }
        sum += image.at(i, j, k);
        ++n;
      }
  if (n < 2) return std::nullopt;
  const double mean = sum / double(n);
  // Padded box: twice the bounding box per axis, so the circular convolution is linear.
  int box[3], pad[3];
  for (int a = 0; a < 3; ++a) {
    box[a] = int(hi[a] - lo[a] + 1);
    pad[a] = 2 * box[a];
  }
  const int fftw_n[3] = {pad[2], pad[1], pad[0]};  // i varies fastest
  const size_t total = size_t(pad[0]) * pad[1] * pad[2];
  auto at = [&](int x, int y, int z) { return size_t(x) + size_t(pad[0]) * (size_t(y) + size_t(pad[1]) * z); };

  std::vector<double> kernel(total, 0.0), m(total, 0.0), zm(total, 0.0);
  for (int z = -(box[2] - 1); z < box[2]; ++z)
    for (int y = -(box[1] - 1); y < box[1]; ++y)
      for (int x = -(box[0] - 1); x < box[0]; ++x) {
        if (x == 0 && y == 0 && z == 0) continue;
        const double dx = x * g.spacing[0], dy = y * g.spacing[1], dz = z * g.spacing[2];
        kernel[at((x + pad[0]) % pad[0], (y + pad[1]) % pad[1], (z + pad[2]) % pad[2])] =
            1.0 / std::sqrt(dx * dx + dy * dy + dz * dz);
      }
  double var = 0;
  for (int z = 0; z < box[2]; ++z)
    for (int y = 0; y < box[1]; ++y)
      for (int x = 0; x < box[0]; ++x) {
        if (!mask.at(lo[0] + x, lo[1] + y, lo[2] + z)) continue;
        const double d = image.at(lo[0] + x, lo[1] + y, lo[2] + z) - mean;
        m[at(x, y, z)] = 1;
        zm[at(x, y, z)] = d;
        var += d * d;
      }
  if (var <= 0) return std::nullopt;
  Convolver conv(fftw_n, kernel);
  const auto km = conv.Apply(m), kzm = conv.Apply(zm);
  double w = 0, cross = 0, squares = 0;
  for (size_t i = 0; i < total; ++i) {
    if (m[i] == 0) continue;
    w += km[i];                      // sum of w_ij over pairs
    cross += zm[i] * kzm[i];         // sum of w_ij z_i z_j
    squares += zm[i] * zm[i] * km[i];  // sum of w_ij z_i^2
  }
  if (w <= 0) return std::nullopt;
  const double moran = double(n) / w * cross / var;
  // sum w_ij (z_i - z_j)^2 = 2 (sum w_ij z_i^2 - sum w_ij z_i z_j)
  const double geary = double(n - 1) * 2 * (squares - cross) / (2 * w * var);
  return std::make_pair(moran, geary);
}

}  // namespace radflow::radiomics
