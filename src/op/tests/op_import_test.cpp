// WriteOphthalmicPhotograph on the shared fundus photograph (JPEG copied byte for byte) and
// on PNGs made here (8-bit RGB, 16-bit grey: samples equal), the frame-header reader on
// hand-made streams, metadata segments left out of the stored JPEG (an ICC profile moved to
// ICCProfile), and the errors for input that cannot become an OP object (truncated JPEG, PNG
// declaring a huge image, values that do not fit their VR).
#include <gtest/gtest.h>
#include <png.h>
#include <unistd.h>
#include <zlib.h>

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcpixel.h>
#include <dcmtk/dcmdata/dcpixseq.h>
#include <dcmtk/dcmdata/dcpxitem.h>
#include <dcmtk/dcmdata/dcuid.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "op/jpeg_header.h"
#include "op/op_codes.h"
#include "op/op_import.h"
#include "op/vr_values.h"

namespace fs = std::filesystem;

namespace radflow::op {
namespace {

const std::string kRetina = std::string(RADFLOW_SHARED_DATA) + "/ophthalmic/skimage_retina/retina.jpg";

struct TempDir {
  fs::path dir;
  TempDir() {
    dir = fs::temp_directory_path() / ("op_import_test_" + std::to_string(::getpid()));
    fs::create_directories(dir);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  std::string operator/(const std::string& name) const { return (dir / name).string(); }
};

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteFile(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

// A PNG of `samples` channels at `bits` per sample; sample value = f(x, y, channel).
template <typename F>
void WritePng(const std::string& path, int w, int h, int samples, int bits, F f) {
  FILE* fp = std::fopen(path.c_str(), "wb");
  ASSERT_NE(fp, nullptr);
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  png_infop info = png_create_info_struct(png);
  png_init_io(png, fp);
  png_set_IHDR(png, info, w, h, bits, samples == 1 ? PNG_COLOR_TYPE_GRAY : PNG_COLOR_TYPE_RGB,
               PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png, info);
  const int bytes = bits / 8;
  std::vector<unsigned char> row(static_cast<size_t>(w) * samples * bytes);
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      for (int c = 0; c < samples; ++c) {
        const unsigned v = f(x, y, c);
        unsigned char* p = &row[(static_cast<size_t>(x) * samples + c) * bytes];
        if (bytes == 2) {
          p[0] = static_cast<unsigned char>(v >> 8);  // PNG is big-endian
          p[1] = static_cast<unsigned char>(v & 255);
        } else {
          p[0] = static_cast<unsigned char>(v);
        }
      }
    }
    png_write_row(png, row.data());
  }
  png_write_end(png, nullptr);
  png_destroy_write_struct(&png, &info);
  std::fclose(fp);
}

OpOptions Options() {
  OpOptions o;
  o.laterality = "R";
  o.patient_id = "OP-TEST-1";
  o.patient_name = "FUNDUS^TEST";
  return o;
}

std::string Str(DcmItem& ds, const DcmTagKey& tag) {
  OFString v;
  ds.findAndGetOFStringArray(tag, v);
  return v.c_str();
}

std::string CodeOf(DcmItem& ds, const DcmTagKey& seq) {
  DcmItem* item = nullptr;
  if (ds.findAndGetSequenceItem(seq, item, 0).bad() || !item) return "";
  return Str(*item, DCM_CodingSchemeDesignator) + ":" + Str(*item, DCM_CodeValue) + ":" + Str(*item, DCM_CodeMeaning);
}

TEST(OpImport, JpegIsCopiedAsJpegBaseline) {
  TempDir tmp;
  auto r = WriteOphthalmicPhotograph(kRetina, Options(), tmp / "retina.dcm");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->sop_class_uid, UID_OphthalmicPhotography8BitImageStorage);
  EXPECT_EQ(r->transfer_syntax_uid, UID_JPEGProcess1TransferSyntax);
  EXPECT_EQ(r->photometric_interpretation, "YBR_FULL_422");  // retina.jpg is YCbCr 4:2:0
  EXPECT_TRUE(r->copied);
  EXPECT_EQ(r->rows, 1411);
  EXPECT_EQ(r->columns, 1411);

