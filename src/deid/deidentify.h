// De-identification by the Basic Application Level Confidentiality Profile and its options
// (DICOM PS3.15 Annex E) (docs/deidentification.md). Owner: H6. SCAFFOLD.
#pragma once

namespace radflow::deid {}
