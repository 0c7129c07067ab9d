// Frangi vesselness through ITK: itk::MultiScaleHessianBasedMeasureImageFilter driving
// itk::HessianToObjectnessMeasureImageFilter (ObjectDimension 1: lines in 2-D). The
// Hessian is computed by recursive Gaussian derivatives normalised across scale
// (Lindeberg's gamma = 2), so one structureness constant serves every scale.
#include <itkHessianToObjectnessMeasureImageFilter.h>
#include <itkImage.h>
#include <itkImageRegionConstIterator.h>
#include <itkImageRegionIterator.h>
#include <itkMultiScaleHessianBasedMeasureImageFilter.h>
#include <itkSymmetricSecondRankTensor.h>

#include <algorithm>
#include <exception>
#include <string>

#include "apps/ophthalmic/vessels.h"

namespace radflow::apps::ophthalmic {

namespace {

// May throw itk::ExceptionObject (e.g. a failed allocation) or std::bad_alloc.
Plane Run(const Plane& in, const FrangiParams& p) {
  using Image = itk::Image<float, 2>;
  using Hessian = itk::Image<itk::SymmetricSecondRankTensor<double, 2>, 2>;
  using Objectness = itk::HessianToObjectnessMeasureImageFilter<Hessian, Image>;
  using MultiScale = itk::MultiScaleHessianBasedMeasureImageFilter<Image, Hessian, Image>;

  auto image = Image::New();
  Image::RegionType region;
  region.SetSize({{static_cast<itk::SizeValueType>(in.width), static_cast<itk::SizeValueType>(in.height)}});
  image->SetRegions(region);
  image->Allocate();
  std::copy(in.v.begin(), in.v.end(), image->GetBufferPointer());

  auto objectness = Objectness::New();
  objectness->SetObjectDimension(1);
  objectness->SetBrightObject(true);
  objectness->SetScaleObjectnessMeasure(false);
  objectness->SetAlpha(p.alpha);
  objectness->SetBeta(p.beta);
  objectness->SetGamma(p.gamma);

  auto multi = MultiScale::New();
  multi->SetInput(image);
  multi->SetHessianToMeasureFilter(objectness);
  multi->SetSigmaMinimum(p.sigma_min);
  multi->SetSigmaMaximum(p.sigma_max);
  multi->SetNumberOfSigmaSteps(static_cast<unsigned int>(std::max(1, p.sigma_steps)));
  multi->SetSigmaStepMethodToLogarithmic();
  multi->SetNonNegativeHessianBasedMeasure(true);
  multi->SetNumberOfWorkUnits(1);  // the engine runs apps in parallel itself
  multi->Update();

  Plane out(in.width, in.height);
  const float* result = multi->GetOutput()->GetBufferPointer();
  std::copy(result, result + out.v.size(), out.v.begin());
  return out;
}

}  // namespace

// ITK reports failures by exceptions; they end here as a Status, never in the worker.
Result<Plane> FrangiVesselness(const Plane& in, const FrangiParams& p) {
  try {
    return Run(in, p);
  } catch (const itk::ExceptionObject& e) {
    return Status(ErrorCode::kInternal, std::string("Frangi vesselness (ITK): ") + e.GetDescription());
  } catch (const std::exception& e) {
    return Status(ErrorCode::kInternal, std::string("Frangi vesselness: ") + e.what());
  }
}

}  // namespace radflow::apps::ophthalmic
