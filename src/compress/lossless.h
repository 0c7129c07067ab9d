// Lossless re-encoding of a stored instance's pixel data (compression at rest, issue 15;
// docs/compression.md). Pure functions over files: the compactor (compactor.h) decides what
// to compress and keeps the index and the blob store consistent.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"

class DcmDataset;

namespace radflow::compress {

enum class Codec {
  kJpegLs,  // JPEG-LS lossless, 1.2.840.10008.1.2.4.80 (DCMTK dcmjpls / CharLS)
};

// "jpeg-ls" → kJpegLs; InvalidArgument naming the codecs otherwise.
Result<Codec> ParseCodec(const std::string& name);
const char* CodecName(Codec codec);
const char* CodecTransferSyntax(Codec codec);

// "CT=jpeg-ls" entries (--compress, config key `compress`) → modality → codec.
// InvalidArgument for a malformed entry or an unknown codec.
Result<std::map<std::string, Codec>> ParseCompressSpecs(const std::vector<std::string>& specs);

struct Compressed {
  std::string transfer_syntax_uid;           // the new one
  std::string original_transfer_syntax_uid;  // what `source` was stored in
  uint64_t original_size = 0;
  uint64_t size = 0;  // of the file written to out_path
};

// Re-encodes `source` (a Part-10 file in Implicit or Explicit VR Little Endian) with `codec`
// into `out_path` (created or truncated; not synced: the caller makes it durable), then
// proves the result lossless: out_path is read back, decoded, and its Pixel Data must equal
// the original's byte for byte, and every other attribute of the dataset must be unchanged.
// Errors:
//  kUnsupported — nothing to do or not encodable, with the reason: already encapsulated or
//    another arrival syntax, no Pixel Data, float pixels, BitsAllocated other than 8/16,
//    BitsStored > 16, planar colour, a result that is not bit-exact (e.g. bits set above
//    BitsStored, which JPEG-LS does not keep), or a result no smaller than the original;
//  kInvalidDicom / kIoError — the file cannot be read or out_path written.
// Nothing is left at out_path on error, apart from a file the caller created there.
Result<Compressed> CompressLossless(const std::string& source, Codec codec,
                                    const std::string& out_path);

// Whether `candidate` (a received Part-10 file) is the same object as `stored`, a file the
// compactor re-encoded: same attributes and, once `stored` is decoded, the same Pixel Data
// bytes. Ingest's duplicate check asks this when the byte comparison fails for an instance
// compressed at rest, so that a resent original is "already stored", not a different object.
Result<bool> SameAsCompressed(const std::string& candidate, const std::string& stored);

// Decodes an encapsulated dataset's Pixel Data in memory to native little endian, so that it
// can be written in Implicit or Explicit VR Little Endian (DIMSE sub-operations to a peer
// that did not accept the stored syntax). A native dataset is left as it is.
Status DecodeToNative(DcmDataset& dataset);

}  // namespace radflow::compress