  DcmFileFormat file;
  ASSERT_TRUE(file.loadFile((tmp / "retina.dcm").c_str()).good());
  DcmDataset& ds = *file.getDataset();
  EXPECT_EQ(Str(ds, DCM_Modality), "OP");
  EXPECT_EQ(Str(ds, DCM_ImageLaterality), "R");
  EXPECT_EQ(Str(ds, DCM_PatientID), "OP-TEST-1");
  EXPECT_EQ(Str(ds, DCM_LossyImageCompression), "01");
  EXPECT_EQ(Str(ds, DCM_LossyImageCompressionMethod), "ISO_10918_1");
  EXPECT_EQ(CodeOf(ds, DCM_AcquisitionDeviceTypeCodeSequence), "SCT:409898007:Fundus Camera");
  EXPECT_EQ(CodeOf(ds, DCM_AnatomicRegionSequence), "SCT:5665001:Retina");

  // The single fragment is the file's bytes (plus the even-length pad, PS3.5 A.4).
  DcmElement* el = nullptr;
  ASSERT_TRUE(ds.findAndGetElement(DCM_PixelData, el).good());
  DcmPixelSequence* seq = nullptr;
  ASSERT_TRUE(static_cast<DcmPixelData*>(el)->getEncapsulatedRepresentation(EXS_JPEGProcess1, nullptr, seq).good());
  ASSERT_EQ(seq->card(), 2u);  // empty offset table + one fragment
  DcmPixelItem* frag = nullptr;
  ASSERT_TRUE(seq->getItem(frag, 1).good());
  Uint8* data = nullptr;
  ASSERT_TRUE(frag->getUint8Array(data).good());
  std::string stored(reinterpret_cast<const char*>(data), frag->getLength());
  std::string original = ReadFile(kRetina);
  if (original.size() % 2) original.push_back('\0');
  EXPECT_EQ(stored.size(), original.size());
  EXPECT_TRUE(stored == original) << "the JPEG stream was changed";
}

TEST(OpImport, Png8BitRgbIsOp8Lossless) {
  TempDir tmp;
  auto f = [](int x, int y, int c) { return static_cast<unsigned>((x * 7 + y * 3 + c * 50) & 255); };
  WritePng(tmp / "rgb.png", 33, 21, 3, 8, f);
  OpOptions o = Options();
  o.laterality = "L";
  o.anatomy = "optic-nerve-head";
  o.device = "slo";
  auto r = WriteOphthalmicPhotograph(tmp / "rgb.png", o, tmp / "rgb.dcm");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->sop_class_uid, UID_OphthalmicPhotography8BitImageStorage);
  EXPECT_EQ(r->transfer_syntax_uid, UID_LittleEndianExplicitTransferSyntax);
  EXPECT_EQ(r->photometric_interpretation, "RGB");
  DcmFileFormat file;
  ASSERT_TRUE(file.loadFile((tmp / "rgb.dcm").c_str()).good());
  DcmDataset& ds = *file.getDataset();
  EXPECT_EQ(Str(ds, DCM_ImageLaterality), "L");
  EXPECT_EQ(Str(ds, DCM_LossyImageCompression), "00");
  EXPECT_EQ(CodeOf(ds, DCM_AnatomicRegionSequence), "SCT:81016008:Optic nerve head");
  EXPECT_EQ(CodeOf(ds, DCM_AcquisitionDeviceTypeCodeSequence), "SCT:392001008:Scanning Laser Ophthalmoscope");
  const Uint8* px = nullptr;
  unsigned long n = 0;
  ASSERT_TRUE(ds.findAndGetUint8Array(DCM_PixelData, px, &n).good());
  ASSERT_GE(n, 33ul * 21 * 3);
  int wrong = 0;
  for (int y = 0; y < 21; ++y)
    for (int x = 0; x < 33; ++x)
      for (int c = 0; c < 3; ++c) wrong += px[(y * 33 + x) * 3 + c] != f(x, y, c);
  EXPECT_EQ(wrong, 0);
}

TEST(OpImport, Png16BitGreyIsOp16) {
  TempDir tmp;
  auto f = [](int x, int y, int) { return static_cast<unsigned>((x * 1021 + y * 4099) & 0xFFFF); };
  WritePng(tmp / "grey16.png", 40, 30, 1, 16, f);
  auto r = WriteOphthalmicPhotograph(tmp / "grey16.png", Options(), tmp / "grey16.dcm");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->sop_class_uid, UID_OphthalmicPhotography16BitImageStorage);
  EXPECT_EQ(r->photometric_interpretation, "MONOCHROME2");
  EXPECT_EQ(r->bits_allocated, 16);
  DcmFileFormat file;
  ASSERT_TRUE(file.loadFile((tmp / "grey16.dcm").c_str()).good());
  DcmDataset& ds = *file.getDataset();
  Uint16 bits = 0;
  ds.findAndGetUint16(DCM_BitsStored, bits);
  EXPECT_EQ(bits, 16);
  EXPECT_EQ(Str(ds, DCM_PresentationLUTShape), "IDENTITY");
  const Uint16* px = nullptr;
  unsigned long n = 0;
  ASSERT_TRUE(ds.findAndGetUint16Array(DCM_PixelData, px, &n).good());
  ASSERT_EQ(n, 40ul * 30);
  int wrong = 0;
  for (int y = 0; y < 30; ++y)
    for (int x = 0; x < 40; ++x) wrong += px[y * 40 + x] != f(x, y, 0);
  EXPECT_EQ(wrong, 0);
}

