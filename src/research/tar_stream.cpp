#include "research/tar_stream.h"

#include <archive.h>
#include <archive_entry.h>

#include <filesystem>
#include <fstream>
#include <vector>

#include "research/export_files.h"

namespace radflow::research {

namespace {
constexpr size_t kPiece = 256 * 1024;
}  // namespace

struct TarStream::Impl {
  std::string folder, prefix;
  std::vector<std::string> files;
  size_t next = 0;         // the next file to start
  std::ifstream current;   // the file being written, while open
  archive* a = nullptr;
  std::string* out = nullptr;  // where the write callback appends
  bool finished = false;
  Status error;

  static la_ssize_t Write(archive*, void* self, const void* data, size_t n) {
    auto* impl = static_cast<Impl*>(self);
    impl->out->append(static_cast<const char*>(data), n);
    return static_cast<la_ssize_t>(n);
  }

  bool Fail(const std::string& what) {
    error = Status(ErrorCode::kIoError, what + (a ? std::string(": ") + (archive_error_string(a) ? archive_error_string(a) : "") : ""));
    finished = true;
    return false;
  }

  bool StartEntry() {
    const std::string rel = files[next++];
    const std::string path = folder + "/" + rel;
    std::error_code ec;
    const auto size = std::filesystem::file_size(path, ec);
    if (ec) return Fail("cannot read " + rel);
    current.open(path, std::ios::binary);
    if (!current) return Fail("cannot open " + rel);
    archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, (prefix.empty() ? rel : prefix + "/" + rel).c_str());
    archive_entry_set_size(e, static_cast<la_int64_t>(size));
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    const int r = archive_write_header(a, e);
    archive_entry_free(e);
    if (r != ARCHIVE_OK) return Fail("tar header of " + rel);
    return true;
  }
};

TarStream::TarStream(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

TarStream::~TarStream() {
  if (impl_->a != nullptr) {
    std::string sink;
    impl_->out = &sink;
    archive_write_free(impl_->a);  // closes (writes the end blocks into sink) and frees
  }
}

Result<std::unique_ptr<TarStream>> TarStream::Open(const std::string& folder, const std::string& prefix) {
  auto files = ListFiles(folder);
  if (!files.ok()) return files.status();
  auto impl = std::make_unique<Impl>();
  impl->folder = folder;
  impl->prefix = prefix;
  impl->files = std::move(files.value());
  impl->a = archive_write_new();
  if (impl->a == nullptr) return Status(ErrorCode::kInternal, "libarchive: out of memory");
  archive_write_set_format_pax_restricted(impl->a);  // ustar, pax headers only for long names
  std::string first;
  impl->out = &first;
  if (archive_write_open(impl->a, impl.get(), nullptr, &Impl::Write, nullptr) != ARCHIVE_OK) {
    return Status(ErrorCode::kInternal, std::string("libarchive: ") + archive_error_string(impl->a));
  }
  return std::unique_ptr<TarStream>(new TarStream(std::move(impl)));
}

bool TarStream::Next(std::string& chunk) {
  Impl& m = *impl_;
  if (m.finished) return false;
  m.out = &chunk;
  std::vector<char> buf(64 * 1024);
  const size_t start = chunk.size();
  while (chunk.size() - start < kPiece) {
    if (m.current.is_open()) {
      m.current.read(buf.data(), static_cast<std::streamsize>(buf.size()));
      const auto got = m.current.gcount();
      if (got > 0 && archive_write_data(m.a, buf.data(), static_cast<size_t>(got)) < 0) return m.Fail("tar data");
      if (m.current.bad()) return m.Fail("read error");
      if (m.current.eof()) {
        m.current.close();
        if (archive_write_finish_entry(m.a) != ARCHIVE_OK) return m.Fail("tar entry");
      }
      continue;
    }
    if (m.next < m.files.size()) {
      if (!m.StartEntry()) return false;
      continue;
    }
    // The end: two zero blocks and the padding of the last record.
    if (archive_write_close(m.a) != ARCHIVE_OK) return m.Fail("tar end");
    archive_write_free(m.a);
    m.a = nullptr;
    m.finished = true;
    return false;
  }
  return true;
}

const Status& TarStream::error() const { return impl_->error; }

}  // namespace radflow::research
