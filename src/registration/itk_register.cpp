// The only file of radflow that includes ITK: the v4 registration framework (Mattes mutual
// information, regular-step gradient descent with physical-shift scales, multi-resolution)
// and the transform file I/O. Every ITK exception is caught here and becomes a Status.
#include "registration/itk_register.h"

#include <itkAffineTransform.h>
#include <itkCenteredTransformInitializer.h>
#include <itkImage.h>
#include <itkImageRegistrationMethodv4.h>
#include <itkMattesMutualInformationImageToImageMetricv4.h>
#include <itkMatrixOffsetTransformBase.h>
#include <itkMultiThreaderBase.h>
#include <itkRegistrationParameterScalesFromPhysicalShift.h>
#include <itkRegularStepGradientDescentOptimizerv4.h>
#include <itkTransformFactoryBase.h>
#include <itkTransformFileReader.h>
#include <itkTransformFileWriter.h>
#include <itkTxtTransformIOFactory.h>
#include <itkVersorRigid3DTransform.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <mutex>
#include <random>
#include <sstream>

namespace radflow::registration {
namespace {

using ImageType = itk::Image<float, 3>;
using MetricType = itk::MattesMutualInformationImageToImageMetricv4<ImageType, ImageType>;
using OptimizerType = itk::RegularStepGradientDescentOptimizerv4<double>;
using RigidType = itk::VersorRigid3DTransform<double>;
using AffineType = itk::AffineTransform<double, 3>;
using LinearType = itk::MatrixOffsetTransformBase<double, 3, 3>;

// CT window the metric sees: air to dense bone; metal and padding values clipped away.
// Shifted by +1000 so air is 0 (the moments of the initialiser weigh tissue, not air).
constexpr float kLowHu = -1000, kHighHu = 2000;

ImageType::Pointer ToItk(const imaging::ImageVolume& v) {
  const auto& g = v.geometry();
  ImageType::SizeType size;
  ImageType::SpacingType spacing;
  ImageType::PointType origin;
  ImageType::DirectionType direction;
  for (unsigned a = 0; a < 3; ++a) {
    size[a] = g.size[a];
    spacing[a] = g.spacing[a];
    origin[a] = g.origin[a];
    for (unsigned r = 0; r < 3; ++r) direction[r][a] = g.direction[a][r];  // column a = axis a
  }
  auto image = ImageType::New();
  image->SetRegions(ImageType::RegionType(size));
  image->SetSpacing(spacing);
  image->SetOrigin(origin);
  image->SetDirection(direction);
  image->Allocate();
  float* out = image->GetBufferPointer();
  const auto& in = v.data();
  for (size_t n = 0; n < in.size(); ++n) out[n] = std::clamp(in[n], kLowHu, kHighHu) - kLowHu;
  return image;
}

std::array<double, 16> MatrixOf(const LinearType& t) {
  std::array<double, 16> m{};
  const auto& a = t.GetMatrix();
  const auto& offset = t.GetOffset();  // p' = A p + offset (the centre folded in)
  for (unsigned r = 0; r < 3; ++r) {
    for (unsigned c = 0; c < 3; ++c) m[4 * r + c] = a[r][c];
    m[4 * r + 3] = offset[r];
  }
  m[15] = 1;
  return m;
}

// Mattes MI of `transform` on a fixed random sample of the two working images, or +inf when
// (nearly) every sample maps outside the moving image.
double MetricAt(ImageType* fixed, ImageType* moving, const itk::Transform<double, 3, 3>* transform,
                const Options& o) {
  auto metric = MetricType::New();
  metric->SetNumberOfHistogramBins(o.histogram_bins);
  metric->SetFixedImage(fixed);
  metric->SetMovingImage(moving);
  metric->SetMovingTransform(const_cast<itk::Transform<double, 3, 3>*>(transform));
  metric->SetVirtualDomainFromImage(fixed);
  metric->SetUseMovingImageGradientFilter(false);  // the value only
  auto points = MetricType::FixedSampledPointSetType::New();
  const auto region = fixed->GetLargestPossibleRegion();
  std::mt19937 rng(o.seed);
  const size_t count = std::min<size_t>(50000, region.GetNumberOfPixels());
  for (size_t n = 0; n < count; ++n) {
    ImageType::IndexType idx;
    for (unsigned a = 0; a < 3; ++a) idx[a] = static_cast<long>(rng() % region.GetSize(a));
    ImageType::PointType p;
    fixed->TransformIndexToPhysicalPoint(idx, p);
    points->SetPoint(n, p);
  }
  metric->SetFixedSampledPointSet(points);
  metric->SetUseSampledPointSet(true);
  try {
    metric->Initialize();
    const double value = metric->GetValue();
    if (metric->GetNumberOfValidPoints() < count / 10) return std::numeric_limits<double>::infinity();
    return value;
  } catch (const itk::ExceptionObject&) {
    return std::numeric_limits<double>::infinity();
  }
}

struct StageOutcome {
  int iterations = 0;
  double metric = 0;
  std::string report;
};

// One ITK v4 registration over `levels` (coarsest first), updating `transform` in place.
// `step_mm` scales the first step of each level (half its nominal spacing, times this).
template <typename TTransform>
StageOutcome RunStage(const char* name, ImageType* fixed, ImageType* moving, TTransform* transform,
                      const std::vector<internal::Level>& levels, const Options& o, double step_mm,
                      int max_iterations) {
  using RegistrationType = itk::ImageRegistrationMethodv4<ImageType, ImageType, TTransform>;
  auto metric = MetricType::New();
  metric->SetNumberOfHistogramBins(o.histogram_bins);
  // The moving image's gradient by central differences at each sample, not from ITK's
  // default Gaussian-derivative gradient image: on the 2 mm grid that image's smoothing and
  // interpolation moved the optimum by ~0.7 mm (TRE 0.7-1.0 mm at the test lesions, against
  // 0.01-0.3 mm with central differences, at the same cost).
  metric->SetUseMovingImageGradientFilter(false);
  auto scales = itk::RegistrationParameterScalesFromPhysicalShift<MetricType>::New();
  scales->SetMetric(metric);
  auto optimizer = OptimizerType::New();
  optimizer->SetScalesEstimator(scales);
  optimizer->SetRelaxationFactor(0.5);
  optimizer->SetGradientMagnitudeTolerance(1e-8);
  optimizer->SetNumberOfIterations(max_iterations);
  optimizer->SetReturnBestParametersAndValue(true);

  auto registration = RegistrationType::New();
  registration->SetFixedImage(fixed);
  registration->SetMovingImage(moving);
  registration->SetMetric(metric);
  registration->SetOptimizer(optimizer);
  registration->SetInitialTransform(transform);
  registration->InPlaceOn();
  const auto n = static_cast<unsigned>(levels.size());
  registration->SetNumberOfLevels(n);
  typename RegistrationType::SmoothingSigmasArrayType sigmas(n);
  typename RegistrationType::MetricSamplingPercentageArrayType fractions(n);
  for (unsigned l = 0; l < n; ++l) {
    typename RegistrationType::ShrinkFactorsPerDimensionContainerType shrink;
    for (unsigned a = 0; a < 3; ++a) shrink[a] = levels[l].shrink[a];
    registration->SetShrinkFactorsPerDimension(l, shrink);
    sigmas[l] = levels[l].sigma_mm;
    fractions[l] = levels[l].sampling_fraction;
  }
  registration->SetSmoothingSigmasPerLevel(sigmas);
  registration->SmoothingSigmasAreSpecifiedInPhysicalUnitsOn();
  registration->SetMetricSamplingStrategy(RegistrationType::MetricSamplingStrategyEnum::RANDOM);
  registration->SetMetricSamplingPercentagePerLevel(fractions);
  registration->MetricSamplingReinitializeSeed(static_cast<int>(o.seed));

  StageOutcome out;
  std::vector<int> per_level;
  RegistrationType* reg = registration.GetPointer();
  OptimizerType* opt = optimizer.GetPointer();
  registration->AddObserver(itk::MultiResolutionIterationEvent(), [&, reg, opt](const itk::EventObject&) {
    const double step = step_mm * levels[reg->GetCurrentLevel()].target_mm / 2;
    opt->SetLearningRate(step);
    opt->SetMinimumStepLength(step / 200);
    per_level.push_back(0);
  });
  optimizer->AddObserver(itk::IterationEvent(), [&](const itk::EventObject&) {
    ++out.iterations;
    if (!per_level.empty()) ++per_level.back();
  });
  registration->Update();  // throws itk::ExceptionObject; the caller catches
  out.metric = optimizer->GetCurrentMetricValue();

  std::ostringstream report;
  report << name << " " << n << " level" << (n > 1 ? "s " : " ");
  for (unsigned l = 0; l < n; ++l) report << (l ? "/" : "") << levels[l].target_mm;
  report << " mm, iterations ";
  for (size_t l = 0; l < per_level.size(); ++l) report << (l ? "+" : "") << per_level[l];
  out.report = report.str();
  return out;
}

void SetThreads(int threads) {
  if (threads > 0) itk::MultiThreaderBase::SetGlobalDefaultNumberOfThreads(threads);
}

// "too many / all samples map outside": the images do not overlap where the metric looks.
radflow::Status FromItk(const itk::ExceptionObject& e, const char* what) {
  const std::string message = e.GetDescription();
  if (message.find("outside moving image") != std::string::npos ||
      message.find("sufficiently overlap") != std::string::npos) {
    return Status(ErrorCode::kInvalidArgument,
                  "the two series share no anatomy: the images do not overlap during registration (" + message + ")");
  }
  return Status(ErrorCode::kInternal, std::string(what) + ": " + message);
}

void RegisterTransformIo() {
  static std::once_flag once;
  std::call_once(once, [] {
    itk::TransformFactoryBase::RegisterDefaultTransforms();
    itk::TxtTransformIOFactory::RegisterOneFactory();
  });
}

}  // namespace

namespace internal {

radflow::Result<Result> RunItkRegistration(const imaging::ImageVolume& fixed_volume,
                                           const imaging::ImageVolume& moving_volume, const Plan& plan,
                                           const Options& options) {
  try {
    SetThreads(options.threads);
    ImageType::Pointer fixed = ToItk(fixed_volume);
    ImageType::Pointer moving = ToItk(moving_volume);

    // Two starting points, the better by the metric: the series as placed in patient space
    // (a prior and a current scan of one patient usually agree to a few cm), and the centres
    // of mass aligned (a different table position). Both rotate about the fixed centre of mass.
    auto by_moments = RigidType::New();
    {
      using Initializer = itk::CenteredTransformInitializer<RigidType, ImageType, ImageType>;
      auto init = Initializer::New();
      init->SetTransform(by_moments);
      init->SetFixedImage(fixed);
      init->SetMovingImage(moving);
      init->MomentsOn();
      init->InitializeTransform();
    }
    auto rigid = RigidType::New();
    rigid->SetCenter(by_moments->GetCenter());
    const double at_geometry = MetricAt(fixed, moving, rigid, options);
    const double at_moments = MetricAt(fixed, moving, by_moments, options);
    std::string init_name = "geometry";
    if (at_moments < at_geometry) {
      rigid->SetParameters(by_moments->GetParameters());
      init_name = "moments";
    }

    Result result;
    StageOutcome r = RunStage("rigid", fixed, moving, rigid.GetPointer(), plan.rigid, options, 1.0, 200);
    result.iterations = r.iterations;
    result.metric = r.metric;
    result.stages = "init " + init_name + "; " + r.report;
    result.matrix = MatrixOf(*rigid);

    if (!plan.affine.empty()) {
      auto affine = AffineType::New();
      affine->SetCenter(rigid->GetCenter());
      affine->SetMatrix(rigid->GetMatrix());
      affine->SetTranslation(rigid->GetTranslation());
      StageOutcome a = RunStage("affine", fixed, moving, affine.GetPointer(), plan.affine, options, 0.5, 150);
      result.iterations += a.iterations;
      result.metric = a.metric;
      result.stages += "; " + a.report;
      result.matrix = MatrixOf(*affine);
    }
    return result;
  } catch (const itk::ExceptionObject& e) {
    return FromItk(e, "registration failed");
  } catch (const std::exception& e) {
    return Status(ErrorCode::kInternal, std::string("registration failed: ") + e.what());
  }
}

}  // namespace internal

Status WriteTransformFile(const Result& r, const std::string& path) {
  try {
    RegisterTransformIo();
    auto t = AffineType::New();  // centre 0: the offset is the translation
    AffineType::MatrixType a;
    AffineType::OutputVectorType offset;
    for (unsigned row = 0; row < 3; ++row) {
      for (unsigned c = 0; c < 3; ++c) a[row][c] = r.matrix[4 * row + c];
      offset[row] = r.matrix[4 * row + 3];
    }
    t->SetMatrix(a);
    t->SetOffset(offset);
    auto writer = itk::TransformFileWriterTemplate<double>::New();
    writer->SetInput(t);
    writer->SetFileName(path);
    writer->Update();
    return Status::Ok();
  } catch (const itk::ExceptionObject& e) {
    return Status(ErrorCode::kIoError, "cannot write the transform file " + path + ": " + e.GetDescription());
  } catch (const std::exception& e) {
    return Status(ErrorCode::kIoError, "cannot write the transform file " + path + ": " + e.what());
  }
}

radflow::Result<Result> ReadTransformFile(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return Status(ErrorCode::kNotFound, "no transform file " + path);
  try {
    RegisterTransformIo();
    auto reader = itk::TransformFileReaderTemplate<double>::New();
    reader->SetFileName(path);
    reader->Update();
    const auto* list = reader->GetTransformList();
    if (list->size() != 1) {
      return Status(ErrorCode::kUnsupported, path + " holds " + std::to_string(list->size()) +
                                                 " transforms; one linear transform is supported");
    }
    const auto* linear = dynamic_cast<const LinearType*>(list->front().GetPointer());
    if (!linear) {
      return Status(ErrorCode::kUnsupported, path + ": " + list->front()->GetNameOfClass() +
                                                 " is not a linear 3-D transform");
    }
    Result r;
    r.matrix = MatrixOf(*linear);
    return r;
  } catch (const itk::ExceptionObject& e) {
    return Status(ErrorCode::kIoError, "cannot read the transform file " + path + ": " + e.GetDescription());
  } catch (const std::exception& e) {
    return Status(ErrorCode::kIoError, "cannot read the transform file " + path + ": " + e.what());
  }
}

}  // namespace radflow::registration
