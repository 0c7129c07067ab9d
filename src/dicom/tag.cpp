#include "dicom/tag.h"

#include <dcmtk/dcmdata/dcdict.h>
#include <dcmtk/dcmdata/dcdicent.h>
#include <dcmtk/dcmdata/dctag.h>

#include <cctype>
#include <cstdio>

namespace radflow::dicom {

std::string TagToString(Tag tag) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "(%04X,%04X)", Group(tag), Element(tag));
  return buf;
}

std::optional<Tag> ParseTag(std::string_view s) {
  if (s.size() == 8) {
    bool hex = true;
    for (char c : s) hex = hex && std::isxdigit(static_cast<unsigned char>(c));
    if (hex) return static_cast<Tag>(std::stoul(std::string(s), nullptr, 16));
  }
  if (s.empty()) return std::nullopt;
  DcmTag tag;
  if (DcmTag::findTagFromName(std::string(s).c_str(), tag).bad()) return std::nullopt;
  return MakeTag(tag.getGroup(), tag.getElement());
}

std::string KeywordOf(Tag t) {
  DcmTag tag(Group(t), Element(t));
  const char* name = tag.getTagName();
  if (name == nullptr || std::string_view(name) == DcmTag_ERROR_TagName) return "";
  return name;
}

std::string VrOf(Tag t) {
  DcmTag tag(Group(t), Element(t));
  return tag.getVR().getValidVRName();
}

}  // namespace radflow::dicom