// A minimal JPEG header: SOI, optional APP segment, SOFn with the given components, SOS.
std::string JpegHeaderBytes(int sof, int precision, int components, int sampling0, bool adobe_rgb) {
  std::string s = "\xFF\xD8";
  if (adobe_rgb) s += std::string("\xFF\xEE\x00\x0E" "Adobe\x00\x64\x00\x00\x00\x00\x00", 16);
  const int len = 8 + 3 * components;
  s += static_cast<char>(0xFF);
  s += static_cast<char>(0xC0 + sof);
  s += static_cast<char>(len >> 8);
  s += static_cast<char>(len & 255);
  s += static_cast<char>(precision);
  s += std::string("\x00\x10\x00\x20", 4);  // 16 rows, 32 columns
  s += static_cast<char>(components);
  for (int c = 0; c < components; ++c) {
    s += static_cast<char>(c + 1);
    s += static_cast<char>(c == 0 ? sampling0 : 0x11);
    s += static_cast<char>(0);
  }
  s += std::string("\xFF\xDA\x00\x08\x01\x01\x00\x00\x3F\x00", 10);
  return s;
}

TEST(JpegHeader, ReadsTheFrameHeader) {
  auto h = ReadJpegHeader(JpegHeaderBytes(0, 8, 3, 0x22, false));
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  EXPECT_EQ(h->sof, 0);
  EXPECT_EQ(h->width, 32);
  EXPECT_EQ(h->height, 16);
  EXPECT_EQ(h->components, 3);
  EXPECT_TRUE(h->chroma_subsampled);
  auto rgb = ReadJpegHeader(JpegHeaderBytes(1, 8, 3, 0x11, true));
  ASSERT_TRUE(rgb.ok());
  EXPECT_EQ(rgb->adobe_transform, 0);
  EXPECT_FALSE(rgb->chroma_subsampled);
  EXPECT_FALSE(ReadJpegHeader("GIF89a").ok());
  EXPECT_FALSE(ReadJpegHeader(JpegHeaderBytes(0, 8, 3, 0x22, false).substr(0, 12)).ok());  // truncated
}

TEST(OpImport, RefusesWhatItCannotCopyNamingTheReason) {
  TempDir tmp;
  auto message = [&](const std::string& name, const std::string& bytes, OpOptions o = Options()) {
    WriteFile(tmp / name, bytes);
    auto r = WriteOphthalmicPhotograph(tmp / name, o, tmp / (name + ".dcm"));
    EXPECT_FALSE(r.ok()) << name;
    EXPECT_FALSE(fs::exists(tmp / (name + ".dcm"))) << name << ": no output left behind";
    return r.ok() ? std::string() : r.status().message();
  };
  EXPECT_NE(message("text.jpg", "hello, not an image").find("not a JPEG or PNG"), std::string::npos);
  EXPECT_NE(message("prog.jpg", JpegHeaderBytes(2, 8, 3, 0x22, false)).find("progressive (SOF2)"), std::string::npos);
  EXPECT_NE(message("twelve.jpg", JpegHeaderBytes(1, 12, 1, 0x11, false)).find("12-bit JPEG"), std::string::npos);
  EXPECT_NE(message("ycc444.jpg", JpegHeaderBytes(0, 8, 3, 0x11, false)).find("4:4:4"), std::string::npos);
  EXPECT_NE(message("short.jpg", std::string("\xFF\xD8\xFF\xE0\x00\x10JF", 8)).find("truncated"), std::string::npos);
  EXPECT_NE(message("bad.png", std::string("\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR", 16)).find("unreadable PNG"), std::string::npos);
  OpOptions bad = Options();
  bad.laterality = "X";
  EXPECT_NE(message("lat.jpg", ReadFile(kRetina), bad).find("--laterality must be R, L or B"), std::string::npos);
  bad = Options();
  bad.device = "toaster";
  EXPECT_NE(message("dev.jpg", ReadFile(kRetina), bad).find("unknown --device 'toaster'"), std::string::npos);
  bad = Options();
  bad.patient_id = "";
  EXPECT_NE(message("pid.jpg", ReadFile(kRetina), bad).find("--patient-id is required"), std::string::npos);
  auto missing = WriteOphthalmicPhotograph(tmp / "nope.jpg", Options(), tmp / "nope.dcm");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), ErrorCode::kNotFound);
}

