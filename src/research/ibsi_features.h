// The IBSI radiomics features of a lesion, named by their IBSI feature tags (IBSI reference
// manual, chapter 3), from the feature vector similar-case search caches per finding
// (008_similar.sql similar_features, similar/features.h kFeatureSet "v1"): the vector's
// entries are IBSI features or simple functions of them (log volume, standard deviation),
// which are turned back into the features themselves here.
#pragma once

#include <cmath>
#include <optional>
#include <string>
#include <vector>

namespace radflow::research {

// The IBSI tags exported, in column order:
//   morph_volume (mm³; the app's volume when it measured one, else the mesh volume),
//   morph_pca_maj_axis (mm), morph_sphericity, morph_pca_elongation, morph_pca_flatness,
//   morph_vol_dens_conv_hull, stat_mean, stat_var, stat_skew, stat_p10, stat_p90 (HU).
const std::vector<std::string>& IbsiFeatureNames();
bool IsIbsiFeature(const std::string& name);

// From a cached vector of `feature_set` ("v1"): one value per IbsiFeatureNames() entry, NaN
// where the vector has none (a lesion measured without its mask). Empty for another set or
// a vector of the wrong length.
std::vector<double> IbsiFromCached(const std::string& feature_set, const std::vector<double>& values);

}  // namespace radflow::research
