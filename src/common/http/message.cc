#include "common/http/message.h"

namespace lmesh::http {

void RequestHead::clear() {
  method.clear();
  target.clear();
  authority.clear();
  scheme.clear();
  version_major = 1;
  version_minor = 1;
  headers.clear();
  framing = BodyFraming::kNone;
  content_length = 0;
  keep_alive = true;
  upgrade = false;
}

void ResponseHead::clear() {
  status = 0;
  reason.clear();
  version_major = 1;
  version_minor = 1;
  headers.clear();
  framing = BodyFraming::kNone;
  content_length = 0;
  keep_alive = true;
}

}  // namespace lmesh::http
