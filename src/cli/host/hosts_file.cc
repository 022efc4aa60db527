#include "cli/host/hosts_file.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>

namespace lmesh::host {
namespace {

bool is_ip_literal(const std::string& text) {
  unsigned char buf[16];
  return inet_pton(AF_INET, text.c_str(), buf) == 1 || inet_pton(AF_INET6, text.c_str(), buf) == 1;
}

bool is_host_name(std::string_view name) {
  return !name.empty() && std::none_of(name.begin(), name.end(), [](char c) {
    return std::isspace(static_cast<unsigned char>(c)) || c == '#' || c == '\0';
  });
}

std::vector<std::string_view> words(std::string_view line) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && std::isspace(static_cast<unsigned char>(line[i]))) ++i;
    size_t start = i;
    while (i < line.size() && !std::isspace(static_cast<unsigned char>(line[i]))) ++i;
    if (i > start) out.push_back(line.substr(start, i - start));
  }
  return out;
}

}  // namespace

Result<std::string> hosts_file_text(const std::vector<HostsEntry>& entries) {
  std::string out =
      "# Written by lmesh up: service names resolve to service VIPs.\n"
      "127.0.0.1\tlocalhost\n"
      "::1\tlocalhost ip6-localhost ip6-loopback\n";
  for (const HostsEntry& e : entries) {
    if (!is_ip_literal(e.ip)) {
      return fail(ErrorCode::kInvalidArgument,
                  "hosts entry: \"" + e.ip + "\" is not an IP address");
    }
    if (e.names.empty()) {
      return fail(ErrorCode::kInvalidArgument, "hosts entry for " + e.ip + " has no names");
    }
    out += e.ip;
    out += '\t';
    for (size_t i = 0; i < e.names.size(); ++i) {
      if (!is_host_name(e.names[i])) {
        return fail(ErrorCode::kInvalidArgument,
                    "hosts entry for " + e.ip + ": bad name \"" + e.names[i] + "\"");
      }
      if (i > 0) out += ' ';
      out += e.names[i];
    }
    out += '\n';
  }
  return out;
}

Result<std::vector<HostsEntry>> parse_hosts(std::string_view text) {
  std::vector<HostsEntry> entries;
  size_t line_no = 0;
  while (!text.empty()) {
    ++line_no;
    size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
    line = line.substr(0, line.find('#'));
    std::vector<std::string_view> w = words(line);
    if (w.empty()) continue;
    if (w.size() < 2) {
      return fail(ErrorCode::kInvalidArgument,
                  "hosts line " + std::to_string(line_no) + ": an address needs a name");
    }
    HostsEntry e{std::string(w[0]), {}};
    for (size_t i = 1; i < w.size(); ++i) e.names.emplace_back(w[i]);
    entries.push_back(std::move(e));
  }
  return entries;
}

}  // namespace lmesh::host