// A PNG of only a signature, IHDR (width x height, 16-bit RGB) and a small IDAT: what a
// decompression bomb declares before any pixel data.
std::string PngDeclaring(uint32_t width, uint32_t height) {
  auto be32 = [](uint32_t v) {
    return std::string{static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
                       static_cast<char>(v)};
  };
  auto chunk = [&](const std::string& type, const std::string& data) {
    std::string td = type + data;
    const uLong crc = crc32(0, reinterpret_cast<const Bytef*>(td.data()), static_cast<uInt>(td.size()));
    return be32(static_cast<uint32_t>(data.size())) + td + be32(static_cast<uint32_t>(crc));
  };
  std::string ihdr = be32(width) + be32(height) + std::string("\x10\x02\x00\x00\x00", 5);  // 16-bit RGB
  return std::string("\x89PNG\r\n\x1a\n", 8) + chunk("IHDR", ihdr) + chunk("IDAT", std::string("\x78\x9c\x03\x00", 4)) +
         chunk("IEND", "");
}

TEST(OpImport, PngDeclaringAHugeImageIsRefusedBeforeAllocating) {
  TempDir tmp;
  // 1e6 x 1e6 16-bit RGB would be 6 TB: over the US limit of Rows/Columns.
  WriteFile(tmp / "bomb.png", PngDeclaring(1000000, 1000000));
  auto r = WriteOphthalmicPhotograph(tmp / "bomb.png", Options(), tmp / "bomb.dcm");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("1000000x1000000 pixels is larger than 65535"), std::string::npos)
      << r.status().message();
  // 60000 x 60000 16-bit RGB fits US but is 20 GB decoded: over the 256 MB budget.
  WriteFile(tmp / "big.png", PngDeclaring(60000, 60000));
  r = WriteOphthalmicPhotograph(tmp / "big.png", Options(), tmp / "big.dcm");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("would decode to 20599 MB, more than the 256 MB"), std::string::npos)
      << r.status().message();
  EXPECT_FALSE(fs::exists(tmp / "big.dcm"));
}

TEST(OpImport, JpegCutInsideItsScanIsRefused) {
  TempDir tmp;
  const std::string jpeg = ReadFile(kRetina);
  WriteFile(tmp / "half.jpg", jpeg.substr(0, jpeg.size() / 2));
  auto r = WriteOphthalmicPhotograph(tmp / "half.jpg", Options(), tmp / "half.dcm");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("truncated JPEG: the scan data ends without an EOI marker"), std::string::npos)
      << r.status().message();
  EXPECT_FALSE(fs::exists(tmp / "half.dcm"));
  // Zero padding after EOI is accepted (and not stored).
  WriteFile(tmp / "padded.jpg", jpeg + std::string(3, '\0'));
  auto padded = WriteOphthalmicPhotograph(tmp / "padded.jpg", Options(), tmp / "padded.dcm");
  ASSERT_TRUE(padded.ok()) << padded.status().ToString();
  EXPECT_TRUE(padded->removed_segments.empty());
}

// An APP1 'Exif' segment: big-endian TIFF header, IFD0 with Orientation (0x0112) = value.
std::string ExifApp1(int orientation) {
  std::string tiff("MM\x00\x2A\x00\x00\x00\x08", 8);
  tiff += std::string("\x00\x01", 2);                                     // one entry
  tiff += std::string("\x01\x12\x00\x03\x00\x00\x00\x01", 8);            // Orientation, SHORT, 1
  tiff += std::string{0, static_cast<char>(orientation), 0, 0};          // value, left-justified
  tiff += std::string(4, '\0');                                          // no next IFD
  const std::string payload = std::string("Exif\0\0", 6) + tiff + "Camera serial 12345, owner DOE^JANE";
  const size_t len = payload.size() + 2;
  return std::string("\xFF\xE1", 2) + static_cast<char>(len >> 8) + static_cast<char>(len & 255) + payload;
}

