// Private to src/common/tls: a subjectAltName extension built from typed entries (never from a
// "DNS:a,URI:b" config string, which a name containing a comma could subvert).
#pragma once

#include "common/result.h"
#include "common/tls/csr.h"
#include "common/tls/native.h"

namespace lmesh::tls {

Result<native::Ext> subject_alt_name_extension(const SubjectNames& names);

}  // namespace lmesh::tls
