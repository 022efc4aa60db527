#include "common/config/setters.h"

namespace lmesh::config {

Result<void> set_address(net::SocketAddress& out, std::string_view v) {
  auto hp = net::HostPort::parse(v);
  if (!hp) return fail(hp.error());
  auto addr = hp->resolve();
  if (!addr) return fail(addr.error());
  out = *addr;
  return {};
}

Result<void> set_optional_address(std::optional<net::SocketAddress>& out, std::string_view v) {
  net::SocketAddress a;
  if (auto ok = set_address(a, v); !ok) return ok;
  if (a.port() == 0) return fail(ErrorCode::kInvalidArgument, "a target needs a non-zero port");
  out = a;
  return {};
}

Result<void> set_string(std::string& out, std::string_view v) {
  if (v.empty()) return fail(ErrorCode::kInvalidArgument, "must not be empty");
  out = std::string(v);
  return {};
}

Result<void> set_bool(bool& out, std::string_view v) {
  if (v == "true" || v == "1") {
    out = true;
  } else if (v == "false" || v == "0") {
    out = false;
  } else {
    return fail(ErrorCode::kInvalidArgument, "expected true or false");
  }
  return {};
}

Result<void> set_duration(std::chrono::milliseconds& out, std::string_view v) {
  auto d = parse_duration(v);
  if (!d) return fail(d.error());
  out = *d;
  return {};
}

Result<void> set_log_level(std::string& out, std::string_view v) {
  if (auto ok = log::check_level(v); !ok) return ok;
  out = std::string(v);
  return {};
}

Result<void> set_log_format(log::Format& out, std::string_view v) {
  auto f = log::parse_format(v);
  if (!f) return fail(f.error());
  out = *f;
  return {};
}

}  // namespace lmesh::config