TEST(OpImport, MetadataSegmentsAndTrailerAreNotStored) {
  TempDir tmp;
  const std::string jpeg = ReadFile(kRetina);
  const size_t app0_end = 4 + ((static_cast<uint8_t>(jpeg[4]) << 8) | static_cast<uint8_t>(jpeg[5]));
  const std::string xmp = std::string("http://ns.adobe.com/xap/1.0/\0", 29) + "<x:xmpmeta>DOE^JANE</x:xmpmeta>";
  const std::string app1_xmp = std::string("\xFF\xE1\x00", 3) + static_cast<char>(xmp.size() + 2) + xmp;
  const std::string com = std::string("\xFF\xFE\x00\x0A", 4) + "PHI here";
  const std::string tagged = jpeg.substr(0, app0_end) + ExifApp1(6) + app1_xmp + com + jpeg.substr(app0_end) +
                             "trailing bytes of a second image";
  WriteFile(tmp / "exif.jpg", tagged);
  auto r = WriteOphthalmicPhotograph(tmp / "exif.jpg", Options(), tmp / "exif.dcm");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->exif_orientation, 6);
  ASSERT_EQ(r->removed_segments.size(), 4u);
  EXPECT_EQ(r->removed_segments[0].rfind("APP1 'Exif'", 0), 0u) << r->removed_segments[0];
  EXPECT_EQ(r->removed_segments[1].rfind("APP1 'http://ns.adobe.com/xap/1.0/'", 0), 0u) << r->removed_segments[1];
  EXPECT_EQ(r->removed_segments[2], "COM (12 bytes)");
  EXPECT_EQ(r->removed_segments[3], "32 bytes after EOI");

  // The stored stream is the original file: JFIF APP0 and the entropy-coded data as they were.
  DcmFileFormat file;
  ASSERT_TRUE(file.loadFile((tmp / "exif.dcm").c_str()).good());
  DcmElement* el = nullptr;
  ASSERT_TRUE(file.getDataset()->findAndGetElement(DCM_PixelData, el).good());
  DcmPixelSequence* seq = nullptr;
  ASSERT_TRUE(static_cast<DcmPixelData*>(el)->getEncapsulatedRepresentation(EXS_JPEGProcess1, nullptr, seq).good());
  DcmPixelItem* frag = nullptr;
  ASSERT_TRUE(seq->getItem(frag, 1).good());
  Uint8* data = nullptr;
  ASSERT_TRUE(frag->getUint8Array(data).good());
  const std::string stored(reinterpret_cast<const char*>(data), frag->getLength());
  std::string original = jpeg;
  if (original.size() % 2) original.push_back('\0');
  EXPECT_TRUE(stored == original) << "stored " << stored.size() << " bytes, original " << original.size();
  EXPECT_EQ(stored.find("\xFF\xE1"), std::string::npos) << "an APP1 marker is still in the stored stream";
  EXPECT_EQ(stored.find("DOE^JANE"), std::string::npos);
}

// APP2 'ICC_PROFILE' chunk n of count (ICC.1 B.4).
std::string IccChunk(int n, int count, const std::string& data) {
  const std::string payload = std::string("ICC_PROFILE\0", 12) + static_cast<char>(n) + static_cast<char>(count) + data;
  const size_t len = payload.size() + 2;
  return std::string("\xFF\xE2", 2) + static_cast<char>(len >> 8) + static_cast<char>(len & 255) + payload;
}

TEST(OpImport, IccProfileMovesFromTheStreamToIccProfile) {
  TempDir tmp;
  const std::string jpeg = ReadFile(kRetina);
  const size_t app0_end = 4 + ((static_cast<uint8_t>(jpeg[4]) << 8) | static_cast<uint8_t>(jpeg[5]));
  const std::string a(300, 'a'), b(201, 'b');  // odd total: ICCProfile is padded, not the stream
  // Chunks out of order: joined by their sequence numbers.
  WriteFile(tmp / "icc.jpg", jpeg.substr(0, app0_end) + IccChunk(2, 2, b) + IccChunk(1, 2, a) + jpeg.substr(app0_end));
  auto r = WriteOphthalmicPhotograph(tmp / "icc.jpg", Options(), tmp / "icc.dcm");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->icc_profile_bytes, 501u);
  EXPECT_EQ(r->removed_segments.size(), 2u);
  DcmFileFormat file;
  ASSERT_TRUE(file.loadFile((tmp / "icc.dcm").c_str()).good());
  const Uint8* icc = nullptr;
  unsigned long n = 0;
  ASSERT_TRUE(file.getDataset()->findAndGetUint8Array(DCM_ICCProfile, icc, &n).good());
  ASSERT_GE(n, 501u);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(icc), 501), a + b);
  // An incomplete profile (chunk 2 of 2 missing) is not written.
  WriteFile(tmp / "icc1.jpg", jpeg.substr(0, app0_end) + IccChunk(1, 2, a) + jpeg.substr(app0_end));
  auto partial = WriteOphthalmicPhotograph(tmp / "icc1.jpg", Options(), tmp / "icc1.dcm");
  ASSERT_TRUE(partial.ok());
  EXPECT_EQ(partial->icc_profile_bytes, 0u);
}

