// Modality Worklist (PS3.4 Annex K) and its worklist items as files: what the rest of the hub
// may call without DCMTK. The C-FIND SCP itself is internal to the module (association.h).
#pragma once

#include <string>

#include "base/status.h"
#include "storage/order_store.h"

namespace radflow::dimse {

// Reads one worklist item file — DCMTK wlmscpfs's ".wl": a DICOM dataset (Part 10 or bare)
// with the Modality Worklist attributes of one Scheduled Procedure Step (PS3.4 K.6.1) —
// into an order (source "dicom", status scheduled; docs/orders.md "MWL/MPPS" gives the
// mapping). Attributes the order does not model (MedicalAlerts, the SPS description,
// location, comments, ...) go to worklist_json as DICOM JSON, so that the worklist answers
// with them as wlmscpfs would. Values are converted to UTF-8 from the item's
// SpecificCharacterSet. Errors name the file and the attribute.
Result<storage::OrderRow> ReadWorklistItem(const std::string& path);

}  // namespace radflow::dimse
