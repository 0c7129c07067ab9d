// The profile applied to one DICOM data set in place (PS3.15 E.1.1 and the E.3 options).
// DCMTK types only as forward declarations; the owner of the DcmDataset is
// Deidentifier::DeidentifyFile.
#pragma once

#include <string>
#include <vector>

class DcmDataset;
class DcmItem;

namespace radflow::deid {

class Deidentifier;

// Identifiers of the patient and the people and places named in the data set, collected
// before cleaning: Clean Descriptors / Structured Content remove them from the free text
// they keep. Values shorter than 3 characters are not used (they would erase ordinary text).
std::vector<std::string> CollectIdentifiers(DcmItem& dataset);

// Removes, empties, replaces and cleans the attributes of the data set (and of every
// sequence item in it) by Table E.1-1 under the options; maps UIDs; writes the pseudonyms,
// PatientIdentityRemoved, DeidentificationMethod(CodeSequence) and
// LongitudinalTemporalInformationModified. pixels_cleaned adds code 113101 and sets
// BurnedInAnnotation NO.
void CleanDataset(DcmDataset& dataset, const Deidentifier& deid, bool pixels_cleaned);

// Why this object cannot be made safe under the options, or "" (then it can).
std::string UnsafeReason(DcmDataset& dataset, bool clean_pixels);

// Safe private attributes kept (PS3.15 Table E.3.10-1, a cited subset).
bool IsSafePrivate(const std::string& creator, unsigned group, unsigned element_low_byte);

// Date arithmetic for the modified-dates option: "YYYYMMDD" shifted by days ("" if not a date).
std::string ShiftDa(const std::string& da, int days);
// DT: the date part shifted, the rest kept.
std::string ShiftDt(const std::string& dt, int days);

}  // namespace radflow::deid