TEST(VrValues, OptionsMustFitTheirVr) {
  auto msg = [](std::string_view opt, std::string_view vr, std::string_view v) {
    Status st = CheckVrValue(opt, vr, v);
    return st.ok() ? std::string() : st.message();
  };
  EXPECT_EQ(msg("--study-uid", "UI", "1.2.840.10008.5.1.4.1.1.77.1.5.1"), "");
  EXPECT_EQ(msg("--study-uid", "UI", ""), "");
  EXPECT_NE(msg("--study-uid", "UI", "1.2.x").find("--study-uid '1.2.x' is not a UID"), std::string::npos);
  EXPECT_NE(msg("--study-uid", "UI", "1.02.3"), "");   // leading zero
  EXPECT_NE(msg("--study-uid", "UI", "1..3"), "");     // empty component
  EXPECT_NE(msg("--study-uid", "UI", "1.2."), "");
  EXPECT_NE(msg("--study-uid", "UI", "1." + std::string(63, '1')), "");  // 65 characters
  EXPECT_EQ(msg("--accession", "SH", std::string(16, 'A')), "");
  EXPECT_NE(msg("--accession", "SH", std::string(17, 'A')).find("17 characters, more than the 16 of SH"),
            std::string::npos);
  EXPECT_EQ(msg("--patient-id", "LO", "Jürgen-" + std::string(57, 'x')), "");  // 64 characters, 65 bytes
  EXPECT_NE(msg("--patient-id", "LO", "A\\B").find("--patient-id 'A\\B' contains a backslash"), std::string::npos);
  EXPECT_NE(msg("--patient-id", "LO", "A\nB").find("control character"), std::string::npos);
  EXPECT_NE(msg("--patient-id", "LO", "\xC3(").find("not UTF-8"), std::string::npos);
  EXPECT_EQ(msg("--patient-name", "PN", "DOE^JANE^M^DR^PHD=ドウ^ジェーン"), "");
  EXPECT_NE(msg("--patient-name", "PN", "DOE\\JANE").find("--patient-name"), std::string::npos);
  EXPECT_NE(msg("--patient-name", "PN", "A=B=C=D").find("more than 3 component groups"), std::string::npos);
  EXPECT_NE(msg("--patient-name", "PN", "A^B^C^D^E^F").find("more than 5 name components"), std::string::npos);
  EXPECT_NE(msg("--patient-name", "PN", std::string(65, 'A')).find("longer than 64"), std::string::npos);
}

TEST(OpImport, BadOptionValuesAreRefusedNamingTheOption) {
  TempDir tmp;
  OpOptions o = Options();
  o.study_instance_uid = "1.2.x";
  auto r = WriteOphthalmicPhotograph(kRetina, o, tmp / "uid.dcm");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("--study-uid '1.2.x' is not a UID"), std::string::npos);
  o = Options();
  o.accession_number = "ACCESSION-NUMBER-17";
  EXPECT_NE(CheckOptions(o).message().find("--accession"), std::string::npos);
  o = Options();
  o.patient_name = "DOE\\JANE";
  EXPECT_NE(CheckOptions(o).message().find("--patient-name"), std::string::npos);
  o = Options();
  o.series_description = std::string(65, 'd');
  EXPECT_NE(CheckOptions(o).message().find("--series-description"), std::string::npos);
  EXPECT_FALSE(fs::exists(tmp / "uid.dcm"));
}

TEST(OpCodes, NamesAndCodesFindTheSameConcept) {
  EXPECT_EQ(FindDevice("fundus-camera")->code_value, "409898007");
  EXPECT_EQ(FindDevice("409898007")->name, "fundus-camera");
  EXPECT_EQ(FindAnatomy("retina")->code_meaning, "Retina");
  EXPECT_FALSE(FindAnatomy("liver").has_value());
}

}  // namespace
}  // namespace radflow::op
