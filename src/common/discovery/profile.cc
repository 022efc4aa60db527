#include "common/discovery/profile.h"

#include <re2/re2.h>
#include <nlohmann/json.hpp>

#include <cctype>

#include "common/discovery/json_fields.h"

namespace lmesh::discovery {

using fields::bad;
using fields::child;
using fields::pass;

namespace {

Parsed<std::shared_ptr<const Regex>> compile(const std::string& pattern,
                                             const std::string& pointer) {
  RE2::Options options;
  options.set_log_errors(false);  // the error is reported here, with the field
  auto re = std::make_shared<const RE2>(pattern, options);
  if (!re->ok()) return bad(pointer, "is not a valid regular expression: " + re->error());
  return re;
}

Parsed<HeaderMatch> parse_header_match(const nlohmann::json& v, const std::string& at) {
  if (auto ok = fields::object_with(v, at, {"name", "value", "regex"}); !ok) return pass(ok);
  HeaderMatch h;
  auto name = fields::string_at(v, at, "name", true);
  if (!name) return pass(name);
  if (name->empty()) return bad(child(at, "name"), "must not be empty");
  for (char& c : *name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  h.name = std::move(*name);
  bool has_value = fields::find(v, "value") != nullptr;
  bool has_regex = fields::find(v, "regex") != nullptr;
  if (has_value == has_regex) return bad(at, "needs exactly one of value, regex");
  if (has_value) {
    auto value = fields::string_at(v, at, "value", true);
    if (!value) return pass(value);
    h.value = std::move(*value);
  } else {
    auto pattern = fields::string_at(v, at, "regex", true);
    if (!pattern) return pass(pattern);
    auto re = compile(*pattern, child(at, "regex"));
    if (!re) return pass(re);
    h.value = std::move(*pattern);
    h.regex = std::move(*re);
  }
  return h;
}

Parsed<ResponseClass> parse_response_class(const nlohmann::json& v, const std::string& at) {
  if (auto ok = fields::object_with(v, at, {"status", "failure"}); !ok) return pass(ok);
  ResponseClass rc;
  const nlohmann::json* status = fields::find(v, "status");
  if (status == nullptr) return bad(child(at, "status"), "is required");
  std::string sat = child(at, "status");
  if (auto ok = fields::object_with(*status, sat, {"min", "max"}); !ok) return pass(ok);
  auto min = fields::integer_at(*status, sat, "min", 100, 599, 100);
  if (!min) return pass(min);
  auto max = fields::integer_at(*status, sat, "max", 100, 599, 599);
  if (!max) return pass(max);
  if (*min > *max) return bad(sat, "min must not exceed max");
  rc.status = {static_cast<int>(*min), static_cast<int>(*max)};
  auto failure = fields::bool_at(v, at, "failure", true);
  if (!failure) return pass(failure);
  rc.failure = *failure;
  return rc;
}

Parsed<Fault> parse_fault(const nlohmann::json& v, const std::string& at) {
  if (auto ok = fields::object_with(v, at, {"delay", "abort"}); !ok) return pass(ok);
  Fault f;
  if (const nlohmann::json* delay = fields::find(v, "delay")) {
    std::string dat = child(at, "delay");
    if (auto ok = fields::object_with(*delay, dat, {"percent", "ms"}); !ok) return pass(ok);
    auto percent = fields::number_at(*delay, dat, "percent", 0, 100, 100);
    if (!percent) return pass(percent);
    auto ms = fields::integer_at(*delay, dat, "ms", 1, kMaxTimeoutMs, 0);
    if (!ms) return pass(ms);
    if (*ms == 0) return bad(child(dat, "ms"), "is required");
    f.delay_percent = *percent;
    f.delay_ms = static_cast<uint32_t>(*ms);
  }
  if (const nlohmann::json* abort = fields::find(v, "abort")) {
    std::string aat = child(at, "abort");
    if (auto ok = fields::object_with(*abort, aat, {"percent", "status"}); !ok) return pass(ok);
    auto percent = fields::number_at(*abort, aat, "percent", 0, 100, 100);
    if (!percent) return pass(percent);
    auto status = fields::integer_at(*abort, aat, "status", 200, 599, 503);
    if (!status) return pass(status);
    f.abort_percent = *percent;
    f.abort_status = static_cast<int>(*status);
  }
  return f;
}

Parsed<Mirror> parse_mirror(const nlohmann::json& v, const std::string& at) {
  if (auto ok = fields::object_with(v, at, {"authority", "percent"}); !ok) return pass(ok);
  Mirror m;
  auto authority = fields::string_at(v, at, "authority", true);
  if (!authority) return pass(authority);
  if (authority->empty()) return bad(child(at, "authority"), "must not be empty");
  m.authority = std::move(*authority);
  auto percent = fields::number_at(v, at, "percent", 0, 100, 100);
  if (!percent) return pass(percent);
  m.percent = *percent;
  return m;
}

Parsed<Route> parse_route(const nlohmann::json& v, const std::string& at) {
  if (auto ok =
          fields::object_with(v, at,
                              {"name", "method", "path_regex", "headers", "retryable", "timeout_ms",
                               "response_classes", "backends", "fault", "mirror"});
      !ok) {
    return pass(ok);
  }
  Route r;
  auto name = fields::string_at(v, at, "name", true);
  if (!name) return pass(name);
  if (name->empty()) return bad(child(at, "name"), "must not be empty");
  r.name = std::move(*name);
  auto method = fields::string_at(v, at, "method", false);
  if (!method) return pass(method);
  r.method = std::move(*method);
  auto path = fields::string_at(v, at, "path_regex", false);
  if (!path) return pass(path);
  if (!path->empty()) {
    auto re = compile(*path, child(at, "path_regex"));
    if (!re) return pass(re);
    r.path = std::move(*re);
  }
  r.path_regex = std::move(*path);
  if (const nlohmann::json* headers = fields::find(v, "headers")) {
    std::string hat = child(at, "headers");
    if (!headers->is_array()) return bad(hat, "must be an array");
    for (size_t i = 0; i < headers->size(); ++i) {
      auto h = parse_header_match((*headers)[i], child(hat, i));
      if (!h) return pass(h);
      r.headers.push_back(std::move(*h));
    }
  }
  auto retryable = fields::bool_at(v, at, "retryable", false);
  if (!retryable) return pass(retryable);
  r.retryable = *retryable;
  auto timeout = fields::integer_at(v, at, "timeout_ms", 0, kMaxTimeoutMs, 0);
  if (!timeout) return pass(timeout);
  r.timeout_ms = static_cast<uint32_t>(*timeout);
  if (const nlohmann::json* classes = fields::find(v, "response_classes")) {
    std::string cat = child(at, "response_classes");
    if (!classes->is_array()) return bad(cat, "must be an array");
    for (size_t i = 0; i < classes->size(); ++i) {
      auto rc = parse_response_class((*classes)[i], child(cat, i));
      if (!rc) return pass(rc);
      r.response_classes.push_back(*rc);
    }
  }
  if (const nlohmann::json* backends = fields::find(v, "backends")) {
    auto b = parse_backends(*backends, child(at, "backends"));
    if (!b) return pass(b);
    r.backends = std::move(*b);
  }
  if (const nlohmann::json* fault = fields::find(v, "fault")) {
    auto f = parse_fault(*fault, child(at, "fault"));
    if (!f) return pass(f);
    r.fault = *f;
  }
  if (const nlohmann::json* mirror = fields::find(v, "mirror")) {
    auto m = parse_mirror(*mirror, child(at, "mirror"));
    if (!m) return pass(m);
    r.mirror = std::move(*m);
  }
  return r;
}

nlohmann::json backends_json(const std::vector<Backend>& backends) {
  nlohmann::json out = nlohmann::json::array();
  for (const Backend& b : backends)
    out.push_back({{"authority", b.authority}, {"weight", b.weight}});
  return out;
}

nlohmann::json route_json(const Route& r) {
  nlohmann::json j = {{"name", r.name}};
  if (!r.method.empty()) j["method"] = r.method;
  if (!r.path_regex.empty()) j["path_regex"] = r.path_regex;
  if (!r.headers.empty()) {
    nlohmann::json headers = nlohmann::json::array();
    for (const HeaderMatch& h : r.headers) {
      headers.push_back({{"name", h.name}, {h.regex ? "regex" : "value", h.value}});
    }
    j["headers"] = std::move(headers);
  }
  if (r.retryable) j["retryable"] = true;
  if (r.timeout_ms != 0) j["timeout_ms"] = r.timeout_ms;
  if (!r.response_classes.empty()) {
    nlohmann::json classes = nlohmann::json::array();
    for (const ResponseClass& rc : r.response_classes) {
      classes.push_back(
          {{"status", {{"min", rc.status.min}, {"max", rc.status.max}}}, {"failure", rc.failure}});
    }
    j["response_classes"] = std::move(classes);
  }
  if (!r.backends.empty()) j["backends"] = backends_json(r.backends);
  if (r.fault) {
    nlohmann::json f = nlohmann::json::object();
    if (r.fault->delay_ms != 0) {
      f["delay"] = {{"percent", r.fault->delay_percent}, {"ms", r.fault->delay_ms}};
    }
    if (r.fault->abort_percent > 0) {
      f["abort"] = {{"percent", r.fault->abort_percent}, {"status", r.fault->abort_status}};
    }
    j["fault"] = std::move(f);
  }
  if (r.mirror) j["mirror"] = {{"authority", r.mirror->authority}, {"percent", r.mirror->percent}};
  return j;
}

}  // namespace

bool full_match(const Regex& regex, std::string_view text) {
  return RE2::FullMatch(re2::StringPiece(text.data(), text.size()), regex);
}

bool Route::is_failure(int status) const {
  for (const ResponseClass& rc : response_classes) {
    if (status >= rc.status.min && status <= rc.status.max) return rc.failure;
  }
  return status >= 500;
}

Parsed<std::vector<Backend>> parse_backends(const nlohmann::json& value,
                                            const std::string& pointer) {
  if (!value.is_array()) return bad(pointer, "must be an array of {authority, weight}");
  std::vector<Backend> out;
  for (size_t i = 0; i < value.size(); ++i) {
    std::string at = child(pointer, i);
    if (auto ok = fields::object_with(value[i], at, {"authority", "weight"}); !ok) return pass(ok);
    auto authority = fields::string_at(value[i], at, "authority", true);
    if (!authority) return pass(authority);
    if (authority->empty()) return bad(child(at, "authority"), "must not be empty");
    // Weight 0 is allowed: a backend kept in the split but drained (blue-green switch-over).
    auto weight = fields::integer_at(value[i], at, "weight", 0, 1'000'000, 1);
    if (!weight) return pass(weight);
    out.push_back({std::move(*authority), static_cast<uint32_t>(*weight)});
  }
  if (!out.empty()) {
    uint64_t total = 0;
    for (const Backend& b : out) total += b.weight;
    if (total == 0) return bad(pointer, "needs at least one backend with a weight above 0");
  }
  return out;
}

nlohmann::json to_json(const Profile& p) {
  nlohmann::json routes = nlohmann::json::array();
  for (const Route& r : p.routes) routes.push_back(route_json(r));
  nlohmann::json j = {{"routes", std::move(routes)},
                      {"retry_budget",
                       {{"ratio", p.retry_budget.ratio},
                        {"min_per_second", p.retry_budget.min_per_second},
                        {"ttl_s", p.retry_budget.ttl_s}}}};
  if (!p.backends.empty()) j["backends"] = backends_json(p.backends);
  return j;
}

Parsed<Profile> parse_profile(const nlohmann::json& value, const std::string& pointer) {
  if (auto ok = fields::object_with(value, pointer, {"routes", "retry_budget", "backends"}); !ok) {
    return pass(ok);
  }
  Profile p;
  if (const nlohmann::json* routes = fields::find(value, "routes")) {
    std::string rat = child(pointer, "routes");
    if (!routes->is_array()) return bad(rat, "must be an array");
    if (routes->size() > kMaxRoutes) {
      return bad(rat, "has more than " + std::to_string(kMaxRoutes) + " routes");
    }
    for (size_t i = 0; i < routes->size(); ++i) {
      auto r = parse_route((*routes)[i], child(rat, i));
      if (!r) return pass(r);
      p.routes.push_back(std::move(*r));
    }
  }
  if (const nlohmann::json* budget = fields::find(value, "retry_budget")) {
    std::string bat = child(pointer, "retry_budget");
    if (auto ok = fields::object_with(*budget, bat, {"ratio", "min_per_second", "ttl_s"}); !ok) {
      return pass(ok);
    }
    auto ratio = fields::number_at(*budget, bat, "ratio", 0, 1000, 0.2);
    if (!ratio) return pass(ratio);
    auto min = fields::integer_at(*budget, bat, "min_per_second", 0, 1'000'000, 10);
    if (!min) return pass(min);
    auto ttl = fields::integer_at(*budget, bat, "ttl_s", 1, 60, 10);
    if (!ttl) return pass(ttl);
    p.retry_budget = {*ratio, static_cast<uint32_t>(*min), static_cast<uint32_t>(*ttl)};
  }
  if (const nlohmann::json* backends = fields::find(value, "backends")) {
    auto b = parse_backends(*backends, child(pointer, "backends"));
    if (!b) return pass(b);
    p.backends = std::move(*b);
  }
  return p;
}

Parsed<Profile> parse_profile_line(std::string_view line) {
  nlohmann::json value = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded()) return bad("", "not a JSON object");
  return parse_profile(value);
}

}  // namespace lmesh::discovery
