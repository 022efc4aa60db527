#include "common/tls/subject_alt_name.h"

namespace lmesh::tls {
namespace {

bool push_name(GENERAL_NAMES* names, int type, const std::string& value) {
  ASN1_IA5STRING* s = ASN1_IA5STRING_new();
  GENERAL_NAME* name = GENERAL_NAME_new();
  if (s == nullptr || name == nullptr ||
      ASN1_STRING_set(s, value.data(), static_cast<int>(value.size())) != 1) {
    ASN1_IA5STRING_free(s);
    GENERAL_NAME_free(name);
    return false;
  }
  GENERAL_NAME_set0_value(name, type, s);
  if (sk_GENERAL_NAME_push(names, name) == 0) {
    GENERAL_NAME_free(name);
    return false;
  }
  return true;
}

}  // namespace

Result<native::Ext> subject_alt_name_extension(const SubjectNames& names) {
  native::GeneralNames sans(GENERAL_NAMES_new());
  bool ok = static_cast<bool>(sans);
  for (const std::string& dns : names.dns) ok = ok && push_name(sans.get(), GEN_DNS, dns);
  for (const std::string& uri : names.uris) ok = ok && push_name(sans.get(), GEN_URI, uri);
  native::Ext ext(ok ? X509V3_EXT_i2d(NID_subject_alt_name, 0, sans.get()) : nullptr);
  if (!ext) return fail(native::error(ErrorCode::kInternal, "encoding subjectAltName"));
  return ext;
}

}  // namespace lmesh::tls
