// Modality Performed Procedure Step SCP (PS3.4 F.7): N-CREATE and N-SET of the MPPS SOP
// class, decoded into orders::MppsInput and answered with orders::OrderService's outcome.
// The handlers are internal to the module (declared in association.h); this header gives
// the decoding, a pure step between the DIMSE adapter and the service, for tests.
#pragma once

#include <string>

#include "orders/order_service.h"

class DcmDataset;

namespace radflow::dimse {

// The MppsInput of an N-CREATE or N-SET dataset (PS3.3 C.4.13-C.4.15): PPS status, station,
// modality, start/end date and time, patient, and the first Scheduled Step Attributes
// Sequence (0040,0270) item; dataset_json is the dataset as DICOM JSON (PS3.18 F.2).
orders::MppsInput MppsInputFromDataset(DcmDataset* dataset, const std::string& sop_instance_uid,
                                       const std::string& calling_ae);

}  // namespace radflow::dimse
