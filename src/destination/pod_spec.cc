#include "destination/pod_spec.h"

#include <nlohmann/json.hpp>

#include "common/net/socket_address.h"

namespace lmesh::destination {

std::string default_workload(std::string_view pod_name) {
  size_t dash = pod_name.rfind('-');
  // "-1" or "web-": no name on one side, so the whole name is the workload's.
  if (dash == std::string_view::npos || dash == 0 || dash + 1 == pod_name.size()) {
    return "deploy/" + std::string(pod_name);
  }
  return "deploy/" + std::string(pod_name.substr(0, dash));
}

namespace {

// [a-z0-9]([-a-z0-9]*[a-z0-9])?, of any length.
bool is_label_shaped(std::string_view text) {
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (text.empty() || !alnum(text.front()) || !alnum(text.back())) return false;
  for (char c : text) {
    if (!alnum(c) && c != '-') return false;
  }
  return true;
}

}  // namespace

bool is_dns_label(std::string_view text) {
  return text.size() <= 63 && is_label_shaped(text);
}

bool is_dns_subdomain(std::string_view text) {
  if (text.size() > 253) return false;
  for (;;) {
    size_t dot = text.find('.');
    if (!is_label_shaped(text.substr(0, dot))) return false;
    if (dot == std::string_view::npos) return true;
    text.remove_prefix(dot + 1);
  }
}

std::optional<std::string> canonical_ip(std::string_view text) {
  if (text.empty() || text.front() == '[') return std::nullopt;
  bool v6 = text.find(':') != std::string_view::npos;
  std::string probe = v6 ? "[" + std::string(text) + "]:1" : std::string(text) + ":1";
  auto address = net::SocketAddress::parse(probe);
  if (!address) return std::nullopt;
  return address->ip();
}

std::string admin_address(std::string_view ip, uint16_t port) {
  bool v6 = ip.find(':') != std::string_view::npos;
  std::string host = v6 ? "[" + std::string(ip) + "]" : std::string(ip);
  return host + ":" + std::to_string(port);
}

nlohmann::json to_json(const PodSpec& pod, const std::vector<std::string>& services) {
  return nlohmann::json{{"name", pod.name},         {"namespace", pod.ns},
                        {"workload", pod.workload}, {"service_account", pod.service_account},
                        {"identity", pod.identity}, {"addr", pod.addr},
                        {"admin", pod.admin},       {"services", services}};
}

}  // namespace lmesh::destination
